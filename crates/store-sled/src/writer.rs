//! The single writer: group commit.
//!
//! Every append goes through one thread. It takes everything queued, checks and stages
//! each append in order against the log plus what this group already staged, and applies
//! the whole group with one atomic `apply_batch`. A second thread, the flusher, then
//! flushes it, publishes the new durable head and only then answers. One fsync serves
//! every append of the group, and global positions are handed out by the writer alone, so
//! they are gapless and in commit order.
//!
//! This is a pipeline: while a flush waits for the disk, the writer goes on staging and
//! applying the next groups (in memory only: readers are cut at the durable head), and the
//! flusher's next flush makes all of them durable at once. Groups are answered strictly
//! in order, each only after a flush that started after it was applied, so nothing is
//! acknowledged before it is on disk. If a flush fails, its groups and every later one
//! are refused.
//!
//! One flusher, not several: the disk overlaps concurrent fdatasyncs, but concurrent
//! sled flushes each seal and write a buffer of their own, and two or three flushers
//! measured slower than one (`cargo bench --bench event_log`: 21.8k and 16.7k against
//! 23.5k events/s for 1-event appends from 64 tasks).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock, mpsc as sync_mpsc};
use std::time::{Duration, Instant};

use jiff::Timestamp;
use tokio::sync::{mpsc, watch};
use tracing::{debug_span, error};
use uuid::Uuid;

use super::acknowledged::{Acknowledged, AcknowledgedFile};
use super::durability::DiskSync;
use super::id_filter::IdFilter;
use super::keys::{self, IdEntry, StreamEntry, StreamHead};
use crate::sled_error;
use complaintflow_log::append_metrics;
use complaintflow_log::chain::{LogEnd, Placed, place_append};
use complaintflow_log::chunk::ChunkBuilder;
use complaintflow_log::clock::SharedClock;
use complaintflow_log::codec::{self, Envelope};
use complaintflow_log::replay::{self, StoredId};
use complaintflow_log::{AppendOutcome, Hash, StoreError, StreamId, WriterFailure};

/// The first failure that stopped the writer, shared by the writer, the flusher and the
/// store: set once, and from then on every append is refused with it.
#[derive(Debug, Default)]
pub(crate) struct Failure(OnceLock<Arc<WriterFailure>>);

impl Failure {
    /// Records `failure` unless an earlier one is recorded already (the first cause is
    /// the one worth reporting; later ones follow from it).
    pub(crate) fn set(&self, failure: WriterFailure) {
        let _ = self.0.set(Arc::new(failure));
    }

    pub(crate) fn get(&self) -> Option<&Arc<WriterFailure>> {
        self.0.get()
    }

    fn is_set(&self) -> bool {
        self.0.get().is_some()
    }

    /// The error a refused append gets.
    fn refusal(&self) -> StoreError {
        match self.get() {
            Some(failure) => StoreError::WriterStopped(failure.clone()),
            None => StoreError::WriterStopped(Arc::new(WriterFailure::FlusherStopped)),
        }
    }
}

/// Stream heads kept between groups; beyond this the cache starts over.
const MAX_CACHED_HEADS: usize = 100_000;
/// Applied groups waiting for the disk before the writer waits for the flusher.
const MAX_WAITING_GROUPS: usize = 256;
/// At most what a record adds to its payload and names (ids, times, hashes, lengths), to
/// decide whether it still fits the open chunk before encoding it.
const RECORD_OVERHEAD: usize = 224;

/// What the writer knows without asking sled, lent to a group while it stages.
pub(crate) struct Known<'a> {
    ids: &'a IdFilter,
    heads: &'a HashMap<StreamId, StreamHead>,
}

pub(crate) use complaintflow_log::group_commit::AppendRequest;

/// Where the global log ends, as the writer continues it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct LogTail {
    pub next_position: u64,
    pub last_hash: Hash,
    pub last_recorded_at: Timestamp,
}

