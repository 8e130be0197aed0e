//! The scheduler's lease on PostgreSQL: a session-level advisory lock, held on a
//! connection of its own. PostgreSQL releases it when that session ends, whether the node
//! stopped, was killed or lost its connection, so a dead holder never keeps it; the other
//! nodes try for it at a steady pace and one of them takes over within `poll`.
//!
//! The holder checks its session at the same pace: it stops believing it holds the lease
//! as soon as its connection ends or a check fails or hangs, which is when another node
//! may have taken it over.

use std::time::Duration;

use tokio::sync::watch;
use tokio_postgres_rustls::MakeRustlsConnect;
use tracing::{debug, info, warn};

use super::error::PgError;
use super::follow::AbortOnDrop;
use complaintflow_log::Lease;

/// The lock is taken per schema, so logs in different schemas of one database (the
/// tests' way of keeping apart) have leases of their own. The first key says whose lock
/// it is ("cmpl").
const TRY_LOCK: &str =
    "SELECT pg_try_advisory_lock(1668116588, hashtext(current_schema() || '/scheduler'))";

/// How long a check of the holder's session may take before the holder gives up: a
/// session that does not answer may already be gone from the server's point of view.
const CHECK_TIMEOUT: Duration = Duration::from_secs(5);

/// This node's claim on the scheduler's lease in one database.
pub(crate) struct PgLease {
    held: watch::Receiver<bool>,
    _task: AbortOnDrop,
}

impl Lease for PgLease {
    fn holding(&self) -> watch::Receiver<bool> {
        self.held.clone()
    }
}

/// Starts trying for the lease; dropping the claim closes its connection, which
/// releases the lock.
pub(crate) fn claim(
    config: tokio_postgres::Config,
    tls: MakeRustlsConnect,
    poll: Duration,
) -> PgLease {
    let (held_tx, held) = watch::channel(false);
    let task = tokio::spawn(async move {
        loop {
            if let Err(err) = hold(&config, tls.clone(), &held_tx, poll).await {
                debug!(error = %err, "the scheduler's lease connection ended");
            }
            if held_tx.send_replace(false) {
                warn!("lost the scheduler's lease: this node stops firing timers");
            }
            tokio::time::sleep(poll).await;
        }
    });
    PgLease {
        held,
        _task: AbortOnDrop(task),
    }
}

/// One connection's life: tries for the lock until it gets it, then checks the session
/// until it fails. Returns (with the reason) when the lease is no longer known to be
/// held.
async fn hold(
    config: &tokio_postgres::Config,
    tls: MakeRustlsConnect,
    held: &watch::Sender<bool>,
    poll: Duration,
) -> Result<(), PgError> {
    let (client, connection) = config.connect(tls).await?;
    let mut connection = AbortOnDrop(tokio::spawn(async move {
        if let Err(err) = connection.await {
            debug!(error = %err, "the scheduler's lease connection failed");
        }
    }));
    let mut ticker = tokio::time::interval(poll);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            // The session is gone, and the lock with it.
            _ = &mut connection.0 => return Ok(()),
        }
        let check = async {
            if *held.borrow() {
                client.query_one("SELECT 1", &[]).await.map(|_| true)
            } else {
                client.query_one(TRY_LOCK, &[]).await?.try_get::<_, bool>(0)
            }
        };
        match tokio::time::timeout(CHECK_TIMEOUT, check).await {
            Ok(Ok(true)) => {
                if !held.send_replace(true) {
                    info!("holding the scheduler's lease: this node fires the timers");
                }
            }
            Ok(Ok(false)) => {}
            Ok(Err(err)) => return Err(err.into()),
            Err(_) => return Ok(()),
        }
    }
}
