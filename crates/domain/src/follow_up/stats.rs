//! The follow-ups' own statistics: how many were due, made in time or late, answered
//! satisfied or unhappy, and how many became complaints.

use std::collections::BTreeMap;

use super::state::{FollowUpState, FollowUpStatus};
use crate::Policy;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FollowUpStatistics {
    pub follow_ups: u64,
    /// Per occasion (`sale`, `repair`).
    pub by_occasion: BTreeMap<&'static str, u64>,
    /// Calls answered by the due moment.
    pub deadline_met: u64,
    /// Calls answered late, or recorded missed by the engine.
    pub deadline_missed: u64,
    pub answered: u64,
    pub unhappy: u64,
    pub became_complaints: u64,
    pub closed_without_complaint: u64,
    pub satisfaction_sum: u64,
}

impl FollowUpStatistics {
    /// Counts one follow-up as it stands.
    pub fn add(&mut self, state: &FollowUpState, policy: &Policy) {
        self.follow_ups += 1;
        *self
            .by_occasion
            .entry(state.occasion().as_str())
            .or_default() += 1;
        match state.met_deadline() {
            Some(true) => self.deadline_met += 1,
            Some(false) => self.deadline_missed += 1,
            None => {}
        }
        if let Some((_, score)) = state.answered {
            self.answered += 1;
            self.satisfaction_sum += u64::from(score.get());
        }
        if state.answered.is_some() && state.is_unhappy(policy) {
            self.unhappy += 1;
        }
        match state.status {
            FollowUpStatus::BecameComplaint => self.became_complaints += 1,
            FollowUpStatus::Closed => self.closed_without_complaint += 1,
            FollowUpStatus::Open | FollowUpStatus::Answered => {}
        }
    }

    pub fn average_satisfaction(&self) -> f64 {
        match self.answered {
            0 => 0.0,
            n => self.satisfaction_sum as f64 / n as f64,
        }
    }
}
