//! Following the head of a log that other nodes append to: LISTEN wakes this node as soon
//! as another commits (the notification carries the new head), and the head row is read
//! at a steady pace besides, so a notification lost with a connection delays nothing by
//! more than one poll.

use std::time::Duration;

use futures::StreamExt;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_postgres::AsyncMessage;
use tokio_postgres_rustls::MakeRustlsConnect;
use tracing::{debug, warn};

use super::error::PgError;
use super::writer::advance;

/// A task that stops when its handle is dropped.
pub(crate) struct AbortOnDrop(pub JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

pub(crate) async fn follow(
    config: tokio_postgres::Config,
    tls: MakeRustlsConnect,
    pool: deadpool_postgres::Pool,
    head: watch::Sender<u64>,
    channel: String,
    poll: Duration,
) {
    let mut listener: Option<AbortOnDrop> = None;
    let mut ticker = tokio::time::interval(poll);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        if listener.as_ref().is_none_or(|l| l.0.is_finished()) {
            listener = match listen(&config, tls.clone(), head.clone(), &channel).await {
                Ok(task) => Some(task),
                Err(err) => {
                    debug!(error = %err, "cannot listen for other nodes' commits; polling");
                    None
                }
            };
        }
        match read_head(&pool).await {
            Ok(position) => advance(&head, position),
            Err(err) => debug!(error = %err, "cannot read the head of the log"),
        }
    }
}

/// Where the log ends, as committed.
pub(crate) async fn read_head(pool: &deadpool_postgres::Pool) -> Result<u64, PgError> {
    let client = pool.get().await?;
    let row = client
        .query_opt("SELECT next_position FROM complaintflow_head", &[])
        .await?
        .ok_or_else(|| PgError::corrupt("complaintflow_head", "the head row is missing"))?;
    let next: i64 = row.try_get(0)?;
    u64::try_from(next)
        .map_err(|_| PgError::corrupt("complaintflow_head", format!("next_position {next}")))
}

/// A connection of its own that listens on `channel` and moves `head` on each
/// notification, until the connection ends.
async fn listen(
    config: &tokio_postgres::Config,
    tls: MakeRustlsConnect,
    head: watch::Sender<u64>,
    channel: &str,
) -> Result<AbortOnDrop, PgError> {
    // The channel is made of letters, digits and `_` (see `writer::channel`).
    let statement = format!("LISTEN {channel}");
    let (client, mut connection) = config.connect(tls).await?;
    let task = tokio::spawn(async move {
        let mut messages = futures::stream::poll_fn(move |cx| connection.poll_message(cx));
        let listen = client.batch_execute(&statement);
        tokio::pin!(listen);
        let mut listening = false;
        loop {
            tokio::select! {
                done = &mut listen, if !listening => match done {
                    Ok(()) => listening = true,
                    Err(err) => {
                        warn!(error = %err, "LISTEN failed; following the log by polling");
                        return;
                    }
                },
                message = messages.next() => match message {
                    Some(Ok(AsyncMessage::Notification(note))) => {
                        if let Ok(position) = note.payload().parse() {
                            advance(&head, position);
                        }
                    }
                    Some(Ok(_)) => {}
                    Some(Err(err)) => {
                        debug!(error = %err, "the listening connection ended");
                        return;
                    }
                    None => return,
                },
            }
        }
    });
    Ok(AbortOnDrop(task))
}
