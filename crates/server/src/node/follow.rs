//! The read models follow the log for as long as the node runs. A log that is out of
//! reach for a while (a database restarting, a connection cut) stops the live tail with
//! `Unavailable`; the read models then follow again from their checkpoint once it is
//! back, so the node recovers without a restart.

use std::sync::Arc;
use std::time::Duration;

use tracing::{error, warn};

use crate::projections::{ProjectionError, Projections};
use complaintflow_log::{EventStore, StoreError};

/// How long to wait before following a log that was out of reach again.
const RETRY: Duration = Duration::from_secs(1);

pub(super) async fn follow_log(projections: Arc<Projections>, store: Arc<dyn EventStore>) {
    // Where the read models stood at the last failure: one warning per outage.
    let mut failed_at = None;
    loop {
        match projections.clone().follow(store.clone()).await {
            Ok(()) => return,
            Err(ProjectionError::Store(StoreError::Unavailable(reason))) => {
                let checkpoint = projections.checkpoint();
                if failed_at != Some(checkpoint) {
                    warn!(%reason, checkpoint, "the log is out of reach; the read models follow again once it is back");
                }
                failed_at = Some(checkpoint);
                tokio::time::sleep(RETRY).await;
            }
            Err(err) => {
                error!(error = %err, "projections stopped following the log");
                return;
            }
        }
    }
}
