//! Read models rebuilt from the log: each complaint's current state with its deadlines,
//! secondary indexes (dealer, region, status, category, severity, overdue, at risk),
//! statistics, and the deadline index the timer scheduler works from.
//!
//! They are derived data, held in memory (about a few kilobytes per complaint) and kept
//! on disk as a snapshot with the checkpoint (the next global position to apply): on
//! `flush` (the server flushes after its start-up catch-up, in the background, and at
//! shutdown) and every `SNAPSHOT_INTERVAL` while following. At start-up
//! they load the snapshot, catch up from its checkpoint, then follow the live tail. A
//! snapshot is never needed for correctness: without one (or with one built under
//! another policy or layout, since deadlines depend on both) they are rebuilt from the
//! log, which is why nothing is fsynced per batch.

mod fold;
mod keys;
mod model;
mod query;
mod record;
mod snapshot;
mod stats;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::{Duration, Instant};

use futures::StreamExt;
use serde::Serialize;
use tokio::sync::watch;
use tracing::{info, instrument, warn};

pub use query::{ListQuery, Page, Within};
pub use record::{ComplaintRecord, ScheduledTimer, TimerMoment};
pub use stats::{BucketKey, HandlingCounts, Statistics, StatsFilter};

use complaintflow_domain::Policy;
use complaintflow_domain::values::ComplaintId;
use complaintflow_log::{
    BackendError, EncodedPage, EventStore, Hash, LogReader, MAX_PAGE, RecordedEvent, StoreError,
    subscription,
};
use fold::Fold;
use model::Model;
use snapshot::Unusable;

/// Bump when what the read models hold changes meaning: snapshots taken before are
/// then set aside and the read models rebuilt.
const PROJECTION_SCHEMA: u32 = 3;
/// How often the follower writes a snapshot (if anything changed).
const SNAPSHOT_INTERVAL: Duration = Duration::from_secs(60);

#[derive(Debug, thiserror::Error)]
pub enum ProjectionError {
    #[error("projection storage: {0}")]
    Backend(#[source] BackendError),
    #[error("projection value cannot be encoded: {0}")]
    Encode(#[source] bincode::error::EncodeError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn encode_value<T: Serialize>(value: &T) -> Result<Vec<u8>, ProjectionError> {
    bincode::serde::encode_to_vec(value, bincode::config::standard())
        .map_err(ProjectionError::Encode)
}

/// The last snapshot written.
#[derive(Debug)]
struct SnapshotMark {
    checkpoint: u64,
    at: Instant,
}

pub struct Projections {
    dir: PathBuf,
    fingerprint: Vec<u8>,
    model: RwLock<Model>,
    policy: Arc<Policy>,
    checkpoint: watch::Sender<u64>,
    /// One writer at a time: the follower, or a rebuild.
    writing: Mutex<()>,
    /// Held while a snapshot is written.
    snapshots: Mutex<SnapshotMark>,
}

impl std::fmt::Debug for Projections {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Projections")
            .field("dir", &self.dir)
            .field("checkpoint", &*self.checkpoint.borrow())
            .finish_non_exhaustive()
    }
}

impl Projections {
    /// Opens the read models kept in `dir`: loads their snapshot if it is whole and was
    /// built under this policy and layout, or starts empty (the next catch-up rebuilds).
    pub fn open(dir: impl AsRef<Path>, policy: Arc<Policy>) -> Result<Self, ProjectionError> {
        let dir = dir.as_ref().to_path_buf();
        let cannot = |e: std::io::Error| {
            ProjectionError::Backend(BackendError::from_source(
                format!("cannot open {}", dir.display()),
                e,
            ))
        };
        std::fs::create_dir_all(&dir).map_err(cannot)?;
        remove_sled_leftovers(&dir).map_err(cannot)?;
        let fingerprint = fingerprint(&policy)?;
        let started = Instant::now();
        let model = match snapshot::read(&dir, &fingerprint) {
            Ok(contents) => {
                let mut model =
                    Model::from_parts(contents.checkpoint, contents.records, contents.stats);
                model.log_hash = contents.log_hash;
                model.load_follow_ups(contents.follow_ups);
                info!(
                    complaints = model.records.len(),
                    checkpoint = model.checkpoint,
                    seconds = started.elapsed().as_secs_f64(),
                    "read models loaded from their snapshot"
                );
                model
            }
            Err(Unusable::Missing) => Model::default(),
            Err(Unusable::Io(err)) => return Err(cannot(err)),
            Err(why) => {
                warn!(reason = %why, "read-model snapshot set aside: the read models will be rebuilt from the log");
                Model::default()
            }
        };
        let checkpoint = model.checkpoint;
        Ok(Self {
            dir,
            fingerprint,
            model: RwLock::new(model),
            policy,
            checkpoint: watch::channel(checkpoint).0,
            writing: Mutex::new(()),
            snapshots: Mutex::new(SnapshotMark {
                checkpoint,
                at: Instant::now(),
            }),
        })
    }

