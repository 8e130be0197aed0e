//! The application core: turns an authenticated caller's events into checked, durable
//! events, and rebuilds a complaint's state from its stream.
//!
//! Every submission is checked against the state rebuilt from the log, then appended
//! with the version that state was built from, so two writers racing on one complaint
//! can never both pass the rules against the same state.

pub mod codec;
mod error;
mod follow_ups;
mod merge;
mod turns;

use std::sync::Arc;

use jiff::Timestamp;
use tracing::instrument;
use uuid::Uuid;

pub use codec::{DomainEvent, actor_to_string, complaint_stream};
pub use error::EngineError;
pub use follow_ups::{AllowAll as AllowAllFollowUps, FollowUpGuard, follow_up_stream};
pub use merge::duplicate_merged_event_id;

use complaintflow_domain::values::ComplaintId;
use complaintflow_domain::{
    Actor, CheckContext, ComplaintEvent, ComplaintState, EventMeta, Policy,
};
use complaintflow_log::clock::SharedClock;
use complaintflow_log::{
    AppendOutcome, Direction, EventStore, ExpectedVersion, MAX_PAGE, NewEvent, RecordedEvent,
    StreamId,
};

/// Decides whether the caller may touch the complaint in the state it is in (`None`:
/// not filed yet, and the submissions will file it). The engine asks before any rule;
/// the guard's error is the answer.
pub type Guard<'a> =
    &'a (dyn Fn(Option<&ComplaintState>, &[Submission]) -> Result<(), EngineError> + Send + Sync);

/// A guard that lets everything through (the engine's own timers, trusted tools).
pub fn allow_all(_: Option<&ComplaintState>, _: &[Submission]) -> Result<(), EngineError> {
    Ok(())
}

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

    /// Whether `recorded` holds what this submission asks for: everything the client
    /// sent, at the precision the log keeps; a time left to the server matches any.
    fn requested(&self, actor: &str, recorded: &RecordedEvent) -> bool {
        recorded.event_type == self.event.event_type()
            && recorded.schema_version == self.event.schema_version()
            && recorded.actor == actor
            && recorded.correlation_id == self.correlation_id
            && recorded.causation_id == self.causation_id
            && self
                .occurred_at
                .is_none_or(|at| at.as_microsecond() == recorded.occurred_at.as_microsecond())
            && recorded.payload == self.event.encode_payload()
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
    policy: Arc<Policy>,
    clock: SharedClock,
    latest: std::sync::Mutex<std::collections::HashMap<StreamId, Snapshot>>,
    turns: turns::Turns,
}

impl Engine {
    pub fn new(store: Arc<dyn EventStore>, policy: Arc<Policy>, clock: SharedClock) -> Self {
        Self {
            store,
            policy,
            clock,
            latest: std::sync::Mutex::new(std::collections::HashMap::new()),
            turns: turns::Turns::default(),
        }
    }

    pub fn store(&self) -> &Arc<dyn EventStore> {
        &self.store
    }

    pub fn policy(&self) -> &Arc<Policy> {
        &self.policy
    }

    pub fn clock(&self) -> &SharedClock {
        &self.clock
    }

    /// Checks `submissions` in order against the complaint's current state and the
    /// policy, and appends them atomically. `expected` is what the caller believes the
    /// complaint's version is; `Any` re-checks against newer state after a lost race.
    #[instrument(skip_all, fields(complaint = %complaint, events = submissions.len(), actor = %actor.id.as_str()))]
    pub async fn submit(
        &self,
        actor: &Actor,
        complaint: &ComplaintId,
        expected: ExpectedVersion,
        submissions: &[Submission],
        guard: Guard<'_>,
    ) -> Result<AppendOutcome, EngineError> {
        let stream = complaint_stream(complaint).map_err(complaintflow_log::StoreError::from)?;
        let actor_text = actor_to_string(actor);
        // One submission per complaint at a time: a copy of a request that races its
        // original waits for it, then finds it stored and is answered as a replay, instead
        // of being checked and stamped (with its own server time) as a second append.
        // The complaints the events name take turns too, so that a merge target cannot
        // be merged away between its check and the append; always in name order, so that
        // two merges into each other cannot wait on each other.
        let mut streams = vec![stream.clone()];
        for submission in submissions {
            if let Some(target) = complaintflow_domain::referenced_complaint(&submission.event) {
                streams
                    .push(complaint_stream(target).map_err(complaintflow_log::StoreError::from)?);
            }
        }
        streams.sort_unstable();
        streams.dedup();
        // Held until this function returns: the streams' turns, taken in order.
        let mut turns = Vec::with_capacity(streams.len());
        for stream in &streams {
            turns.push(self.turns.take(stream).await);
        }
        if let Some(outcome) = self
            .replay_if_stored(&stream, &actor_text, submissions)
            .await?
        {
            return Ok(outcome);
        }
        for _ in 0..MAX_ATTEMPTS {
            let (state, version) = self.load_stream(&stream, AsOf::Now).await?;
            guard(state.as_ref(), submissions)?;
            self.check_references(complaint, submissions, guard).await?;
            if !expected.admits(version) {
                return Err(complaintflow_log::StoreError::WrongExpectedVersion {
                    stream: stream.clone(),
                    expected,
                    actual: version,
                }
                .into());
            }
            let events =
                self.check_all(actor, &actor_text, complaint, state, version, submissions)?;
            let pinned = version.map_or(ExpectedVersion::NoStream, ExpectedVersion::Exact);
            match self.store.append(&stream, pinned, events).await {
                // Written by something outside this engine's turns: look again.
                Err(complaintflow_log::StoreError::WrongExpectedVersion { .. }) => {}
                result => return Ok(result?),
            }
        }
        Err(EngineError::Contention(complaint.clone()))
    }

