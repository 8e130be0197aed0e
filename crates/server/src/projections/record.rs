//! What the projections keep per complaint, and the index and timer entries it implies.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::keys::{self, Index};
use complaintflow_domain::values::ComplaintId;
use complaintflow_domain::{
    ComplaintState, Deadline, DueStage, Policy, TrackedDeadline, tracked_deadlines,
};

/// A complaint's current state with its deadlines worked out under the policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ComplaintRecord {
    pub state: ComplaintState,
    pub deadlines: Vec<TrackedDeadline>,
}

/// One moment the scheduler must act at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimerMoment {
    pub at: Timestamp,
    pub deadline: Deadline,
    pub stage: DueStage,
}

/// A timer as the scheduler reads it from the index.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScheduledTimer {
    pub complaint: ComplaintId,
    pub moment: TimerMoment,
}

impl ComplaintRecord {
    pub fn new(state: ComplaintState, policy: &Policy) -> Self {
        let deadlines = tracked_deadlines(&state, policy);
        Self { state, deadlines }
    }

    pub fn is_overdue(&self) -> bool {
        self.deadlines.iter().any(TrackedDeadline::is_overdue)
    }

    pub fn is_at_risk(&self) -> bool {
        self.deadlines.iter().any(TrackedDeadline::is_at_risk)
    }

    /// Every index entry this record is listed under.
    pub(crate) fn index_keys(&self) -> Vec<Vec<u8>> {
        let state = &self.state;
        let (id, filed) = (&state.id, state.filed.at);
        let mut keys = vec![
            keys::index_key(Index::All, "", filed, id),
            keys::index_key(Index::Dealer, state.dealer.as_str(), filed, id),
            keys::index_key(Index::Region, state.region.as_str(), filed, id),
            keys::index_key(Index::Status, state.status.as_str(), filed, id),
            keys::index_key(Index::Severity, state.severity.as_str(), filed, id),
        ];
        keys.extend(
            state
                .categories
                .iter()
                .map(|category| keys::index_key(Index::Category, category.as_str(), filed, id)),
        );
        if self.is_overdue() {
            keys.push(keys::index_key(Index::Overdue, "", filed, id));
        }
        if self.is_at_risk() {
            keys.push(keys::index_key(Index::AtRisk, "", filed, id));
        }
        keys
    }

    /// The moments the scheduler must act at: each unfired deadline's warning (if one
    /// is still to come) and its due moment.
    pub fn timer_moments(&self) -> Vec<TimerMoment> {
        let mut moments = Vec::new();
        for tracked in self.deadlines.iter().filter(|t| !t.fired) {
            let deadline = tracked.deadline;
            if let Some(warn_at) = deadline.warn_at.filter(|_| !tracked.warned) {
                moments.push(TimerMoment {
                    at: warn_at,
                    deadline,
                    stage: DueStage::Warning,
                });
            }
            moments.push(TimerMoment {
                at: deadline.due_at,
                deadline,
                stage: DueStage::Due,
            });
        }
        moments
    }

    /// The moment the scheduler meets first: the earliest in the timer index's order.
    pub fn next_timer(&self) -> Option<TimerMoment> {
        self.timer_keys()
            .into_iter()
            .min_by(|(a, _), (b, _)| a.cmp(b))
            .map(|(_, moment)| moment)
    }

    pub fn timer_keys(&self) -> Vec<(Vec<u8>, TimerMoment)> {
        self.timer_moments()
            .into_iter()
            .map(|m| {
                let key = keys::timer_key(m.at, &self.state.id, &m.deadline.key, m.stage);
                (key, m)
            })
            .collect()
    }
}