    /// Opens the read models in `dir` empty, their snapshot forgotten: where a rebuild
    /// starts (loading a snapshot only to throw it away would cost seconds).
    pub fn open_empty(dir: impl AsRef<Path>, policy: Arc<Policy>) -> Result<Self, ProjectionError> {
        let dir = dir.as_ref();
        snapshot::remove(dir).map_err(|e| {
            ProjectionError::Backend(BackendError::from_source(
                format!("cannot remove the snapshot in {}", dir.display()),
                e,
            ))
        })?;
        Self::open(dir, policy)
    }

    pub fn policy(&self) -> &Arc<Policy> {
        &self.policy
    }

    /// The next global position to apply.
    pub fn checkpoint(&self) -> u64 {
        *self.checkpoint.borrow()
    }

    /// Changes after every applied batch.
    pub(crate) fn watch_checkpoint(&self) -> watch::Receiver<u64> {
        self.checkpoint.subscribe()
    }

    pub fn pending_timers(&self) -> u64 {
        self.read().timers.len() as u64
    }

    /// Readers never leave the model half-changed, and `install` does not panic, so a
    /// poisoned lock still guards a whole model.
    fn read(&self) -> RwLockReadGuard<'_, Model> {
        self.model
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn write(&self) -> RwLockWriteGuard<'_, Model> {
        self.model
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// A complaint's record as the model holds it now: where a fold starts from.
    fn stored(&self, id: &ComplaintId) -> Option<Arc<ComplaintRecord>> {
        self.read().records.get(id).cloned()
    }

    /// Applies events that follow the checkpoint (earlier ones are ignored). Readers see
    /// the whole batch or none of it.
    pub fn apply(&self, events: &[RecordedEvent]) -> Result<(), ProjectionError> {
        let _writing = self.writing.lock().map_err(|_| poisoned())?;
        let from = self.checkpoint();
        let events = &events[events.partition_point(|e| e.position < from)..];
        let Some(last) = events.last() else {
            return Ok(());
        };
        let next = last.position + 1;
        let changes = fold::fold(&|id| self.stored(id), &self.policy, events);
        let skipped = changes.skipped;
        let mut model = self.write();
        model.install(changes, next, &self.policy);
        model.log_hash = last.hash;
        self.publish(model, skipped);
        Ok(())
    }

    /// Tells readers, metrics and waiters about a model just changed.
    fn publish(&self, model: RwLockWriteGuard<'_, Model>, skipped: u64) {
        let (checkpoint, pending) = (model.checkpoint, model.timers.len());
        drop(model);
        metrics::counter!("complaintflow_projection_events_skipped_total").increment(skipped);
        metrics::gauge!("complaintflow_deadlines_pending").set(pending as f64);
        self.checkpoint.send_replace(checkpoint);
    }

    /// Applies everything the log holds beyond the checkpoint. `progress` hears
    /// (read, total) after each page, which the fold follows a few pages behind.
    /// Returns the events applied.
    ///
    /// Catch-up runs before anything reads the read models (at start-up, or as a
    /// rebuild), so the whole backlog is folded first and handed over once: a complaint
    /// spread over many batches is made into a record once, and read models that start
    /// empty are built in bulk, as a snapshot load builds them. It writes no snapshot:
    /// `flush` does (the server, in the background once it serves).
    #[instrument(skip_all)]
    pub async fn catch_up(
        &self,
        store: &dyn LogReader,
        progress: impl FnMut(u64, u64),
    ) -> Result<u64, ProjectionError> {
        let runtime = tokio::runtime::Handle::current();
        tokio::task::block_in_place(|| self.fold_backlog(&runtime, store, progress))
    }