pub(crate) struct Writer {
    pub db: sled::Db,
    /// Event ids (their 16 bytes) that may be stored (see `id_filter`), shared with readers.
    pub id_filter: Arc<IdFilter>,
    /// The heads of recently appended streams, so that a busy complaint's next append
    /// does not ask sled.
    pub heads: HashMap<StreamId, StreamHead>,
    pub log: sled::Tree,
    pub clock: SharedClock,
    pub durable: watch::Sender<u64>,
    pub tail: LogTail,
    /// How many events one group may hold at most.
    pub max_group_events: usize,
    /// Set once a commit failed or the log's end could not be read: from then on, every
    /// append is refused, because the writer no longer knows what is on disk.
    pub failure: Arc<Failure>,
    /// The data directory, whose free space is checked before each group.
    pub data_dir: PathBuf,
    /// Groups are refused while less than this is free (see `StoreLimits`).
    pub min_free_disk_bytes: u64,
}

/// A group applied in memory, on its way to the disk.
struct AppliedGroup {
    replies: Vec<(AppendRequest, Result<AppendOutcome, StoreError>)>,
    /// How far the log reaches once this group is on disk; `None` when it staged nothing.
    reached: Option<Acknowledged>,
    events: u64,
    applied_in: Duration,
}

impl Writer {
    pub(crate) fn run(mut self, data_dir: PathBuf, mut queue: mpsc::Receiver<AppendRequest>) {
        let (to_flusher, applied) = sync_mpsc::sync_channel(MAX_WAITING_GROUPS);
        let flusher = match self.start_flusher(&data_dir, applied) {
            Ok(handle) => handle,
            Err(err) => {
                error!(error = %err, "cannot start the flusher; refusing appends");
                self.failure.set(WriterFailure::FlusherStart(err));
                while let Some(request) = queue.blocking_recv() {
                    self.refuse(vec![request]);
                }
                return;
            }
        };
        while let Some(first) = queue.blocking_recv() {
            let mut events = first.events.len();
            let mut group = vec![first];
            while events < self.max_group_events {
                match queue.try_recv() {
                    Ok(next) => {
                        events += next.events.len();
                        group.push(next);
                    }
                    Err(_) => break,
                }
            }
            if let Some(applied) = self.apply(group)
                && let Err(sync_mpsc::SendError(applied)) = to_flusher.send(applied)
            {
                // Only a panicked flusher hangs up; never leave a caller waiting.
                self.failure.set(WriterFailure::FlusherStopped);
                refuse_all(applied.replies.into_iter().map(|(r, _)| r), &self.failure);
            }
        }
        drop(to_flusher);
        let _ = flusher.join();
    }

    fn start_flusher(
        &self,
        data_dir: &Path,
        applied: sync_mpsc::Receiver<AppliedGroup>,
    ) -> std::io::Result<std::thread::JoinHandle<()>> {
        let flusher = Flusher {
            db: self.db.clone(),
            disk: DiskSync::open(data_dir)?,
            acknowledged: AcknowledgedFile::open(
                data_dir,
                Acknowledged {
                    next_position: self.tail.next_position,
                    last_hash: self.tail.last_hash,
                },
            )?,
            durable: self.durable.clone(),
            failure: self.failure.clone(),
        };
        std::thread::Builder::new()
            .name("complaintflow-flusher".into())
            .spawn(move || flusher.run(applied))
    }

    /// sled 0.34 cannot write again after a write failed for want of space (its error
    /// sticks until the database is reopened), so a group is refused before it could
    /// run the disk full: the appends resume by themselves once space is freed.
    fn check_free_space(&self) -> Result<(), String> {
        match super::durability::free_bytes(&self.data_dir) {
            Ok(free) if free < self.min_free_disk_bytes => {
                metrics::counter!("complaintflow_store_appends_refused_disk_full_total")
                    .increment(1);
                Err(format!(
                    "the disk holding {} has {free} bytes free, less than the {} kept in \
                     reserve; appends resume once space is freed",
                    self.data_dir.display(),
                    self.min_free_disk_bytes
                ))
            }
            // A failed look is no reason to refuse: the write itself will tell.
            Ok(_) | Err(_) => Ok(()),
        }
    }

