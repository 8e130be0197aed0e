//! Quality follow-ups as the command handler sees them: whose a follow-up is, its rules,
//! and the complaint it may become, which the caller must see.

use std::ops::ControlFlow;

use complaintflow_domain::EventMeta;
use complaintflow_domain::follow_up::{
    self, FollowUpContext, FollowUpEvent, FollowUpState, check_complaint_link,
};
use complaintflow_domain::values::{ComplaintId, FollowUpId};

use complaintflow_log::{NewEvent, StoreError, StreamId};

use super::access::{Access, Owner};
use super::codec::{actor_from_str, complaint_stream};
use super::command::{Aggregate, Author};
use super::{AsOf, Engine, EngineError, Submission};

/// A follow-up's stream.
pub fn follow_up_stream(id: &FollowUpId) -> Result<StreamId, StoreError> {
    Ok(StreamId::new(follow_up::stream_name(id))?)
}

impl Aggregate for FollowUpId {
    type Event = FollowUpEvent;
    type State = FollowUpState;

    fn stream(&self) -> Result<StreamId, EngineError> {
        Ok(follow_up_stream(self)?)
    }

    fn owner(state: &FollowUpState) -> Owner<'_> {
        Owner {
            dealer: state.opened.dealer.as_str(),
            region: state.opened.region.as_str(),
        }
    }

    fn opened_by(event: &FollowUpEvent) -> Option<Owner<'_>> {
        match event {
            FollowUpEvent::Opened(opened) => Some(Owner {
                dealer: opened.dealer.as_str(),
                region: opened.region.as_str(),
            }),
            _ => None,
        }
    }

    fn not_found(&self) -> EngineError {
        EngineError::FollowUpNotFound(self.clone())
    }

    fn contention(&self) -> EngineError {
        EngineError::FollowUpContention(self.clone())
    }

    async fn load(
        engine: &Engine,
        stream: &StreamId,
    ) -> Result<(Option<FollowUpState>, Option<u64>), EngineError> {
        engine.replay_follow_up(stream, AsOf::Now).await
    }

    async fn decide(
        &self,
        engine: &Engine,
        author: &Author<'_>,
        state: Option<FollowUpState>,
        version: Option<u64>,
        submissions: &[Submission<FollowUpEvent>],
        access: &dyn Access,
    ) -> Result<Vec<NewEvent>, EngineError> {
        engine
            .check_follow_up(author, self, state, version, submissions, access)
            .await
    }
}

impl Engine {
    /// Runs every rule over the submissions, each against the state the previous ones
    /// leave; a follow-up that becomes a complaint must name one the caller sees, about
    /// the same delivery.
    async fn check_follow_up(
        &self,
        author: &Author<'_>,
        id: &FollowUpId,
        mut state: Option<FollowUpState>,
        version: Option<u64>,
        submissions: &[Submission<FollowUpEvent>],
        access: &dyn Access,
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
                actor: author.actor.clone(),
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
                let seen = complaint.filter(|complaint| access.sees(ComplaintId::owner(complaint)));
                check_complaint_link(current, &became.complaint_id, seen.as_ref())
                    .map_err(refused)?;
            }
            let meta = EventMeta {
                version: next_version,
                occurred_at,
                recorded_at: now,
                actor: author.actor.clone(),
            };
            follow_up::apply(&mut state, &submission.event, &meta, &self.policy);
            events.push(submission.to_new_event(&author.recorded_as, occurred_at));
        }
        Ok(events)
    }

    /// The follow-up's state now.
    pub(crate) async fn load_follow_up(
        &self,
        id: &FollowUpId,
    ) -> Result<FollowUpState, EngineError> {
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
        self.each_stored(stream, 0, |recorded| {
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
                return Ok(ControlFlow::Break(()));
            }
            follow_up::apply(&mut state, &event, &meta, &self.policy);
            version = Some(recorded.version);
            Ok(ControlFlow::Continue(()))
        })
        .await?;
        Ok((state, version))
    }
}