    fn fold_backlog(
        &self,
        runtime: &tokio::runtime::Handle,
        store: &dyn LogReader,
        mut progress: impl FnMut(u64, u64),
    ) -> Result<u64, ProjectionError> {
        let _writing = self.writing.lock().map_err(|_| poisoned())?;
        if let Some(why) = self.built_from_another_log(runtime, store)? {
            warn!(reason = %why, "read models set aside: they will be rebuilt from the log");
            *self.write() = Model::default();
            self.checkpoint.send_replace(0);
        }
        let start = self.checkpoint();
        let target = store.head();
        let stored = |id: &ComplaintId| self.stored(id);
        let mut fold = Fold::new(&stored, &self.policy, target.saturating_sub(start));
        let mut next = start;
        let pages = log_pages(runtime, store, start, target).inspect(|page| {
            if let Ok(page) = page {
                next = page.end();
                progress(next - start, target.max(next) - start);
            }
        });
        fold.feed_pages(pages)?;
        if next == start {
            return Ok(0);
        }
        let starts_empty = {
            let model = self.read();
            model.records.is_empty() && model.stats.is_empty() && model.follow_ups.is_empty()
        };
        let log_hash = hash_at(runtime, store, next - 1)?;
        let (mut model, skipped) = if starts_empty {
            let records = fold.into_records();
            let mut built = Model::from_parts(next, records.parts, records.stats);
            built.apply_follow_ups(records.follow_ups, &self.policy);
            let mut model = self.write();
            *model = built;
            (model, records.skipped)
        } else {
            let changes = fold.into_changes();
            let skipped = changes.skipped;
            let mut model = self.write();
            model.install(changes, next, &self.policy);
            (model, skipped)
        };
        model.log_hash = log_hash;
        self.publish(model, skipped);
        Ok(next - start)
    }

    /// Why the models (loaded from a snapshot) cannot continue from this log: their
    /// checkpoint is past its end, or the log's event before the checkpoint is not the
    /// one they were built from.
    fn built_from_another_log(
        &self,
        runtime: &tokio::runtime::Handle,
        store: &dyn LogReader,
    ) -> Result<Option<String>, ProjectionError> {
        let (checkpoint, built_from) = {
            let model = self.read();
            (model.checkpoint, model.log_hash)
        };
        let Some(last) = checkpoint.checked_sub(1) else {
            return Ok(None);
        };
        if checkpoint > store.head() {
            return Ok(Some(format!(
                "their checkpoint {checkpoint} is past the log's end {}",
                store.head()
            )));
        }
        let found = hash_at(runtime, store, last)?;
        Ok((!found.ct_eq(&built_from)).then(|| {
            format!("they were built from another log (hash at position {last}: {built_from}, the log has {found})")
        }))
    }

