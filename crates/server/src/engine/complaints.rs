//! Complaints as the command handler sees them: whose a complaint is, and the rules that
//! judge its events, including the complaints a merge names.

use complaintflow_domain::values::ComplaintId;
use complaintflow_domain::{CheckContext, ComplaintEvent, ComplaintState, EventMeta};
use complaintflow_log::{NewEvent, StoreError, StreamId};

use super::access::{Access, Owner};
use super::command::{Aggregate, Author};
use super::{AsOf, Engine, EngineError, Submission, complaint_stream};

impl Aggregate for ComplaintId {
    type Event = ComplaintEvent;
    type State = ComplaintState;

    fn stream(&self) -> Result<StreamId, EngineError> {
        Ok(complaint_stream(self).map_err(StoreError::from)?)
    }

    /// The complaints the events name take turns too, so that a merge target cannot be
    /// merged away between its check and the append.
    fn also_turns(submissions: &[Submission]) -> Result<Vec<StreamId>, EngineError> {
        submissions
            .iter()
            .filter_map(|submission| complaintflow_domain::referenced_complaint(&submission.event))
            .map(Aggregate::stream)
            .collect()
    }

    fn owner(state: &ComplaintState) -> Owner<'_> {
        Owner {
            dealer: state.dealer.as_str(),
            region: state.region.as_str(),
        }
    }

    fn opened_by(event: &ComplaintEvent) -> Option<Owner<'_>> {
        match event {
            ComplaintEvent::Filed(filed) => Some(Owner {
                dealer: filed.dealer.as_str(),
                region: filed.region.as_str(),
            }),
            _ => None,
        }
    }

    fn not_found(&self) -> EngineError {
        EngineError::NotFound(self.clone())
    }

    fn contention(&self) -> EngineError {
        EngineError::Contention(self.clone())
    }

    async fn load(
        engine: &Engine,
        stream: &StreamId,
    ) -> Result<(Option<ComplaintState>, Option<u64>), EngineError> {
        engine.load_stream(stream, AsOf::Now).await
    }

    async fn decide(
        &self,
        engine: &Engine,
        author: &Author<'_>,
        state: Option<ComplaintState>,
        version: Option<u64>,
        submissions: &[Submission],
        access: &dyn Access,
    ) -> Result<Vec<NewEvent>, EngineError> {
        engine.check_references(self, submissions, access).await?;
        engine.check_all(author, self, state, version, submissions)
    }
}

impl Engine {
    /// The complaints the submissions name (a merge's target) must exist for the caller
    /// and carry on. One the caller may not see gets the answer of one that does not
    /// exist.
    async fn check_references(
        &self,
        complaint: &ComplaintId,
        submissions: &[Submission],
        access: &dyn Access,
    ) -> Result<(), EngineError> {
        for (index, submission) in submissions.iter().enumerate() {
            let Some(target) = complaintflow_domain::referenced_complaint(&submission.event) else {
                continue;
            };
            if target == complaint {
                // The rules name that case themselves (merge_into_self).
                continue;
            }
            let (state, _) = self.load_stream(&target.stream()?, AsOf::Now).await?;
            let seen = state.filter(|state| access.sees(ComplaintId::owner(state)));
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

    fn check_all(
        &self,
        author: &Author<'_>,
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
                actor: author.actor.clone(),
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
                actor: author.actor.clone(),
            };
            complaintflow_domain::apply(&mut state, &submission.event, &meta);
            events.push(submission.to_new_event(&author.recorded_as, occurred_at));
        }
        Ok(events)
    }
}
