//! One endpoint's delivery task: follows the global log from its checkpoint, posts each
//! event it wants, in log order, one at a time, retrying with exponential backoff until
//! it is answered 2xx or has failed for the dead-letter time; then the checkpoint moves
//! past it. A crash between a delivery and its checkpoint repeats that one delivery
//! (same idempotency key): at least once, never lost.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderName, HeaderValue, Uri};
use tokio::sync::watch;
use tracing::{Instrument, error, info, info_span, warn};

use super::checkpoint::{self, CheckpointError};
use super::client::{HttpClient, SendError};
use super::config::{WebhookConfig, WebhookDelivery};
use super::dead_letter::{self, DeadLetter, DeadLetterError};
use super::files::EndpointFiles;
use super::{filter, metrics, sign};
use crate::engine::{Engine, EngineError};
use crate::export::EventLine;
use complaintflow_log::clock::SharedClock;
use complaintflow_log::{LogReader, RecordedEvent, StoreError};

/// Events read from the log at a time.
const PAGE: usize = 256;
/// How often an idle endpoint looks for replays an operator asked for.
const REPLAY_POLL: Duration = Duration::from_secs(1);
/// How long an endpoint waits after an error of its own (the log, its files).
const ERROR_PAUSE: Duration = Duration::from_secs(1);

/// What every endpoint shares.
pub(super) struct Shared {
    pub(super) engine: Arc<Engine>,
    pub(super) client: HttpClient,
    pub(super) clock: SharedClock,
    /// Whether this node holds the store's lease: of several nodes on one log, only the
    /// holder delivers, so that an event is not posted once per node.
    pub(super) holding: watch::Receiver<bool>,
}