    /// Follows the live tail from the checkpoint until the store closes. Each batch of
    /// events that are ready together is applied at once; a snapshot is written in the
    /// background every `SNAPSHOT_INTERVAL`.
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
                .map_err(|e| {
                    ProjectionError::Backend(BackendError::from_source("applying events", e))
                })??;
            metrics::gauge!("complaintflow_projection_lag_events")
                .set(store.head().saturating_sub(self.checkpoint()) as f64);
            if self.snapshot_due() {
                let this = self.clone();
                tokio::task::spawn_blocking(move || {
                    if let Err(err) = this.write_snapshot() {
                        warn!(error = %err, "read-model snapshot not written");
                    }
                });
            }
        }
        Ok(())
    }

    fn snapshot_due(&self) -> bool {
        // A snapshot being written holds the lock: then it is not due.
        self.snapshots.try_lock().is_ok_and(|mark| {
            mark.at.elapsed() >= SNAPSHOT_INTERVAL && mark.checkpoint != self.checkpoint()
        })
    }

    /// Writes the read models as they are now, unless the last snapshot already holds
    /// them.
    fn write_snapshot(&self) -> Result<(), ProjectionError> {
        let mut mark = self.snapshots.lock().map_err(|_| poisoned())?;
        // Records are shared, not copied: the lock is held only to collect them.
        let (checkpoint, log_hash, mut records, stats, follow_ups) = {
            let model = self.read();
            if model.checkpoint == mark.checkpoint {
                return Ok(());
            }
            let records: Vec<_> = model.records.values().cloned().collect();
            (
                model.checkpoint,
                model.log_hash,
                records,
                model.stats.clone(),
                model.follow_ups.values().cloned().collect::<Vec<_>>(),
            )
        };
        let started = Instant::now();
        records.sort_unstable_by(|a, b| a.state.id.cmp(&b.state.id));
        let position = (checkpoint, log_hash);
        let tail = (&stats, follow_ups.as_slice());
        let bytes = snapshot::write(&self.dir, &self.fingerprint, position, &records, tail)
            .map_err(|e| {
                ProjectionError::Backend(BackendError::from_source("writing the snapshot", e))
            })?;
        *mark = SnapshotMark {
            checkpoint,
            at: Instant::now(),
        };
        let seconds = started.elapsed().as_secs_f64();
        metrics::histogram!("complaintflow_projection_snapshot_seconds").record(seconds);
        info!(
            checkpoint,
            complaints = records.len(),
            bytes,
            seconds,
            "read-model snapshot written"
        );
        Ok(())
    }

    /// Waits until the projections have applied everything before `position`.
    pub async fn wait_for(&self, position: u64) {
        let mut checkpoint = self.watch_checkpoint();
        let _ = checkpoint.wait_for(|applied| *applied >= position).await;
    }

    /// Writes a snapshot of what has been applied, so that the next start need not
    /// catch up on it.
    pub async fn flush(&self) -> Result<(), ProjectionError> {
        match tokio::runtime::Handle::current().runtime_flavor() {
            tokio::runtime::RuntimeFlavor::MultiThread => {
                tokio::task::block_in_place(|| self.write_snapshot())
            }
            _ => self.write_snapshot(),
        }
    }

    /// Every key and value of the read models, in the layout of `keys`, for comparing
    /// two builds.
    #[doc(hidden)]
    pub fn dump(&self) -> Result<KeyValues, ProjectionError> {
        let model = self.read();
        let mut dump = Vec::new();
        for (id, record) in &model.records {
            dump.push((keys::record_key(id), encode_value(record.as_ref())?));
        }
        dump.extend(model.index.iter().map(|key| (key.clone(), Vec::new())));
        for (key, timer) in &model.timers {
            dump.push((key.clone(), encode_value(timer)?));
        }
        for (bucket, totals) in &model.stats {
            let key = keys::stats_key(&bucket.region, &bucket.dealer, &bucket.month);
            dump.push((key, encode_value(totals)?));
        }
        dump.sort_unstable();
        Ok(dump)
    }
}

/// How many pages of the log are read side by side during a catch-up. Two keep the
/// fold busy when the log is in the OS's cache; when it is not, reads wait on the disk,
/// and more of them in flight shortened a cold rebuild of a million events by a tenth.
const READ_AHEAD: usize = 6;

/// The log from `start` on, page by page and in order. The pages before `target` are
/// read a few at a time side by side (positions are gapless, so where each page starts
/// is known in advance): one reader alone could not keep a fold on every core busy.
/// What lies beyond `target` is read one page after another, to the end.
fn log_pages<'a>(
    runtime: &'a tokio::runtime::Handle,
    store: &'a dyn LogReader,
    start: u64,
    target: u64,
) -> impl Iterator<Item = Result<EncodedPage, StoreError>> + 'a {
    let mut ahead = futures::stream::iter((start..target).step_by(MAX_PAGE))
        .map(move |from| async move { (from, store.read_all_encoded(from, MAX_PAGE).await) })
        .buffered(READ_AHEAD);
    let mut pending = None;
    let mut next = start;
    std::iter::from_fn(move || {
        loop {
            if pending.is_none() {
                pending = runtime.block_on(ahead.next());
            }
            // `overlap`: a page read ahead starts before `next`, the one before it having
            // held more than was asked for.
            let (page, overlap) = match pending.take() {
                // A page came back shorter than asked: read up to the next one here.
                Some((from, page)) if from > next => {
                    pending = Some((from, page));
                    let gap = (from - next) as usize;
                    (runtime.block_on(store.read_all_encoded(next, gap)), false)
                }
                Some((from, page)) => (page, from < next),
                None => (
                    runtime.block_on(store.read_all_encoded(next, MAX_PAGE)),
                    false,
                ),
            };
            let page = match page {
                Ok(page) => page.starting_at(next),
                Err(err) => return Some(Err(err)),
            };
            let missing = match (page.is_empty(), &pending) {
                (false, _) if page.start() == next => {
                    next = page.end();
                    return Some(Ok(page));
                }
                (false, _) => page.start(),
                (true, Some((from, _))) => *from,
                (true, None) if overlap => continue,
                // The log held `target` events when the catch-up began.
                (true, None) if next < target => target,
                (true, None) => return None,
            };
            let reason = format!("positions {next} to {missing} cannot be read");
            let location = "the global log".into();
            return Some(Err(StoreError::Corrupt { location, reason }));
        }
    })
}

