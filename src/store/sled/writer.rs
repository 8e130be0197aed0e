//! The single writer: group commit.
//!
//! Every append goes through one thread. It takes everything queued, checks and stages
//! each append in order against the log plus what this group already staged, commits the
//! whole group with one atomic `apply_batch`, flushes once, publishes the new durable head
//! and only then answers. One fsync serves every append of the group, and global positions
//! are handed out by this thread alone, so they are gapless and in commit order.

use std::collections::HashMap;

use jiff::Timestamp;
use tokio::sync::{mpsc, oneshot, watch};
use tracing::{debug_span, error};
use uuid::Uuid;

use super::durability::DiskSync;
use super::keys::{self, IdEntry, StreamHead};
use super::seen::Seen;
use crate::clock::SharedClock;
use crate::store::codec::{self, Envelope};
use crate::store::hash::{Link, chain_hash};
use crate::store::{
    AppendOutcome, EventSlot, ExpectedVersion, Hash, PreparedEvent, StoreError, StreamId,
};

/// Stream heads kept between groups; beyond this the cache starts over.
const MAX_CACHED_HEADS: usize = 100_000;

/// What the writer knows without asking sled, lent to a group while it stages.
pub struct Known<'a> {
    ids: &'a Seen,
    streams: &'a Seen,
    heads: &'a HashMap<StreamId, StreamHead>,
}

/// One append waiting for the writer.
pub struct AppendRequest {
    pub stream: StreamId,
    pub expected: ExpectedVersion,
    pub events: Vec<PreparedEvent>,
    pub reply: oneshot::Sender<Result<AppendOutcome, StoreError>>,
}

/// Where the global log ends, as the writer continues it.
#[derive(Debug, Clone, Copy)]
pub struct LogTail {
    pub next_position: u64,
    pub last_hash: Hash,
    pub last_recorded_at: Timestamp,
}

pub struct Writer {
    pub db: sled::Db,
    pub disk: DiskSync,
    /// Event ids (their 16 bytes) that may be stored (see `seen`).
    pub seen_ids: Seen,
    /// Stream names that may have a stored head.
    pub seen_streams: Seen,
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
    pub failure: Option<String>,
}

impl Writer {
    pub fn run(mut self, mut queue: mpsc::Receiver<AppendRequest>) {
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
            self.commit(group);
        }
    }

    fn known(&self) -> Known<'_> {
        Known {
            ids: &self.seen_ids,
            streams: &self.seen_streams,
            heads: &self.heads,
        }
    }

    fn commit(&mut self, requests: Vec<AppendRequest>) {
        if let Some(why) = &self.failure {
            for request in requests {
                let _ = request
                    .reply
                    .send(Err(StoreError::Unavailable(why.clone())));
            }
            return;
        }
        let span = debug_span!(
            "group_commit",
            appends = requests.len(),
            events = tracing::field::Empty
        );
        let _entered = span.enter();
        let recorded_at = self.clock.now().max(self.tail.last_recorded_at);
        let mut group = Group::new(self.tail, recorded_at);
        let outcomes: Vec<_> = requests
            .iter()
            .map(|request| group.stage(&self.log, &self.known(), request))
            .collect();
        if group.staged_events > 0 {
            span.record("events", group.staged_events);
            let started = std::time::Instant::now();
            let committed = self
                .log
                .apply_batch(group.batch)
                .and_then(|()| self.db.flush().map(drop))
                .map_err(|e| e.to_string())
                .and_then(|()| self.disk.sync().map_err(|e| e.to_string()));
            metrics::histogram!("complaintflow_store_commit_seconds")
                .record(started.elapsed().as_secs_f64());
            if let Err(err) = committed {
                let why = format!("commit failed: {err}");
                error!(error = %err, "group commit failed; refusing further appends");
                for request in requests {
                    let _ = request
                        .reply
                        .send(Err(StoreError::Unavailable(why.clone())));
                }
                self.failure = Some(why);
                return;
            }
            metrics::histogram!("complaintflow_store_group_events")
                .record(group.staged_events as f64);
            metrics::counter!("complaintflow_store_events_appended_total")
                .increment(group.staged_events);
            self.tail = group.tail;
            for id in group.ids.keys() {
                self.seen_ids.insert(id.as_bytes());
            }
            if self.heads.len() + group.heads.len() > MAX_CACHED_HEADS {
                self.heads.clear();
            }
            for (stream, head) in group.heads {
                self.seen_streams.insert(stream.as_str().as_bytes());
                self.heads.insert(stream, head);
            }
            self.durable.send_replace(self.tail.next_position);
        }
        for (request, outcome) in requests.into_iter().zip(outcomes) {
            record_outcome_metrics(&outcome);
            let _ = request.reply.send(outcome);
        }
    }
}

fn record_outcome_metrics(outcome: &Result<AppendOutcome, StoreError>) {
    let result = match outcome {
        Ok(o) if o.replayed => "replayed",
        Ok(_) => "appended",
        Err(StoreError::WrongExpectedVersion { .. }) => "version_conflict",
        Err(StoreError::IdempotencyConflict { .. }) => "idempotency_conflict",
        Err(_) => "error",
    };
    metrics::counter!("complaintflow_store_appends_total", "result" => result).increment(1);
}

