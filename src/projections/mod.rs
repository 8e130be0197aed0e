//! Read models rebuilt from the log: each complaint's current state with its deadlines,
//! secondary indexes (dealer, region, status, category, severity, overdue, at risk),
//! statistics, and the deadline index the timer scheduler works from.
//!
//! They live in their own sled database beside the log and keep a checkpoint (the next
//! global position to apply), written atomically with every change. At start-up they
//! catch up from the checkpoint, then follow the live tail. Everything here can be
//! thrown away and rebuilt from the log; it is rebuilt automatically when the policy or
//! this module's layout changes, since deadlines depend on both.

mod keys;
mod query;
mod record;
mod stats;
mod working;

use std::path::Path;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};

use futures::StreamExt;
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::sync::watch;
use tracing::{info, instrument};

pub use query::{ListQuery, Page};
pub use record::{ComplaintRecord, ScheduledTimer, TimerMoment};
pub use stats::{BucketKey, Statistics, StatsBucket, StatsFilter};

use crate::domain::Policy;
use crate::store::{EventStore, MAX_PAGE, RecordedEvent, StoreError, subscription};
use working::Working;

/// Bump when what is stored here changes meaning: the projections are then rebuilt.
const PROJECTION_SCHEMA: u32 = 1;
const TREE: &str = "projections";
const CHECKPOINT: &str = "checkpoint";
const FINGERPRINT: &str = "fingerprint";
/// How many timers the deadline index holds, kept with the checkpoint so that start-up
/// does not count a million timers (3 to 4 s) to know it.
const PENDING_TIMERS: &str = "pending_timers";
/// Events per catch-up batch: bounds the memory of one run.
const CATCH_UP_BATCH: usize = 250_000;

#[derive(Debug, thiserror::Error)]
pub enum ProjectionError {
    #[error("projection storage: {0}")]
    Backend(String),
    #[error("corrupt projection value: {0}")]
    Corrupt(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sled::Error> for ProjectionError {
    fn from(err: sled::Error) -> Self {
        Self::Backend(err.to_string())
    }
}

fn encode_value<T: Serialize>(value: &T) -> Result<Vec<u8>, ProjectionError> {
    bincode::serde::encode_to_vec(value, bincode::config::standard())
        .map_err(|e| ProjectionError::Corrupt(e.to_string()))
}

fn decode_value<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ProjectionError> {
    bincode::serde::decode_from_slice(bytes, bincode::config::standard())
        .map(|(value, _)| value)
        .map_err(|e| ProjectionError::Corrupt(e.to_string()))
}

pub struct Projections {
    db: sled::Db,
    tree: sled::Tree,
    policy: Arc<Policy>,
    checkpoint: watch::Sender<u64>,
    pending_timers: AtomicI64,
    /// One writer at a time: the follower, or a rebuild.
    writing: Mutex<()>,
}

impl std::fmt::Debug for Projections {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Projections")
            .field("checkpoint", &*self.checkpoint.borrow())
            .finish_non_exhaustive()
    }
}

impl Projections {
    /// Opens the projections in `path`; clears them if they were built under another
    /// policy or layout.
    pub fn open(path: impl AsRef<Path>, policy: Arc<Policy>) -> Result<Self, ProjectionError> {
        let path = path.as_ref();
        let db = sled::Config::new()
            .path(path)
            .mode(sled::Mode::HighThroughput)
            .open()
            .map_err(|e| {
                ProjectionError::Backend(format!("cannot open {}: {e}", path.display()))
            })?;
        let tree = db.open_tree(TREE)?;
        let fingerprint = fingerprint(&policy)?;
        if tree.get(keys::meta_key(FINGERPRINT))?.as_deref() != Some(fingerprint.as_slice()) {
            if !tree.is_empty() {
                info!(
                    "policy or projection layout changed: the projections will be rebuilt from the log"
                );
            }
            tree.clear()?;
            tree.insert(keys::meta_key(FINGERPRINT), fingerprint)?;
        }
        let checkpoint = meta_number(&tree, CHECKPOINT)?.map_or(0, u64::from_be_bytes);
        let pending = match meta_number(&tree, PENDING_TIMERS)? {
            Some(bytes) => i64::from_be_bytes(bytes),
            // Built by a version that did not keep the count: count once; the next
            // batch stores it.
            None => tree.scan_prefix([keys::TIMER]).count() as i64,
        };
        Ok(Self {
            db,
            tree,
            policy,
            checkpoint: watch::channel(checkpoint).0,
            pending_timers: AtomicI64::new(pending),
            writing: Mutex::new(()),
        })
    }

    pub fn policy(&self) -> &Arc<Policy> {
        &self.policy
    }

    /// The next global position to apply.
    pub fn checkpoint(&self) -> u64 {
        *self.checkpoint.borrow()
    }

    /// Changes after every applied batch.
    pub fn watch_checkpoint(&self) -> watch::Receiver<u64> {
        self.checkpoint.subscribe()
    }

    pub fn pending_timers(&self) -> u64 {
        self.pending_timers.load(Ordering::Relaxed).max(0) as u64
    }

    /// Forgets everything: the next catch-up rebuilds from position 0.
    pub fn reset(&self) -> Result<(), ProjectionError> {
        let _writing = self.writing.lock().map_err(|_| poisoned())?;
        let fingerprint = fingerprint(&self.policy)?;
        self.tree.clear()?;
        self.tree.insert(keys::meta_key(FINGERPRINT), fingerprint)?;
        self.pending_timers.store(0, Ordering::Relaxed);
        self.checkpoint.send_replace(0);
        Ok(())
    }

