//! The reference backend: the whole log in memory, behind one lock.
//!
//! It is what the contract means, with nothing of a storage engine in the way: the same
//! limits, the same retry judgement ([`replay::judge`]), the same hash chains and the
//! same clock as the durable backends, so the behaviour suite runs against it too and
//! any layer's tests can use it without a disk. Nothing survives the process; handles
//! made by [`MemStore::another`] share one log, as two nodes share one database.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use async_trait::async_trait;
use jiff::Timestamp;
use tokio::sync::watch;
use uuid::Uuid;

use crate::chain::{LogEnd, Placed, place_append};
use crate::clock::{SharedClock, SystemClock};
use crate::lease::{Lease, SharedLease};
use crate::replay::{self, StoredId};
use crate::{
    AppendOutcome, Direction, EventSlot, EventStore, ExpectedVersion, Hash, LogReader, MAX_PAGE,
    NewEvent, RecordedEvent, StoreError, StoreLimits, StreamId,
};

/// An event log in memory.
#[derive(Debug, Clone)]
pub struct MemStore {
    log: Arc<Mutex<Log>>,
    /// Shared by every handle on the log, as nodes on one database share its lease.
    lease: SharedLease,
    head: watch::Receiver<u64>,
    limits: StoreLimits,
}

#[derive(Debug)]
struct Log {
    events: Vec<RecordedEvent>,
    /// Positions of each stream's events, in version order.
    streams: HashMap<StreamId, Vec<u64>>,
    ids: HashMap<(StreamId, Uuid), StoredId>,
    last_recorded_at: Timestamp,
    clock: SharedClock,
    head: watch::Sender<u64>,
}

impl MemStore {
    /// An empty log on the wall clock.
    pub fn new() -> Self {
        Self::with_clock(Arc::new(SystemClock), StoreLimits::default())
    }

    /// An empty log whose commits are stamped by `clock`.
    pub fn with_clock(clock: SharedClock, limits: StoreLimits) -> Self {
        let (head_tx, head) = watch::channel(0);
        Self {
            log: Arc::new(Mutex::new(Log {
                events: Vec::new(),
                streams: HashMap::new(),
                ids: HashMap::new(),
                last_recorded_at: Timestamp::UNIX_EPOCH,
                clock,
                head: head_tx,
            })),
            head,
            limits,
            lease: SharedLease::new(),
        }
    }

    /// Another handle on the same log.
    #[must_use]
    pub fn another(&self) -> Self {
        self.clone()
    }

    fn log(&self) -> Result<MutexGuard<'_, Log>, StoreError> {
        self.log
            .lock()
            .map_err(|_| StoreError::backend("the in-memory log's lock was poisoned"))
    }
}

impl Default for MemStore {
    fn default() -> Self {
        Self::new()
    }
}

impl Log {
    fn stream_head(&self, stream: &StreamId) -> Option<(u64, Hash)> {
        let position = *self.streams.get(stream)?.last()?;
        let event = self.events.get(usize::try_from(position).ok()?)?;
        Some((event.version, event.hash))
    }
}

#[async_trait]
impl LogReader for MemStore {
    async fn read_stream(
        &self,
        stream: &StreamId,
        from: u64,
        direction: Direction,
        limit: usize,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        let log = self.log()?;
        let Some(positions) = log.streams.get(stream) else {
            return Ok(Vec::new());
        };
        let at = |position: &u64| log.events[*position as usize].clone();
        let limit = limit.min(MAX_PAGE);
        // A stream's versions are 0, 1, 2, … so its version is its index here.
        Ok(match direction {
            Direction::Forwards => positions
                .iter()
                .skip(usize::try_from(from).unwrap_or(usize::MAX))
                .take(limit)
                .map(at)
                .collect(),
            Direction::Backwards => {
                let end = usize::try_from(from)
                    .map_or(positions.len(), |from| from.saturating_add(1))
                    .min(positions.len());
                positions[..end].iter().rev().take(limit).map(at).collect()
            }
        })
    }

    async fn read_all(&self, from: u64, limit: usize) -> Result<Vec<RecordedEvent>, StoreError> {
        let log = self.log()?;
        let from = usize::try_from(from).unwrap_or(usize::MAX);
        Ok(log
            .events
            .iter()
            .skip(from)
            .take(limit.min(MAX_PAGE))
            .cloned()
            .collect())
    }

    async fn stream_version(&self, stream: &StreamId) -> Result<Option<u64>, StoreError> {
        Ok(self.log()?.stream_head(stream).map(|(version, _)| version))
    }

    fn watch_head(&self) -> watch::Receiver<u64> {
        self.head.clone()
    }
}

#[async_trait]
impl EventStore for MemStore {
    async fn append(
        &self,
        stream: &StreamId,
        expected: ExpectedVersion,
        events: Vec<NewEvent>,
    ) -> Result<AppendOutcome, StoreError> {
        let prepared = self.limits.prepare(stream, events)?;
        let mut log = self.log()?;
        if let Some(replay) = replay::judge(&prepared, |id| {
            Ok(log.ids.get(&(stream.clone(), *id)).copied())
        })? {
            return Ok(replay);
        }
        let head = log.stream_head(stream);
        let recorded_at = log.clock.now().max(log.last_recorded_at);
        let mut end = LogEnd {
            next_position: log.events.len() as u64,
            last_hash: log.events.last().map_or(Hash::GENESIS, |e| e.hash),
        };
        let outcome = place_append(
            stream,
            expected,
            head,
            &mut end,
            recorded_at.as_microsecond(),
            &prepared,
            |Placed {
                 prepared,
                 version,
                 position,
                 hash,
             }| {
                let event = prepared.event.clone();
                log.ids.insert(
                    (stream.clone(), event.event_id),
                    StoredId {
                        version,
                        position,
                        content_hash: prepared.content_hash,
                    },
                );
                log.streams
                    .entry(stream.clone())
                    .or_default()
                    .push(position);
                log.events.push(RecordedEvent {
                    stream: stream.clone(),
                    version,
                    position,
                    event_id: event.event_id,
                    event_type: event.event_type,
                    schema_version: event.schema_version,
                    occurred_at: event.occurred_at,
                    recorded_at,
                    correlation_id: event.correlation_id,
                    causation_id: event.causation_id,
                    actor: event.actor,
                    payload: event.payload,
                    content_hash: prepared.content_hash,
                    hash,
                });
            },
        )?;
        log.last_recorded_at = recorded_at;
        log.head.send_replace(end.next_position);
        Ok(outcome)
    }

    async fn find_event(
        &self,
        stream: &StreamId,
        event_id: &Uuid,
    ) -> Result<Option<EventSlot>, StoreError> {
        Ok(self
            .log()?
            .ids
            .get(&(stream.clone(), *event_id))
            .map(|stored| EventSlot {
                event_id: *event_id,
                version: stored.version,
                position: stored.position,
            }))
    }

    fn limits(&self) -> StoreLimits {
        self.limits
    }

    fn scheduler_lease(&self) -> Box<dyn Lease> {
        Box::new(self.lease.claim())
    }
}