/// The appends of one commit, staged in order. Later appends of the group see the
/// streams and ids staged by earlier ones.
struct Group {
    batch: sled::Batch,
    heads: HashMap<StreamId, StreamHead>,
    ids: HashMap<Uuid, IdEntry>,
    tail: LogTail,
    staged_events: u64,
}

impl Group {
    fn new(tail: LogTail, recorded_at: Timestamp) -> Self {
        Self {
            batch: sled::Batch::default(),
            heads: HashMap::new(),
            ids: HashMap::new(),
            tail: LogTail {
                last_recorded_at: recorded_at,
                ..tail
            },
            staged_events: 0,
        }
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
        let actual = head.map(|h| h.version);
        if !request.expected.admits(actual) {
            return Err(StoreError::WrongExpectedVersion {
                stream: request.stream.clone(),
                expected: request.expected,
                actual,
            });
        }

        let mut version = actual.map_or(0, |v| v + 1);
        let mut prev_stream_hash = head.map_or(Hash::GENESIS, |h| h.hash);
        let mut slots = Vec::with_capacity(request.events.len());
        for prepared in &request.events {
            let event = &prepared.event;
            let position = self.tail.next_position;
            let link = Link {
                position,
                version,
                recorded_at_micros: self.tail.last_recorded_at.as_microsecond(),
                prev_stream_hash,
                prev_global_hash: self.tail.last_hash,
            };
            let hash = chain_hash(&prepared.content_hash, &link);
            let record = codec::encode(Envelope {
                stream: &request.stream,
                version,
                position,
                event_id: event.event_id,
                event_type: &event.event_type,
                schema_version: event.schema_version,
                occurred_at: event.occurred_at,
                recorded_at: self.tail.last_recorded_at,
                correlation_id: event.correlation_id,
                causation_id: event.causation_id,
                actor: &event.actor,
                payload: &event.payload,
                content_hash: prepared.content_hash,
                hash,
            });
            let id_entry = IdEntry {
                position,
                version,
                content_hash: prepared.content_hash,
            };
            self.batch.insert(&keys::event_key(position), record);
            self.batch.insert(
                keys::stream_key(&request.stream, version),
                &position.to_be_bytes(),
            );
            self.batch
                .insert(&keys::id_key(&event.event_id), &id_entry.encode()[..]);
            self.ids.insert(event.event_id, id_entry);
            slots.push(EventSlot {
                event_id: event.event_id,
                version,
                position,
            });
            prev_stream_hash = hash;
            self.tail.last_hash = hash;
            self.tail.next_position += 1;
            self.staged_events += 1;
            version += 1;
        }
        let head = StreamHead {
            version: version - 1,
            hash: prev_stream_hash,
        };
        self.batch
            .insert(keys::head_key(&request.stream), &head.encode()[..]);
        self.heads.insert(request.stream.clone(), head);
        Ok(AppendOutcome {
            slots,
            replayed: false,
        })
    }

    /// If every event id of the append is already stored with the same content, as one
    /// append, this is a retry: answer what the original got. Any other overlap with
    /// stored ids is a conflict.
    fn replay_of(
        &self,
        log: &sled::Tree,
        known: &Known<'_>,
        request: &AppendRequest,
    ) -> Result<Option<AppendOutcome>, StoreError> {
        let mut stored = Vec::new();
        for prepared in &request.events {
            if let Some(entry) = self.id_entry(log, known, &prepared.event.event_id)? {
                stored.push((prepared, entry));
            }
        }
        let Some((_, first)) = stored.first().copied() else {
            return Ok(None);
        };
        let conflict = |event_id: Uuid, reason: &str| StoreError::IdempotencyConflict {
            event_id,
            reason: reason.to_owned(),
        };
        if stored.len() < request.events.len() {
            let (prepared, _) = stored[0];
            return Err(conflict(
                prepared.event.event_id,
                "some events of this append are stored and others are not",
            ));
        }
        let mut slots = Vec::with_capacity(stored.len());
        for (offset, (prepared, entry)) in (0u64..).zip(&stored) {
            if !entry.content_hash.ct_eq(&prepared.content_hash) {
                return Err(conflict(prepared.event.event_id, "stored content differs"));
            }
            if entry.version != first.version + offset || entry.position != first.position + offset
            {
                return Err(conflict(
                    prepared.event.event_id,
                    "these event ids were stored by different appends",
                ));
            }
            slots.push(EventSlot {
                event_id: prepared.event.event_id,
                version: entry.version,
                position: entry.position,
            });
        }
        Ok(Some(AppendOutcome {
            slots,
            replayed: true,
        }))
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
        if !known.streams.may_contain(stream.as_str().as_bytes()) {
            return Ok(None);
        }
        log.get(keys::head_key(stream))?
            .map(|bytes| StreamHead::decode(&bytes))
            .transpose()
    }

    fn id_entry(
        &self,
        log: &sled::Tree,
        known: &Known<'_>,
        event_id: &Uuid,
    ) -> Result<Option<IdEntry>, StoreError> {
        if let Some(entry) = self.ids.get(event_id) {
            return Ok(Some(*entry));
        }
        if !known.ids.may_contain(event_id.as_bytes()) {
            return Ok(None);
        }
        log.get(keys::id_key(event_id))?
            .map(|bytes| IdEntry::decode(&bytes))
            .transpose()
    }
}