    fn refuse(&self, requests: Vec<AppendRequest>) {
        refuse_all(requests, &self.failure);
    }

    fn known(&self) -> Known<'_> {
        Known {
            ids: &self.id_filter,
            heads: &self.heads,
        }
    }

    /// Stages a group and applies it to sled in memory; a flusher makes it durable.
    fn apply(&mut self, requests: Vec<AppendRequest>) -> Option<AppliedGroup> {
        if self.failure.is_set() {
            self.refuse(requests);
            return None;
        }
        if let Err(why) = self.check_free_space() {
            for request in requests {
                let _ = request
                    .reply
                    .send(Err(StoreError::Unavailable(why.clone())));
            }
            return None;
        }
        let span = debug_span!(
            "group_apply",
            appends = requests.len(),
            events = tracing::field::Empty
        );
        let _entered = span.enter();
        let started = Instant::now();
        let recorded_at = self.clock.now().max(self.tail.last_recorded_at);
        let mut group = Group::new(self.tail, recorded_at);
        let outcomes: Vec<_> = requests
            .iter()
            .map(|request| {
                super::guard::guarded(
                    || format!("the head of stream {}", request.stream),
                    || group.stage(&self.log, &self.known(), request),
                )
            })
            .collect();
        let mut applied = AppliedGroup {
            replies: Vec::new(),
            reached: None,
            events: group.staged_events,
            applied_in: Duration::ZERO,
        };
        if group.staged_events > 0 {
            span.record("events", group.staged_events);
            group.close_chunk(group.tail.next_position);
            if let Err(err) = self.log.apply_batch(group.batch) {
                error!(error = %err, "applying a group failed; refusing further appends");
                self.failure.set(WriterFailure::Apply(Box::new(err)));
                self.refuse(requests);
                return None;
            }
            self.tail = group.tail;
            for (_, id) in group.ids.keys() {
                self.id_filter.insert(id.as_bytes());
            }
            if self.heads.len() + group.heads.len() > MAX_CACHED_HEADS {
                self.heads.clear();
            }
            self.heads.extend(group.heads);
            applied.reached = Some(Acknowledged {
                next_position: self.tail.next_position,
                last_hash: self.tail.last_hash,
            });
        }
        applied.applied_in = started.elapsed();
        applied.replies = requests.into_iter().zip(outcomes).collect();
        Some(applied)
    }
}

/// The second stage: makes applied groups durable, in order, then answers them.
struct Flusher {
    db: sled::Db,
    disk: DiskSync,
    /// Written after each flush and before its callers are answered (see `acknowledged`).
    acknowledged: AcknowledgedFile,
    durable: watch::Sender<u64>,
    failure: Arc<Failure>,
}

impl Flusher {
    fn run(mut self, applied: sync_mpsc::Receiver<AppliedGroup>) {
        while let Ok(first) = applied.recv() {
            let mut groups = vec![first];
            groups.extend(applied.try_iter());
            match self.flush(&groups) {
                Some(flushed_in) => self.answer(groups, flushed_in),
                None => self.refuse(groups),
            }
        }
    }

    /// One flush for every group given, all applied before it starts.
    fn flush(&mut self, groups: &[AppliedGroup]) -> Option<Duration> {
        if self.failure.is_set() {
            return None;
        }
        let Some(reached) = groups.iter().rev().find_map(|g| g.reached) else {
            return Some(Duration::ZERO);
        };
        let started = Instant::now();
        let synced = self
            .db
            .flush()
            .map(drop)
            .map_err(|e| WriterFailure::Flush(Box::new(e)))
            .and_then(|()| self.disk.sync().map_err(WriterFailure::Sync))
            .and_then(|()| {
                self.acknowledged
                    .write(reached)
                    .map_err(WriterFailure::RecordAcknowledged)
            });
        if let Err(err) = synced {
            error!(error = %err, "flushing failed; refusing further appends");
            self.failure.set(err);
            return None;
        }
        let flushed_in = started.elapsed();
        metrics::histogram!("complaintflow_store_flush_seconds").record(flushed_in.as_secs_f64());
        Some(flushed_in)
    }

