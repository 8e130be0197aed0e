//! Firing the quality follow-ups' deadline: a call not made by its due moment is
//! recorded missed, once, through the same checked append path as everything else.

use jiff::Timestamp;
use tracing::{debug, info, warn};
use uuid::Uuid;

use super::{BATCH, FIRING_NAMESPACE, FireReport, Scheduler, firing_time};
use crate::engine::{EngineError, Submission, Trusted};
use complaintflow_domain::Actor;
use complaintflow_domain::follow_up::on_deadline_due;
use complaintflow_domain::values::FollowUpId;
use complaintflow_log::{ExpectedVersion, StoreError};

/// The id of the event that records a follow-up's call missed: one per follow-up and
/// due moment, so a firing repeated after a crash takes effect once.
pub fn follow_up_firing_id(id: &FollowUpId, due_at: Timestamp) -> Uuid {
    let name = format!("follow-up:{id}/{}/due", due_at.as_microsecond());
    Uuid::new_v5(&FIRING_NAMESPACE, name.as_bytes())
}

impl Scheduler {
    /// Records missed every follow-up call due by `now` and still owed.
    pub(super) async fn fire_follow_ups(&self, now: Timestamp) -> Result<FireReport, EngineError> {
        let mut report = FireReport::default();
        for (id, _) in self.projections.due_follow_ups(now, BATCH) {
            match self.fire_follow_up(&id, now).await? {
                0 => report.skipped += 1,
                events => {
                    report.fired += 1;
                    report.events += events;
                }
            }
        }
        Ok(report)
    }

    async fn fire_follow_up(&self, id: &FollowUpId, now: Timestamp) -> Result<usize, EngineError> {
        let state = match self.engine.load_follow_up(id).await {
            Ok(state) => state,
            Err(EngineError::FollowUpNotFound(_)) => return Ok(0),
            Err(err) => return Err(err),
        };
        let Some(event) = on_deadline_due(&state, now) else {
            debug!(follow_up = %id, "stale follow-up timer skipped");
            return Ok(0);
        };
        let submission = Submission {
            event_id: follow_up_firing_id(id, state.due_at),
            event,
            occurred_at: Some(firing_time(state.due_at, now)),
            correlation_id: None,
            causation_id: None,
        };
        let expected = ExpectedVersion::Exact(state.version);
        let submitted = self
            .engine
            .submit(
                &Actor::engine(),
                id,
                expected,
                std::slice::from_ref(&submission),
                &Trusted,
            )
            .await;
        match submitted {
            Ok(outcome) => {
                metrics::counter!("complaintflow_follow_ups_missed_total").increment(1);
                info!(follow_up = %id, due_at = %state.due_at, replayed = outcome.replayed, "follow-up call missed");
                Ok(1)
            }
            // Moved on between reading and appending, or fired already: the next pass
            // sees the newer state.
            Err(EngineError::Store(
                StoreError::WrongExpectedVersion { .. } | StoreError::IdempotencyConflict { .. },
            )) => Ok(0),
            Err(EngineError::FollowUpRule { violation, .. }) => {
                warn!(follow_up = %id, rule = violation.code(), "follow-up timer event refused by the rules");
                Ok(0)
            }
            Err(err) => Err(err),
        }
    }
}
