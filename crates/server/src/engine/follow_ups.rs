//! Quality follow-ups through the same checked, idempotent path as complaints: one
//! submission per follow-up at a time, a retry answered from the stored events, every
//! rule run against the state rebuilt from the log, and the append pinned to the
//! version that state was built from.

use complaintflow_domain::follow_up::{
    self, FollowUpContext, FollowUpEvent, FollowUpState, check_complaint_link,
};
use complaintflow_domain::values::FollowUpId;
use complaintflow_domain::{Actor, ComplaintState, EventMeta};
use complaintflow_log::{
    AppendOutcome, Direction, ExpectedVersion, MAX_PAGE, NewEvent, StoreError, StreamId,
};

use super::codec::{actor_from_str, actor_to_string, complaint_stream};
use super::{AsOf, Engine, EngineError, MAX_ATTEMPTS, Submission};

/// Decides whether the caller may touch the follow-up in the state it is in (`None`:
/// not opened yet, and the submissions open it), and whether it may see a complaint
/// the follow-up is to become.
pub trait FollowUpGuard: Send + Sync {
    fn follow_up(
        &self,
        state: Option<&FollowUpState>,
        submissions: &[Submission<FollowUpEvent>],
    ) -> Result<(), EngineError>;

    fn sees_complaint(&self, complaint: &ComplaintState) -> bool;
}

/// A guard that lets everything through (the engine's own timers, trusted tools).
pub struct AllowAll;

impl FollowUpGuard for AllowAll {
    fn follow_up(
        &self,
        _: Option<&FollowUpState>,
        _: &[Submission<FollowUpEvent>],
    ) -> Result<(), EngineError> {
        Ok(())
    }

    fn sees_complaint(&self, _: &ComplaintState) -> bool {
        true
    }
}

/// A follow-up's stream.
pub fn follow_up_stream(id: &FollowUpId) -> Result<StreamId, StoreError> {
    Ok(StreamId::new(follow_up::stream_name(id))?)
}

impl Engine {
    /// Checks `submissions` in order against the follow-up's current state and the
    /// policy, and appends them atomically (see [`Engine::submit`]).
    pub async fn submit_follow_up(
        &self,
        actor: &Actor,
        id: &FollowUpId,
        expected: ExpectedVersion,
        submissions: &[Submission<FollowUpEvent>],
        guard: &dyn FollowUpGuard,
    ) -> Result<AppendOutcome, EngineError> {
        let stream = follow_up_stream(id)?;
        let actor_text = actor_to_string(actor);
        let _turn = self.turns.take(&stream).await;
        if let Some(outcome) = self
            .replay_if_stored(&stream, &actor_text, submissions)
            .await?
        {
            return Ok(outcome);
        }
        for _ in 0..MAX_ATTEMPTS {
            let (state, version) = self.replay_follow_up(&stream, AsOf::Now).await?;
            guard.follow_up(state.as_ref(), submissions)?;
            if !expected.admits(version) {
                return Err(StoreError::WrongExpectedVersion {
                    stream: stream.clone(),
                    expected,
                    actual: version,
                }
                .into());
            }
            let events = self
                .check_follow_up(actor, &actor_text, id, state, version, submissions, guard)
                .await?;
            let pinned = version.map_or(ExpectedVersion::NoStream, ExpectedVersion::Exact);
            match self.store.append(&stream, pinned, events).await {
                // Written by something outside this engine's turns: look again.
                Err(StoreError::WrongExpectedVersion { .. }) => {}
                result => return Ok(result?),
            }
        }
        Err(EngineError::FollowUpContention(id.clone()))
    }

    /// Runs every rule over the submissions, each against the state the previous ones
    /// leave; a follow-up that becomes a complaint must name one the caller sees, about
    /// the same delivery.
    #[allow(clippy::too_many_arguments)]
    async fn check_follow_up(
        &self,
        actor: &Actor,
        actor_text: &str,
        id: &FollowUpId,
        mut state: Option<FollowUpState>,
        version: Option<u64>,
        submissions: &[Submission<FollowUpEvent>],
        guard: &dyn FollowUpGuard,
    ) -> Result<Vec<NewEvent>, EngineError> {
        let now = self.clock.now();
        let mut events = Vec::with_capacity(submissions.len());
        let versions = version.map_or(0, |v| v + 1)..;
        for (next_version, (index, submission)) in versions.zip(submissions.iter().enumerate()) {
            let refused = |violation| EngineError::FollowUpRule {
                index,
                event_type: submission.event.event_type(),
                violation,
            };
            let occurred_at = submission.occurred_at.unwrap_or(now);
            let context = FollowUpContext {
                follow_up_id: id.clone(),
                actor: actor.clone(),
                occurred_at,
                now,
            };
            follow_up::check(state.as_ref(), &submission.event, &context, &self.policy)
                .map_err(refused)?;
            if let (FollowUpEvent::BecameComplaint(became), Some(current)) =
                (&submission.event, &state)
            {
                let stream = complaint_stream(&became.complaint_id).map_err(StoreError::from)?;
                let (complaint, _) = self.load_stream(&stream, AsOf::Now).await?;
                let seen = complaint.filter(|complaint| guard.sees_complaint(complaint));
                check_complaint_link(current, &became.complaint_id, seen.as_ref())
                    .map_err(refused)?;
            }
            let meta = EventMeta {
                version: next_version,
                occurred_at,
                recorded_at: now,
                actor: actor.clone(),
            };
            follow_up::apply(&mut state, &submission.event, &meta, &self.policy);
            events.push(submission.to_new_event(actor_text, occurred_at));
        }
        Ok(events)
    }

    /// The follow-up's state now.
    pub async fn load_follow_up(&self, id: &FollowUpId) -> Result<FollowUpState, EngineError> {
        let stream = follow_up_stream(id)?;
        self.replay_follow_up(&stream, AsOf::Now)
            .await?
            .0
            .ok_or_else(|| EngineError::FollowUpNotFound(id.clone()))
    }

    /// Follow-up streams are a handful of events: they are replayed whole, not cached.
    async fn replay_follow_up(
        &self,
        stream: &StreamId,
        as_of: AsOf,
    ) -> Result<(Option<FollowUpState>, Option<u64>), EngineError> {
        let (mut state, mut version) = (None, None);
        let mut from = 0;
        loop {
            let page = self
                .store
                .read_stream(stream, from, Direction::Forwards, MAX_PAGE)
                .await?;
            let Some(last) = page.last() else { break };
            from = last.version + 1;
            for recorded in &page {
                let event = FollowUpEvent::decode(
                    &recorded.event_type,
                    recorded.schema_version,
                    &recorded.payload,
                )
                .map_err(|e| EngineError::unreadable(recorded.position, e))?;
                let actor = actor_from_str(&recorded.actor)
                    .map_err(|e| EngineError::unreadable(recorded.position, e))?;
                let meta = EventMeta {
                    version: recorded.version,
                    occurred_at: recorded.occurred_at,
                    recorded_at: recorded.recorded_at,
                    actor,
                };
                if !as_of.includes_meta(&meta) {
                    return Ok((state, version));
                }
                follow_up::apply(&mut state, &event, &meta, &self.policy);
                version = Some(recorded.version);
            }
            if page.len() < MAX_PAGE {
                break;
            }
        }
        Ok((state, version))
    }
}