    fn answer(&self, groups: Vec<AppliedGroup>, flushed_in: Duration) {
        for group in groups {
            if let Some(reached) = group.reached {
                metrics::histogram!("complaintflow_store_commit_seconds")
                    .record((group.applied_in + flushed_in).as_secs_f64());
                metrics::histogram!("complaintflow_store_group_events").record(group.events as f64);
                metrics::counter!("complaintflow_store_events_appended_total")
                    .increment(group.events);
                self.durable.send_replace(reached.next_position);
            }
            for (request, outcome) in group.replies {
                append_metrics::record_outcome(&outcome);
                let _ = request.reply.send(outcome);
            }
        }
    }

    /// After a failed flush nothing is answered as stored: what sled holds is unknown.
    fn refuse(&self, groups: Vec<AppliedGroup>) {
        let requests = groups.into_iter().flat_map(|g| g.replies).map(|(r, _)| r);
        refuse_all(requests, &self.failure);
    }
}

/// Answers every request with the failure that stopped the writer.
fn refuse_all(requests: impl IntoIterator<Item = AppendRequest>, failure: &Failure) {
    for request in requests {
        let _ = request.reply.send(Err(failure.refusal()));
    }
}

/// The appends of one commit, staged in order. Later appends of the group see the
/// streams and ids staged by earlier ones.
struct Group {
    batch: sled::Batch,
    chunk: ChunkBuilder,
    heads: HashMap<StreamId, StreamHead>,
    ids: HashMap<(StreamId, Uuid), IdEntry>,
    tail: LogTail,
    staged_events: u64,
}

impl Group {
    fn new(tail: LogTail, recorded_at: Timestamp) -> Self {
        Self {
            batch: sled::Batch::default(),
            chunk: ChunkBuilder::new(tail.next_position),
            heads: HashMap::new(),
            ids: HashMap::new(),
            tail: LogTail {
                last_recorded_at: recorded_at,
                ..tail
            },
            staged_events: 0,
        }
    }

    /// Puts the open chunk into the batch; the next chunk starts at `next_first`.
    fn close_chunk(&mut self, next_first: u64) {
        if self.chunk.is_empty() {
            return;
        }
        let next = ChunkBuilder::new(next_first);
        let chunk = std::mem::replace(&mut self.chunk, next);
        self.batch
            .insert(&keys::event_key(chunk.first_position()), chunk.finish());
    }

    /// Checks one append and, if it passes, stages its writes. A refused append stages
    /// nothing: every check happens before the first write.
    fn stage(
        &mut self,
        log: &sled::Tree,
        known: &Known<'_>,
        request: &AppendRequest,
    ) -> Result<AppendOutcome, StoreError> {
        if let Some(replay) = self.replay_of(log, known, request)? {
            return Ok(replay);
        }
        let head = self.stream_head(log, known, &request.stream)?;
        let mut end = LogEnd {
            next_position: self.tail.next_position,
            last_hash: self.tail.last_hash,
        };
        let recorded_at = self.tail.last_recorded_at;
        let stream = &request.stream;
        let outcome = place_append(
            stream,
            request.expected,
            head.map(|h| (h.version, h.hash)),
            &mut end,
            recorded_at.as_microsecond(),
            &request.events,
            |Placed {
                 prepared,
                 version,
                 position,
                 hash,
             }| {
                let event = &prepared.event;
                if self.chunk.is_full_for(
                    RECORD_OVERHEAD
                        + event.payload.len()
                        + stream.as_str().len()
                        + event.event_type.len()
                        + event.actor.len(),
                ) {
                    self.close_chunk(position);
                }
                let envelope = Envelope {
                    stream: stream.as_str(),
                    version,
                    position,
                    event_id: event.event_id,
                    event_type: &event.event_type,
                    schema_version: event.schema_version,
                    occurred_at: event.occurred_at,
                    recorded_at,
                    correlation_id: event.correlation_id,
                    causation_id: event.causation_id,
                    actor: &event.actor,
                    payload: &event.payload,
                    content_hash: prepared.content_hash,
                    hash,
                };
                self.chunk.push(|buf| codec::encode_into(envelope, buf));
                let id_entry = IdEntry {
                    position,
                    version,
                    content_hash: prepared.content_hash,
                };
                self.batch.insert(
                    keys::stream_key(stream, version),
                    &StreamEntry::encode(position, &hash)[..],
                );
                self.batch.insert(
                    keys::id_key(stream, &event.event_id),
                    &id_entry.encode()[..],
                );
                self.ids.insert((stream.clone(), event.event_id), id_entry);
                self.staged_events += 1;
            },
        )?;
        self.tail.next_position = end.next_position;
        self.tail.last_hash = end.last_hash;
        let head = StreamHead {
            version: outcome.last_version(),
            hash: end.last_hash,
        };
        self.heads.insert(stream.clone(), head);
        Ok(outcome)
    }