    /// The complaints the submissions name (a merge's target) must exist for the caller,
    /// as the guard judges, and carry on. One the caller may not see gets the answer of
    /// one that does not exist.
    async fn check_references(
        &self,
        complaint: &ComplaintId,
        submissions: &[Submission],
        guard: Guard<'_>,
    ) -> Result<(), EngineError> {
        for (index, submission) in submissions.iter().enumerate() {
            let Some(target) = complaintflow_domain::referenced_complaint(&submission.event) else {
                continue;
            };
            if target == complaint {
                // The rules name that case themselves (merge_into_self).
                continue;
            }
            let stream = complaint_stream(target).map_err(complaintflow_log::StoreError::from)?;
            let (state, _) = self.load_stream(&stream, AsOf::Now).await?;
            let seen = state.filter(|state| guard(Some(state), &[]).is_ok());
            complaintflow_domain::check_reference(target, seen.as_ref()).map_err(|violation| {
                EngineError::Rule {
                    index,
                    event_type: submission.event.event_type(),
                    violation,
                }
            })?;
        }
        Ok(())
    }

    /// Runs every rule over the submissions, each against the state the previous ones
    /// leave, and builds the envelopes to store.
    fn check_all(
        &self,
        actor: &Actor,
        actor_text: &str,
        complaint: &ComplaintId,
        mut state: Option<ComplaintState>,
        version: Option<u64>,
        submissions: &[Submission],
    ) -> Result<Vec<NewEvent>, EngineError> {
        let now = self.clock.now();
        let mut events = Vec::with_capacity(submissions.len());
        let versions = version.map_or(0, |v| v + 1)..;
        for (next_version, (index, submission)) in versions.zip(submissions.iter().enumerate()) {
            let occurred_at = submission.occurred_at.unwrap_or(now);
            let context = CheckContext {
                complaint_id: complaint.clone(),
                actor: actor.clone(),
                occurred_at,
                now,
            };
            complaintflow_domain::check(state.as_ref(), &submission.event, &context, &self.policy)
                .map_err(|violation| EngineError::Rule {
                    index,
                    event_type: submission.event.event_type(),
                    violation,
                })?;
            let meta = EventMeta {
                version: next_version,
                occurred_at,
                recorded_at: now,
                actor: actor.clone(),
            };
            complaintflow_domain::apply(&mut state, &submission.event, &meta);
            events.push(submission.to_new_event(actor_text, occurred_at));
        }
        Ok(events)
    }

    /// A retry of an append that is already stored is answered here, from the stored
    /// events, without running the rules again (the state has moved on since, and the
    /// rules would judge the retry as new). It is a retry when every event is stored, as
    /// one append, in this complaint (an event id is a retry key within its complaint:
    /// another complaint's use of it is not a retry of this one, nor a collision), with
    /// what the client sent: the same type, payload,
    /// actor, correlation and causation, and the same time if the client gave one. A time
    /// the server filled in is not part of the request, so it never makes a retry differ.
    async fn replay_if_stored<E: Recordable>(
        &self,
        stream: &StreamId,
        actor_text: &str,
        submissions: &[Submission<E>],
    ) -> Result<Option<AppendOutcome>, EngineError> {
        let Some(first) = submissions.first() else {
            return Ok(None);
        };
        let Some(slot) = self.store.find_event(stream, &first.event_id).await? else {
            return Ok(None);
        };
        // An append's events sit side by side in the log.
        let stored = self
            .store
            .read_all(slot.position, submissions.len())
            .await?;
        let mut slots = Vec::with_capacity(submissions.len());
        for (offset, submission) in (0u64..).zip(submissions) {
            let conflict = |reason: &str| complaintflow_log::StoreError::IdempotencyConflict {
                event_id: submission.event_id,
                reason: reason.to_owned(),
            };
            let recorded = stored
                .get(offset as usize)
                .filter(|recorded| {
                    recorded.event_id == submission.event_id
                        && recorded.version == slot.version + offset
                })
                .ok_or_else(|| conflict("this append's event ids were stored by other appends"))?;
            if &recorded.stream != stream || !submission.requested(actor_text, recorded) {
                return Err(conflict("stored content differs").into());
            }
            slots.push(complaintflow_log::EventSlot {
                event_id: recorded.event_id,
                version: recorded.version,
                position: recorded.position,
            });
        }
        metrics::counter!("complaintflow_store_appends_total", "result" => "replayed").increment(1);
        Ok(Some(AppendOutcome {
            slots,
            replayed: true,
        }))
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
        let mut from = version.map_or(0, |v| v + 1);
        loop {
            let page = self
                .store
                .read_stream(stream, from, Direction::Forwards, MAX_PAGE)
                .await?;
            let Some(last) = page.last() else { break };
            from = last.version + 1;
            for recorded in &page {
                let event = codec::domain_event(recorded)?;
                if !as_of.includes(&event) {
                    return Ok((state, version));
                }
                complaintflow_domain::apply(&mut state, &event.event, &event.meta);
                version = Some(recorded.version);
            }
            if page.len() < MAX_PAGE {
                break;
            }
        }
        Ok((state, version))
    }
}
