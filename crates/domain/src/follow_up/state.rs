//! A follow-up's state, folded from its events, and its one deadline.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::events::{DeadlineMissed, FollowUpEvent, Occasion, Opened};
use crate::EventMeta;
use crate::values::{ComplaintId, FollowUpId, SatisfactionScore};
use crate::{CalendarError, Policy};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum FollowUpStatus {
    /// Waiting for the call (some calls may have gone unanswered).
    Open,
    /// The customer answered; nothing decided yet.
    Answered,
    /// The unhappy answer became a complaint.
    BecameComplaint,
    Closed,
}

impl FollowUpStatus {
    pub const ALL: &'static [FollowUpStatus] = &[
        FollowUpStatus::Open,
        FollowUpStatus::Answered,
        FollowUpStatus::BecameComplaint,
        FollowUpStatus::Closed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            FollowUpStatus::Open => "open",
            FollowUpStatus::Answered => "answered",
            FollowUpStatus::BecameComplaint => "became_complaint",
            FollowUpStatus::Closed => "closed",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FollowUpState {
    pub opened: Opened,
    pub status: FollowUpStatus,
    pub version: u64,
    /// When the call is due (the policy's business days after the delivery).
    pub due_at: Timestamp,
    pub unanswered_calls: u8,
    /// When the customer answered, and how satisfied.
    pub answered: Option<(Timestamp, SatisfactionScore)>,
    /// The answer named something wrong.
    pub concern: bool,
    /// The engine recorded the deadline as missed.
    pub missed: bool,
    pub complaint: Option<ComplaintId>,
}

impl FollowUpState {
    pub fn id(&self) -> &FollowUpId {
        &self.opened.follow_up_id
    }

    pub fn occasion(&self) -> Occasion {
        self.opened.occasion
    }

    /// Nothing more will happen to it.
    pub fn is_finished(&self) -> bool {
        matches!(
            self.status,
            FollowUpStatus::BecameComplaint | FollowUpStatus::Closed
        )
    }

    /// The customer is unhappy: a low score or a concern named.
    pub(crate) fn is_unhappy(&self, policy: &Policy) -> bool {
        self.concern
            || self
                .answered
                .is_some_and(|(_, score)| score.get() < policy.min_score_to_close())
    }

    /// The call is still owed and its deadline ahead or passed: when the engine should
    /// look at it. `None` once answered, finished or already recorded as missed.
    pub fn pending_deadline(&self) -> Option<Timestamp> {
        (self.answered.is_none() && !self.is_finished() && !self.missed).then_some(self.due_at)
    }

    /// Whether the call was made in time: `Some(true)` answered by the due moment,
    /// `Some(false)` answered late or recorded missed, `None` still open in time.
    pub(crate) fn met_deadline(&self) -> Option<bool> {
        match self.answered {
            Some((at, _)) => Some(at <= self.due_at && !self.missed),
            None if self.missed => Some(false),
            None => None,
        }
    }
}

/// When the follow-up call of a delivery at `delivered_at` in `region` is due.
pub fn due_at(opened: &Opened, policy: &Policy) -> Result<Timestamp, CalendarError> {
    let calendar = policy.calendar(&opened.region);
    let days = policy.document().quality_follow_up.business_days;
    let amount = calendar.working_day_length() * i32::try_from(days).unwrap_or(i32::MAX);
    calendar.add_business_duration(opened.delivered_at, amount)
}

/// Folds one event into the state. Events reach `apply` only after `check` accepted
/// them (or from the log, where they were accepted once), so it never refuses.
pub fn apply(
    state: &mut Option<FollowUpState>,
    event: &FollowUpEvent,
    meta: &EventMeta,
    policy: &Policy,
) {
    if let FollowUpEvent::Opened(opened) = event {
        // A delivery beyond anything the calendar can count is due at once: the
        // follow-up is owed, and the engine says so instead of losing it.
        let due = due_at(opened, policy).unwrap_or(opened.delivered_at);
        *state = Some(FollowUpState {
            opened: opened.clone(),
            status: FollowUpStatus::Open,
            version: meta.version,
            due_at: due,
            unanswered_calls: 0,
            answered: None,
            concern: false,
            missed: false,
            complaint: None,
        });
        return;
    }
    let Some(state) = state else { return };
    state.version = meta.version;
    match event {
        FollowUpEvent::Opened(_) => {}
        FollowUpEvent::CallUnanswered(_) => {
            state.unanswered_calls = state.unanswered_calls.saturating_add(1);
        }
        FollowUpEvent::Answered(answered) => {
            state.answered = Some((meta.occurred_at, answered.score));
            state.concern = answered.concern.is_some();
            state.status = FollowUpStatus::Answered;
        }
        FollowUpEvent::BecameComplaint(became) => {
            state.complaint = Some(became.complaint_id.clone());
            state.status = FollowUpStatus::BecameComplaint;
        }
        FollowUpEvent::Closed(_) => state.status = FollowUpStatus::Closed,
        FollowUpEvent::DeadlineMissed(_) => state.missed = true,
    }
}

/// A follow-up's state from its whole stream.
pub fn replay<'a>(
    events: impl IntoIterator<Item = (&'a FollowUpEvent, &'a EventMeta)>,
    policy: &Policy,
) -> Option<FollowUpState> {
    let mut state = None;
    for (event, meta) in events {
        apply(&mut state, event, meta, policy);
    }
    state
}

/// What the timer appends when the follow-up's deadline has come at `now`: the miss,
/// once, dated at the due moment. Nothing while the call is still owed in time, or once
/// it was made.
pub fn on_deadline_due(state: &FollowUpState, now: Timestamp) -> Option<FollowUpEvent> {
    let due = state.pending_deadline()?;
    (now >= due).then(|| DeadlineMissed { due_at: due }.into())
}