#[derive(Debug, thiserror::Error)]
pub(super) enum EndpointError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Engine(#[from] EngineError),
    #[error(transparent)]
    Checkpoint(#[from] CheckpointError),
    #[error(transparent)]
    DeadLetter(#[from] DeadLetterError),
    #[error("event body: {0}")]
    Body(#[from] serde_json::Error),
    #[error("file task: {0}")]
    Join(#[from] tokio::task::JoinError),
}

pub(super) struct Endpoint {
    pub(super) config: WebhookConfig,
    pub(super) uri: Uri,
    pub(super) delivery: WebhookDelivery,
    pub(super) files: EndpointFiles,
    pub(super) shared: Arc<Shared>,
}

/// How one event's delivery ended.
enum Outcome {
    Delivered,
    Dead(DeadLetter),
    Stopped,
}

/// Whether the task should go on.
enum Flow {
    Continue,
    Stop,
}

impl Endpoint {
    /// Delivers from `next` until `stop` turns true.
    pub(super) async fn run(self, next: u64, stop: watch::Receiver<bool>) {
        let span = info_span!("webhook", endpoint = %self.config.name);
        async move {
            info!(from = next, url = %self.uri, "webhook delivery started");
            self.deliver_from(next, stop).await;
            info!("webhook delivery stopped");
        }
        .instrument(span)
        .await;
    }

    async fn deliver_from(&self, mut next: u64, mut stop: watch::Receiver<bool>) {
        let store = self.shared.engine.log().clone();
        let mut head = store.watch_head();
        let mut saved = next;
        let mut holding = self.shared.holding.clone();
        loop {
            if *stop.borrow() {
                return;
            }
            if !*holding.borrow_and_update() {
                info!(position = next, "another node holds the lease and delivers");
                tokio::select! {
                    biased;
                    () = stopped(&mut stop) => return,
                    _ = holding.wait_for(|held| *held) => {}
                }
                info!(position = next, "this node holds the lease: delivering");
                continue;
            }
            let step = self.step(store.as_ref(), &mut next, &mut saved, &mut stop);
            match step.await {
                Ok(Flow::Stop) => return,
                Ok(Flow::Continue) => {}
                Err(err) => {
                    error!(error = %err, position = next, "webhook delivery held up; trying again");
                    if wait(&mut stop, ERROR_PAUSE).await {
                        return;
                    }
                    continue;
                }
            }
            if next >= store.head() {
                metrics::lag(&self.config.name, 0);
                tokio::select! {
                    biased;
                    () = stopped(&mut stop) => return,
                    _ = head.changed() => {}
                    () = tokio::time::sleep(REPLAY_POLL) => {}
                }
            }
        }
    }

    /// Replays first, then one page of the log.
    async fn step(
        &self,
        store: &dyn LogReader,
        next: &mut u64,
        saved: &mut u64,
        stop: &mut watch::Receiver<bool>,
    ) -> Result<Flow, EndpointError> {
        if let Flow::Stop = self.replay(store, stop).await? {
            return Ok(Flow::Stop);
        }
        let page = store.read_all(*next, PAGE).await?;
        for event in &page {
            // A node that lost the lease stops before its next post; the new holder goes
            // on from its own checkpoint.
            if !*self.shared.holding.borrow() {
                break;
            }
            if filter::wants(&self.config, &self.shared.engine, event).await? {
                match self.deliver(event, stop).await? {
                    Outcome::Delivered => {}
                    Outcome::Dead(letter) => self.bury(letter).await?,
                    Outcome::Stopped => return Ok(Flow::Stop),
                }
                *next = event.position + 1;
                self.save(*next).await?;
                *saved = *next;
            } else {
                *next = event.position + 1;
            }
            metrics::lag(&self.config.name, store.head().saturating_sub(*next));
        }
        // Events passed over by the filter need no fsync each: one per page.
        if *next != *saved {
            self.save(*next).await?;
            *saved = *next;
        }
        Ok(Flow::Continue)
    }

    /// Sends the dead letters an operator queued again, in log order.
    async fn replay(
        &self,
        store: &dyn LogReader,
        stop: &mut watch::Receiver<bool>,
    ) -> Result<Flow, EndpointError> {
        let files = self.files.clone();
        let pending =
            tokio::task::spawn_blocking(move || dead_letter::pending_replays(&files)).await??;
        for letter in pending {
            let found = store.read_all(letter.position, 1).await?;
            match found.first() {
                Some(event) if event.event_id == letter.event_id => {
                    info!(position = letter.position, event_id = %letter.event_id, "replaying a dead letter");
                    match self.deliver(event, stop).await? {
                        Outcome::Delivered => {}
                        Outcome::Dead(again) => self.bury(again).await?,
                        Outcome::Stopped => return Ok(Flow::Stop),
                    }
                }
                _ => warn!(
                    position = letter.position,
                    event_id = %letter.event_id,
                    "a dead letter to replay is not in the log at its position; dropped"
                ),
            }
            let (files, position) = (self.files.clone(), letter.position);
            tokio::task::spawn_blocking(move || dead_letter::replay_done(&files, position))
                .await??;
        }
        Ok(Flow::Continue)
    }

    /// Posts `event` until it is taken, it has failed for the dead-letter time, or the
    /// endpoint stops.
    async fn deliver(
        &self,
        event: &RecordedEvent,
        stop: &mut watch::Receiver<bool>,
    ) -> Result<Outcome, EndpointError> {
        let body = Bytes::from(serde_json::to_vec(&EventLine::exported(event)?)?);
        let clock = &self.shared.clock;
        let first_attempt = clock.now();
        let mut attempts: u32 = 0;
        loop {
            attempts += 1;
            let span = info_span!(
                "webhook_delivery",
                position = event.position,
                event_id = %event.event_id,
                event_type = %event.event_type,
                attempt = attempts
            );
            let sent = tokio::select! {
                biased;
                () = stopped(stop) => return Ok(Outcome::Stopped),
                sent = self.post(event, body.clone()).instrument(span) => sent,
            };
            let Err(err) = sent else {
                metrics::delivered(&self.config.name);
                return Ok(Outcome::Delivered);
            };
            metrics::failed(&self.config.name);
            let now = clock.now();
            if now.duration_since(first_attempt) >= self.delivery.dead_letter_after {
                warn!(position = event.position, event_id = %event.event_id, attempts, error = %err, "webhook event moved to the dead letters");
                metrics::dead(&self.config.name);
                return Ok(Outcome::Dead(DeadLetter {
                    position: event.position,
                    event_id: event.event_id,
                    event_type: event.event_type.clone(),
                    complaint_id: event.stream.to_string(),
                    first_attempt,
                    dead_at: now,
                    attempts,
                    last_error: err.to_string(),
                }));
            }
            let pause = backoff(&self.delivery, attempts);
            warn!(position = event.position, attempts, error = %err, retry_in = ?pause, "webhook delivery failed");
            if wait(stop, pause).await {
                return Ok(Outcome::Stopped);
            }
        }
    }

    async fn post(&self, event: &RecordedEvent, body: Bytes) -> Result<(), SendError> {
        let timestamp = self.shared.clock.now().as_second();
        let signature = sign::signature(self.config.secret.as_bytes(), timestamp, &body);
        let headers = [
            (sign::TIMESTAMP_HEADER, timestamp.to_string()),
            (sign::SIGNATURE_HEADER, signature),
            (sign::IDEMPOTENCY_HEADER, event.event_id.to_string()),
            (sign::ENDPOINT_HEADER, self.config.name.clone()),
            (sign::EVENT_TYPE_HEADER, event.event_type.clone()),
        ];
        let headers: Vec<(HeaderName, HeaderValue)> = headers
            .into_iter()
            .filter_map(|(name, value)| {
                // Every value is ASCII from a checked name, a number, hex or a uuid.
                Some((
                    HeaderName::from_static(name),
                    HeaderValue::from_str(&value).ok()?,
                ))
            })
            .collect();
        let timeout = self.delivery.request_timeout.unsigned_abs();
        self.shared
            .client
            .post(&self.uri, &headers, body, timeout)
            .await
    }

    async fn bury(&self, letter: DeadLetter) -> Result<(), EndpointError> {
        let files = self.files.clone();
        tokio::task::spawn_blocking(move || dead_letter::bury(&files, &letter)).await??;
        Ok(())
    }

    async fn save(&self, next: u64) -> Result<(), EndpointError> {
        let path = self.files.checkpoint.clone();
        tokio::task::spawn_blocking(move || checkpoint::write(&path, next)).await??;
        Ok(())
    }
}

/// The pause before attempt `attempts + 1`: base, 2 × base, 4 × base, … up to the cap.
fn backoff(delivery: &WebhookDelivery, attempts: u32) -> Duration {
    let base = delivery.backoff_base.unsigned_abs();
    let cap = delivery.backoff_cap.unsigned_abs();
    let factor = 1u32
        .checked_shl(attempts.saturating_sub(1))
        .unwrap_or(u32::MAX);
    base.checked_mul(factor).map_or(cap, |pause| pause.min(cap))
}

/// Sleeps `pause`; true if the endpoint was stopped meanwhile.
async fn wait(stop: &mut watch::Receiver<bool>, pause: Duration) -> bool {
    tokio::select! {
        biased;
        () = stopped(stop) => true,
        () = tokio::time::sleep(pause) => false,
    }
}

/// Resolves once the endpoint is told to stop (or its supervisor is gone).
async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|stop| *stop).await;
}

/// When an endpoint first starts: the checkpoint it has, or the head of the log now,
/// written down at once so that a crash does not move its start.
pub(super) fn starting_point(files: &EndpointFiles, head: u64) -> Result<u64, CheckpointError> {
    if let Some(next) = checkpoint::read(&files.checkpoint)? {
        return Ok(next);
    }
    checkpoint::write(&files.checkpoint, head)?;
    Ok(head)
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::SignedDuration;

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let delivery = WebhookDelivery {
            backoff_base: SignedDuration::from_millis(100),
            backoff_cap: SignedDuration::from_millis(1000),
            ..WebhookDelivery::default()
        };
        let pauses: Vec<u128> = (1..=6).map(|n| backoff(&delivery, n).as_millis()).collect();
        assert_eq!(pauses, [100, 200, 400, 800, 1000, 1000]);
        assert_eq!(backoff(&delivery, u32::MAX).as_millis(), 1000);
    }
}
