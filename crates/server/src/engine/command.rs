//! The one way events get written: the API, the timers and the tools all submit here.
//!
//! A submission takes its streams' turns, answers a retry from the stored events, loads
//! the state once, asks the caller's access, runs the rules, and appends pinned to the
//! version the state was built from. A lost race (another node, or a writer outside the
//! engine) starts over from the retry check, so a copy of a request that another node
//! stored meanwhile is a replay there too.

use std::fmt::Display;
use std::future::Future;

use complaintflow_domain::Actor;
use complaintflow_log::replay::{self, Requested, RequestedTime};
use complaintflow_log::{AppendOutcome, ExpectedVersion, NewEvent, StoreError, StreamId};
use tracing::instrument;

use super::access::{self, Access, Owner};
use super::{Engine, EngineError, MAX_ATTEMPTS, Recordable, Submission, actor_to_string};

/// Who submits, with the name the log records them under, worked out once per
/// submission.
pub struct Author<'a> {
    pub actor: &'a Actor,
    pub recorded_as: String,
}

/// A kind of stream the engine keeps, named by its id: complaints and follow-ups.
pub trait Aggregate: Display + Send + Sync {
    type Event: Recordable + Send + Sync;
    type State: Send + Sync;

    fn stream(&self) -> Result<StreamId, EngineError>;

    /// Streams whose turns a submission also takes: those its events name and which
    /// must not change between their check and the append.
    fn also_turns(_: &[Submission<Self::Event>]) -> Result<Vec<StreamId>, EngineError> {
        Ok(Vec::new())
    }

    /// Whose the stream is.
    fn owner(state: &Self::State) -> Owner<'_>;

    /// Whose the stream becomes, if `event` opens it.
    fn opened_by(event: &Self::Event) -> Option<Owner<'_>>;

    fn not_found(&self) -> EngineError;

    fn contention(&self) -> EngineError;

    /// The stream's state now, and the version it was built from.
    fn load(
        engine: &Engine,
        stream: &StreamId,
    ) -> impl Future<Output = Result<(Option<Self::State>, Option<u64>), EngineError>> + Send;

    /// Runs every rule over the submissions, each against the state the previous ones
    /// leave, and builds the events to store.
    fn decide(
        &self,
        engine: &Engine,
        author: &Author<'_>,
        state: Option<Self::State>,
        version: Option<u64>,
        submissions: &[Submission<Self::Event>],
        access: &dyn Access,
    ) -> impl Future<Output = Result<Vec<NewEvent>, EngineError>> + Send;
}

impl Engine {
    /// Checks `submissions` in order against the stream's current state, the caller's
    /// access and the policy, and appends them atomically. `expected` is what the caller
    /// believes the version is; `Any` re-checks against newer state after a lost race.
    #[instrument(skip_all, fields(stream = %id, events = submissions.len(), actor = %actor.id.as_str()))]
    pub async fn submit<A: Aggregate>(
        &self,
        actor: &Actor,
        id: &A,
        expected: ExpectedVersion,
        submissions: &[Submission<A::Event>],
        access: &dyn Access,
    ) -> Result<AppendOutcome, EngineError> {
        let stream = id.stream()?;
        let author = Author {
            actor,
            recorded_as: actor_to_string(actor),
        };
        // One submission per stream at a time on this node: a copy of a request that
        // races its original waits for it, then finds it stored. Always in name order,
        // so that two submissions naming each other's streams cannot wait on each other.
        let mut streams = A::also_turns(submissions)?;
        streams.push(stream.clone());
        streams.sort_unstable();
        streams.dedup();
        // Held until this function returns.
        let mut turns = Vec::with_capacity(streams.len());
        for stream in &streams {
            turns.push(self.turns.take(stream).await);
        }
        for _ in 0..MAX_ATTEMPTS {
            if let Some(outcome) = self
                .replay_if_stored(&stream, &author.recorded_as, submissions)
                .await?
            {
                return Ok(outcome);
            }
            let (state, version) = A::load(self, &stream).await?;
            let opening = submissions.first().and_then(|s| A::opened_by(&s.event));
            access::admit(access, state.as_ref().map(A::owner), opening, || {
                id.not_found()
            })?;
            if !expected.admits(version) {
                return Err(StoreError::WrongExpectedVersion {
                    stream,
                    expected,
                    actual: version,
                }
                .into());
            }
            let events = id
                .decide(self, &author, state, version, submissions, access)
                .await?;
            let pinned = version.map_or(ExpectedVersion::NoStream, ExpectedVersion::Exact);
            match self.store.append(&stream, pinned, events).await {
                // Written meanwhile by something outside this node's turns: look again,
                // from the retry check.
                Err(StoreError::WrongExpectedVersion { .. }) => {}
                // The log holds these ids already. The log judges by content, with the
                // time this node stamped; the request may have left the time to the
                // server, so the request's own judgment decides.
                Err(conflict @ StoreError::IdempotencyConflict { .. }) => {
                    return match self
                        .replay_if_stored(&stream, &author.recorded_as, submissions)
                        .await?
                    {
                        Some(outcome) => Ok(outcome),
                        None => Err(conflict.into()),
                    };
                }
                result => return Ok(result?),
            }
        }
        Err(id.contention())
    }

    /// A retry of an append that is already stored is answered from the stored events,
    /// without running the rules again (the state has moved on since, and the rules would
    /// judge the retry as new). The log judges it, as it judges an append: a time the
    /// server filled in is not part of the request, so it never makes a retry differ.
    async fn replay_if_stored<E: Recordable>(
        &self,
        stream: &StreamId,
        actor_text: &str,
        submissions: &[Submission<E>],
    ) -> Result<Option<AppendOutcome>, EngineError> {
        let now = self.clock.now();
        let requested: Vec<Requested> = submissions
            .iter()
            .map(|submission| Requested {
                event: submission.to_new_event(actor_text, submission.occurred_at.unwrap_or(now)),
                time: if submission.occurred_at.is_some() {
                    RequestedTime::Given
                } else {
                    RequestedTime::Filled
                },
            })
            .collect();
        Ok(replay::stored_retry(self.store.as_ref(), stream, &requested).await?)
    }
}