/// The global chain hash of the event at `position`.
fn hash_at(
    runtime: &tokio::runtime::Handle,
    store: &dyn LogReader,
    position: u64,
) -> Result<Hash, ProjectionError> {
    let events = runtime.block_on(store.read_all(position, 1))?;
    match events.first() {
        Some(event) if event.position == position => Ok(event.hash),
        _ => Err(StoreError::Corrupt {
            location: format!("position {position}"),
            reason: "the event cannot be read".into(),
        }
        .into()),
    }
}

/// Raw keys and values, in key order.
pub(crate) type KeyValues = Vec<(Vec<u8>, Vec<u8>)>;

fn fingerprint(policy: &Policy) -> Result<Vec<u8>, ProjectionError> {
    let text = policy.to_toml_string().map_err(|e| {
        ProjectionError::Backend(BackendError::from_source(
            "cannot fingerprint the policy",
            e,
        ))
    })?;
    let mut hasher = blake3::Hasher::new();
    hasher.update(&PROJECTION_SCHEMA.to_be_bytes());
    hasher.update(text.as_bytes());
    Ok(hasher.finalize().as_bytes().to_vec())
}

/// Versions before snapshots kept the read models in a sled database in the same
/// directory; it is derived data, so it is removed rather than converted.
fn remove_sled_leftovers(dir: &Path) -> std::io::Result<()> {
    if !(dir.join("conf").is_file() && dir.join("db").is_file()) {
        return Ok(());
    }
    info!(dir = %dir.display(), "removing the read models of an older version (sled); they are rebuilt from the log");
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name == "blobs" {
            std::fs::remove_dir_all(entry.path())?;
        } else if name == "conf" || name == "db" || name.starts_with("snap.") {
            std::fs::remove_file(entry.path())?;
        }
    }
    Ok(())
}

fn poisoned() -> ProjectionError {
    ProjectionError::Backend(BackendError::new("a lock was poisoned by a panic"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An empty snapshot at `checkpoint` under the built-in policy, which it returns.
    fn empty_snapshot(dir: &Path, checkpoint: u64) -> Arc<Policy> {
        let policy = Arc::new(Policy::builtin());
        let fingerprint = fingerprint(&policy).unwrap();
        snapshot::write(
            dir,
            &fingerprint,
            (checkpoint, Hash::GENESIS),
            &[],
            (&Default::default(), &[]),
        )
        .unwrap();
        policy
    }

    #[test]
    fn a_damaged_snapshot_means_a_rebuild_not_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let policy = empty_snapshot(dir.path(), 9);
        let projections = Projections::open(dir.path(), policy.clone()).unwrap();
        assert_eq!(projections.checkpoint(), 9);
        drop(projections);

        let path = snapshot::path_in(dir.path());
        let mut bytes = std::fs::read(&path).unwrap();
        bytes[20] ^= 1;
        std::fs::write(&path, bytes).unwrap();
        let projections = Projections::open(dir.path(), policy).unwrap();
        assert_eq!(projections.checkpoint(), 0);
    }

    #[test]
    fn opening_empty_forgets_the_snapshot() {
        let dir = tempfile::tempdir().unwrap();
        let policy = empty_snapshot(dir.path(), 9);
        let projections = Projections::open_empty(dir.path(), policy.clone()).unwrap();
        assert_eq!(projections.checkpoint(), 0);
        drop(projections);
        let projections = Projections::open(dir.path(), policy).unwrap();
        assert_eq!(projections.checkpoint(), 0);
    }

    #[test]
    fn read_models_of_the_sled_era_are_removed() {
        let dir = tempfile::tempdir().unwrap();
        sled::open(dir.path()).unwrap().flush().unwrap();
        assert!(dir.path().join("db").exists());
        let projections = Projections::open(dir.path(), Arc::new(Policy::builtin())).unwrap();
        assert_eq!(projections.checkpoint(), 0);
        let left: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|entry| entry.unwrap().file_name())
            .collect();
        assert!(left.is_empty(), "left behind: {left:?}");
    }
}
