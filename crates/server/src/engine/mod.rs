//! The application core: turns an authenticated caller's events into checked, durable
//! events, and rebuilds a complaint's state from its stream.
//!
//! Every submission is checked against the state rebuilt from the log, then appended
//! with the version that state was built from, so two writers racing on one complaint
//! can never both pass the rules against the same state.

mod access;
pub mod codec;
mod command;
mod complaints;
mod error;
mod follow_ups;
mod merge;
mod turns;

use std::ops::ControlFlow;
use std::sync::Arc;

use jiff::Timestamp;
use uuid::Uuid;

pub use access::{Access, Owner, Trusted};
pub use codec::{DomainEvent, actor_to_string, complaint_stream};
pub use command::{Aggregate, Author};
pub use error::EngineError;
pub use follow_ups::follow_up_stream;

use complaintflow_domain::values::ComplaintId;
use complaintflow_domain::{ComplaintEvent, ComplaintState, EventMeta, Policy};
use complaintflow_log::clock::SharedClock;
use complaintflow_log::{
    Direction, EventStore, LogReader, MAX_PAGE, NewEvent, RecordedEvent, StreamId,
};

/// How often an append that lost a race is re-checked against the newer state.
const MAX_ATTEMPTS: usize = 8;

/// What the engine needs of a typed event to store it and to recognise a retry of it.
pub trait Recordable {
    fn event_type(&self) -> &'static str;
    fn schema_version(&self) -> u16;
    fn encode_payload(&self) -> Vec<u8>;
}

impl Recordable for ComplaintEvent {
    fn event_type(&self) -> &'static str {
        ComplaintEvent::event_type(self)
    }
    fn schema_version(&self) -> u16 {
        ComplaintEvent::schema_version(self)
    }
    fn encode_payload(&self) -> Vec<u8> {
        ComplaintEvent::encode_payload(self)
    }
}

impl Recordable for complaintflow_domain::follow_up::FollowUpEvent {
    fn event_type(&self) -> &'static str {
        Self::event_type(self)
    }
    fn schema_version(&self) -> u16 {
        Self::schema_version(self)
    }
    fn encode_payload(&self) -> Vec<u8> {
        Self::encode_payload(self)
    }
}

/// One event a caller wants appended (a complaint's, unless said otherwise).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Submission<E = ComplaintEvent> {
    /// The idempotency key.
    pub event_id: Uuid,
    pub event: E,
    /// When it happened; `None` means now.
    pub occurred_at: Option<Timestamp>,
    pub correlation_id: Option<Uuid>,
    pub causation_id: Option<Uuid>,
}

impl Submission {
    pub fn new(event_id: Uuid, event: impl Into<ComplaintEvent>) -> Self {
        Self {
            event_id,
            event: event.into(),
            occurred_at: None,
            correlation_id: None,
            causation_id: None,
        }
    }
}

impl<E: Recordable> Submission<E> {
    #[must_use]
    pub fn at(mut self, occurred_at: Timestamp) -> Self {
        self.occurred_at = Some(occurred_at);
        self
    }

    fn to_new_event(&self, actor: &str, occurred_at: Timestamp) -> NewEvent {
        NewEvent {
            event_id: self.event_id,
            event_type: self.event.event_type().to_owned(),
            schema_version: self.event.schema_version(),
            occurred_at,
            correlation_id: self.correlation_id,
            causation_id: self.causation_id,
            actor: actor.to_owned(),
            payload: self.event.encode_payload(),
        }
    }
}

/// A point in a complaint's past.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AsOf {
    Now,
    /// Right after this version.
    Version(u64),
    /// As recorded by this time.
    Time(Timestamp),
}

impl AsOf {
    fn includes(self, event: &DomainEvent) -> bool {
        self.includes_meta(&event.meta)
    }

    fn includes_meta(self, meta: &EventMeta) -> bool {
        match self {
            Self::Now => true,
            Self::Version(version) => meta.version <= version,
            Self::Time(at) => meta.recorded_at <= at,
        }
    }
}

/// Complaints whose latest state the engine keeps; beyond this the cache starts over.
const CACHED_COMPLAINTS: usize = 20_000;

/// A complaint's state as of a durable version. Only ever built from stored events, so a
/// cached entry is a prefix of the truth: loading it reads just the events after it.
type Snapshot = (Option<ComplaintState>, Option<u64>);