    /// Applies events that follow the checkpoint (earlier ones are ignored), in one
    /// atomic batch with the new checkpoint.
    pub fn apply(&self, events: &[RecordedEvent]) -> Result<(), ProjectionError> {
        let _writing = self.writing.lock().map_err(|_| poisoned())?;
        let from = self.checkpoint();
        let mut working = Working::new(&self.tree, &self.policy);
        let mut next = from;
        for event in events.iter().filter(|e| e.position >= from) {
            working.apply(event)?;
            next = event.position + 1;
        }
        if next == from {
            return Ok(());
        }
        let skipped = working.skipped;
        let (mut batch, timer_change) = working.into_batch(next)?;
        // Only the holder of `writing` changes the count, so reading it here is safe.
        let pending = self.pending_timers.load(Ordering::Relaxed) + timer_change;
        batch.insert(keys::meta_key(PENDING_TIMERS), &pending.to_be_bytes()[..]);
        self.tree.apply_batch(batch)?;
        self.pending_timers.store(pending, Ordering::Relaxed);
        metrics::counter!("complaintflow_projection_events_skipped_total").increment(skipped);
        metrics::gauge!("complaintflow_deadlines_pending").set(self.pending_timers() as f64);
        self.checkpoint.send_replace(next);
        Ok(())
    }

    /// Applies everything the log holds beyond the checkpoint. `progress` hears
    /// (applied, total) after each batch. Returns the events applied.
    #[instrument(skip_all)]
    pub async fn catch_up(
        &self,
        store: &dyn EventStore,
        mut progress: impl FnMut(u64, u64),
    ) -> Result<u64, ProjectionError> {
        let start = self.checkpoint();
        let target = store.head();
        let mut batch = Vec::with_capacity(CATCH_UP_BATCH);
        let mut next = start;
        let mut page = store.read_all(next, MAX_PAGE).await?;
        while let Some(last) = page.last() {
            next = last.position + 1;
            batch.extend(page);
            if batch.len() < CATCH_UP_BATCH && next < target {
                page = store.read_all(next, MAX_PAGE).await?;
                continue;
            }
            // Apply this batch on one core while the next page is read on the other.
            let events = std::mem::take(&mut batch);
            let runtime = tokio::runtime::Handle::current();
            let (applied, following) = tokio::task::block_in_place(|| {
                std::thread::scope(|scope| {
                    let applying = scope.spawn(|| self.apply(&events));
                    let following = match next < target {
                        true => runtime.block_on(store.read_all(next, MAX_PAGE)),
                        false => Ok(Vec::new()),
                    };
                    (applying.join(), following)
                })
            });
            applied.map_err(|_| ProjectionError::Backend("applying events panicked".into()))??;
            progress(next - start, target - start);
            page = following?;
        }
        if !batch.is_empty() {
            // The log ended early (records missing): apply what was read.
            tokio::task::block_in_place(|| self.apply(&batch))?;
            progress(next - start, target - start);
        }
        Ok(next - start)
    }

    /// Follows the live tail from the checkpoint until the store closes. Each batch of
    /// events that are ready together is applied at once.
    pub async fn follow(
        self: Arc<Self>,
        store: Arc<dyn EventStore>,
    ) -> Result<(), ProjectionError> {
        let mut tail = subscription::subscribe(store.clone(), self.checkpoint()).ready_chunks(4096);
        while let Some(chunk) = tail.next().await {
            let events = chunk.into_iter().collect::<Result<Vec<_>, _>>()?;
            let this = self.clone();
            tokio::task::spawn_blocking(move || this.apply(&events))
                .await
                .map_err(|e| ProjectionError::Backend(e.to_string()))??;
            metrics::gauge!("complaintflow_projection_lag_events")
                .set(store.head().saturating_sub(self.checkpoint()) as f64);
        }
        Ok(())
    }

    /// Waits until the projections have applied everything before `position`.
    pub async fn wait_for(&self, position: u64) {
        let mut checkpoint = self.watch_checkpoint();
        let _ = checkpoint.wait_for(|applied| *applied >= position).await;
    }

    pub async fn flush(&self) -> Result<(), ProjectionError> {
        self.db.flush_async().await?;
        Ok(())
    }

    /// Every key and value of the read models (not the checkpoint metadata), for
    /// comparing two builds.
    #[doc(hidden)]
    pub fn dump(&self) -> Result<KeyValues, ProjectionError> {
        self.tree
            .iter()
            .filter(|item| !matches!(item, Ok((k, _)) if k.first() == Some(&keys::META)))
            .map(|item| {
                let (k, v) = item?;
                Ok((k.to_vec(), v.to_vec()))
            })
            .collect()
    }
}

/// Raw keys and values, in key order.
pub type KeyValues = Vec<(Vec<u8>, Vec<u8>)>;

fn fingerprint(policy: &Policy) -> Result<Vec<u8>, ProjectionError> {
    let text = policy
        .to_toml_string()
        .map_err(|e| ProjectionError::Backend(format!("cannot fingerprint the policy: {e}")))?;
    let mut hasher = blake3::Hasher::new();
    hasher.update(&PROJECTION_SCHEMA.to_be_bytes());
    hasher.update(text.as_bytes());
    Ok(hasher.finalize().as_bytes().to_vec())
}

/// The 8 big-endian bytes of a number kept under a meta key, if it is there.
fn meta_number(tree: &sled::Tree, name: &str) -> Result<Option<[u8; 8]>, ProjectionError> {
    tree.get(keys::meta_key(name))?
        .map(|bytes| {
            bytes
                .as_ref()
                .try_into()
                .map_err(|_| ProjectionError::Corrupt(name.into()))
        })
        .transpose()
}

fn poisoned() -> ProjectionError {
    ProjectionError::Backend("a lock was poisoned by a panic".into())
}