    /// A retry of a stored append, or a conflict with the stream's stored ids (see
    /// `replay::judge`); other streams' ids are not this append's business.
    fn replay_of(
        &self,
        log: &sled::Tree,
        known: &Known<'_>,
        request: &AppendRequest,
    ) -> Result<Option<AppendOutcome>, StoreError> {
        replay::judge(&request.events, |event_id| {
            Ok(self
                .id_entry(log, known, &request.stream, event_id)?
                .map(|entry| StoredId {
                    version: entry.version,
                    position: entry.position,
                    content_hash: entry.content_hash,
                }))
        })
    }

    fn stream_head(
        &self,
        log: &sled::Tree,
        known: &Known<'_>,
        stream: &StreamId,
    ) -> Result<Option<StreamHead>, StoreError> {
        if let Some(head) = self.heads.get(stream).or_else(|| known.heads.get(stream)) {
            return Ok(Some(*head));
        }
        let Some(last) = log.scan_prefix(keys::stream_prefix(stream)).next_back() else {
            return Ok(None);
        };
        let (key, value) = last.map_err(sled_error)?;
        let entry = StreamEntry::decode(&value)?;
        match entry.hash {
            Some(hash) => Ok(Some(StreamHead {
                version: keys::version_of_stream_key(&key)?,
                hash,
            })),
            // Written by format 1, which kept the head under its own key.
            None => log
                .get(keys::head_key(stream))
                .map_err(sled_error)?
                .map(|bytes| StreamHead::decode(&bytes))
                .transpose(),
        }
    }

    fn id_entry(
        &self,
        log: &sled::Tree,
        known: &Known<'_>,
        stream: &StreamId,
        event_id: &Uuid,
    ) -> Result<Option<IdEntry>, StoreError> {
        if let Some(entry) = self.ids.get(&(stream.clone(), *event_id)) {
            return Ok(Some(*entry));
        }
        if !known.ids.may_contain(event_id.as_bytes()) {
            return Ok(None);
        }
        stored_id_entry(log, stream, event_id)
    }
}

/// Where `event_id` is stored in `stream`, if it is: under its key in the stream, or
/// under the key formats 1 and 2 wrote for it, if the stream's index holds that event.
pub(crate) fn stored_id_entry(
    log: &sled::Tree,
    stream: &StreamId,
    event_id: &Uuid,
) -> Result<Option<IdEntry>, StoreError> {
    if let Some(bytes) = log
        .get(keys::id_key(stream, event_id))
        .map_err(sled_error)?
    {
        return IdEntry::decode(&bytes).map(Some);
    }
    let Some(bytes) = log.get(keys::legacy_id_key(event_id)).map_err(sled_error)? else {
        return Ok(None);
    };
    let entry = IdEntry::decode(&bytes)?;
    let in_stream = match log
        .get(keys::stream_key(stream, entry.version))
        .map_err(sled_error)?
    {
        Some(indexed) => StreamEntry::decode(&indexed)?.position == entry.position,
        None => false,
    };
    Ok(in_stream.then_some(entry))
}