pub struct Engine {
    store: Arc<dyn EventStore>,
    /// The same log, for everyone outside the engine: they read it; only the engine
    /// writes it.
    log: Arc<dyn LogReader>,
    policy: Arc<Policy>,
    clock: SharedClock,
    latest: std::sync::Mutex<std::collections::HashMap<StreamId, Snapshot>>,
    turns: turns::Turns,
}

impl Engine {
    pub fn new(store: Arc<dyn EventStore>, policy: Arc<Policy>, clock: SharedClock) -> Self {
        Self {
            log: store.clone(),
            store,
            policy,
            clock,
            latest: std::sync::Mutex::new(std::collections::HashMap::new()),
            turns: turns::Turns::default(),
        }
    }

    /// The log, to read: every write goes through [`Engine::submit`].
    pub fn log(&self) -> &Arc<dyn LogReader> {
        &self.log
    }

    /// Where the stream holds the event id, if it does.
    pub async fn find_event(
        &self,
        stream: &StreamId,
        event_id: &Uuid,
    ) -> Result<Option<complaintflow_log::EventSlot>, complaintflow_log::StoreError> {
        self.store.find_event(stream, event_id).await
    }

    /// Whether the log takes appends now (a readiness check).
    pub fn writable(&self) -> Result<(), complaintflow_log::StoreError> {
        self.store.writable()
    }

    pub fn policy(&self) -> &Arc<Policy> {
        &self.policy
    }

    pub fn clock(&self) -> &SharedClock {
        &self.clock
    }

    /// The complaint's state, now or in the past.
    pub async fn load(
        &self,
        complaint: &ComplaintId,
        as_of: AsOf,
    ) -> Result<ComplaintState, EngineError> {
        let stream = complaint_stream(complaint).map_err(complaintflow_log::StoreError::from)?;
        self.load_stream(&stream, as_of)
            .await?
            .0
            .ok_or_else(|| EngineError::NotFound(complaint.clone()))
    }

    /// Replays a stream up to `as_of`: the state and the version it was built from.
    /// The current state starts from the cached snapshot and reads only what follows it.
    async fn load_stream(&self, stream: &StreamId, as_of: AsOf) -> Result<Snapshot, EngineError> {
        let cached = match as_of {
            AsOf::Now => self.cached(stream),
            _ => None,
        };
        let (state, version) = self
            .replay_from(stream, as_of, cached.unwrap_or((None, None)))
            .await?;
        if as_of == AsOf::Now && state.is_some() {
            self.remember(stream, (state.clone(), version));
        }
        Ok((state, version))
    }

    fn cached(&self, stream: &StreamId) -> Option<Snapshot> {
        self.latest.lock().ok()?.get(stream).cloned()
    }

    fn remember(&self, stream: &StreamId, snapshot: Snapshot) {
        if let Ok(mut latest) = self.latest.lock() {
            if latest.len() >= CACHED_COMPLAINTS && !latest.contains_key(stream) {
                latest.clear();
            }
            // Never replace a newer snapshot with an older one (loads race).
            let newer = latest
                .get(stream)
                .is_some_and(|(_, cached)| *cached > snapshot.1);
            if !newer {
                latest.insert(stream.clone(), snapshot);
            }
        }
    }

    async fn replay_from(
        &self,
        stream: &StreamId,
        as_of: AsOf,
        (mut state, mut version): Snapshot,
    ) -> Result<Snapshot, EngineError> {
        let from = version.map_or(0, |v| v + 1);
        self.each_stored(stream, from, |recorded| {
            let event = codec::domain_event(recorded)?;
            if !as_of.includes(&event) {
                return Ok(ControlFlow::Break(()));
            }
            complaintflow_domain::apply(&mut state, &event.event, &event.meta);
            version = Some(recorded.version);
            Ok(ControlFlow::Continue(()))
        })
        .await?;
        Ok((state, version))
    }

    /// Hands `stream`'s events from version `from` on to `visit`, in order, a page at a
    /// time, until the stream ends or `visit` breaks.
    async fn each_stored(
        &self,
        stream: &StreamId,
        mut from: u64,
        mut visit: impl FnMut(&RecordedEvent) -> Result<ControlFlow<()>, EngineError> + Send,
    ) -> Result<(), EngineError> {
        loop {
            let page = self
                .store
                .read_stream(stream, from, Direction::Forwards, MAX_PAGE)
                .await?;
            let Some(last) = page.last() else { break };
            from = last.version + 1;
            for recorded in &page {
                if visit(recorded)?.is_break() {
                    return Ok(());
                }
            }
            if page.len() < MAX_PAGE {
                break;
            }
        }
        Ok(())
    }
}
