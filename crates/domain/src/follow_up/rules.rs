//! The rules a follow-up event must pass before it is stored. Each refusal is one
//! variant with a stable machine code, as for complaints.

use jiff::Timestamp;

use super::events::FollowUpEvent;
use super::state::{FollowUpState, FollowUpStatus};
use crate::ComplaintState;
use crate::values::{ComplaintId, FollowUpId};
use crate::{Actor, Policy, Role};

/// What a check needs besides the state and the event.
#[derive(Debug, Clone)]
pub struct FollowUpContext {
    /// The stream the event is for.
    pub follow_up_id: FollowUpId,
    pub actor: Actor,
    pub occurred_at: Timestamp,
    pub now: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FollowUpViolation {
    #[error("the follow-up has not been opened yet")]
    NotOpened,
    #[error("the follow-up has already been opened")]
    AlreadyOpened,
    #[error("the opening is for follow-up {got}, but the stream is {expected}")]
    IdMismatch {
        expected: FollowUpId,
        got: FollowUpId,
    },
    #[error("the event is dated {occurred_at}, after the current time {now}")]
    OccurredInFuture {
        occurred_at: Timestamp,
        now: Timestamp,
    },
    #[error("the car is said to be delivered at {delivered_at}, after the follow-up was opened")]
    DeliveredInFuture { delivered_at: Timestamp },
    #[error("the call at {occurred_at} is before the car was delivered at {delivered_at}")]
    CallBeforeDelivery {
        occurred_at: Timestamp,
        delivered_at: Timestamp,
    },
    #[error("only the engine's timers may append {event_type}")]
    EngineOnlyEvent { event_type: &'static str },
    #[error("the engine may not append {event_type}")]
    NotAnEngineEvent { event_type: &'static str },
    #[error("the follow-up is {status}; it takes no more events")]
    Finished { status: &'static str },
    #[error("the customer already answered the follow-up call")]
    AlreadyAnswered,
    #[error("only an unhappy answer (a score below {min_score} or a concern) becomes a complaint")]
    ComplaintNeedsUnhappyAnswer { min_score: u8 },
    #[error(
        "a follow-up closes once the customer answered or after {required} unanswered calls ({actual} so far)"
    )]
    CloseNeedsAnswerOrAttempts { required: u8, actual: u8 },
    #[error("the follow-up call is due at {due_at}: not missed yet")]
    NotYetDue { due_at: Timestamp },
    #[error("the follow-up call was made or already recorded as missed")]
    NothingMissed,
    #[error("complaint {0} does not exist")]
    ComplaintUnknown(ComplaintId),
    #[error("complaint {complaint} is about another dealer's customer or another car")]
    ComplaintNotAboutThisDelivery { complaint: ComplaintId },
}

impl FollowUpViolation {
    /// The stable machine code of the rule (clients switch on it).
    pub fn code(&self) -> &'static str {
        use FollowUpViolation as V;
        match self {
            V::NotOpened => "follow_up_not_opened",
            V::AlreadyOpened => "follow_up_already_opened",
            V::IdMismatch { .. } => "follow_up_id_mismatch",
            V::OccurredInFuture { .. } => "occurred_in_future",
            V::DeliveredInFuture { .. } => "follow_up_delivered_in_future",
            V::CallBeforeDelivery { .. } => "follow_up_call_before_delivery",
            V::EngineOnlyEvent { .. } => "engine_only_event",
            V::NotAnEngineEvent { .. } => "not_an_engine_event",
            V::Finished { .. } => "follow_up_finished",
            V::AlreadyAnswered => "follow_up_already_answered",
            V::ComplaintNeedsUnhappyAnswer { .. } => "follow_up_complaint_needs_unhappy_answer",
            V::CloseNeedsAnswerOrAttempts { .. } => "follow_up_close_needs_answer_or_attempts",
            V::NotYetDue { .. } => "follow_up_not_yet_due",
            V::NothingMissed => "follow_up_nothing_missed",
            V::ComplaintUnknown(_) => "follow_up_complaint_unknown",
            V::ComplaintNotAboutThisDelivery { .. } => {
                "follow_up_complaint_not_about_this_delivery"
            }
        }
    }
}

/// Judges `event` against the follow-up's state (`None`: not opened yet).
pub fn check(
    state: Option<&FollowUpState>,
    event: &FollowUpEvent,
    context: &FollowUpContext,
    policy: &Policy,
) -> Result<(), FollowUpViolation> {
    use FollowUpViolation as V;
    let engine = context.actor.role == Role::Engine;
    if event.is_engine_only() && !engine {
        return Err(V::EngineOnlyEvent {
            event_type: event.event_type(),
        });
    }
    if !event.is_engine_only() && engine {
        return Err(V::NotAnEngineEvent {
            event_type: event.event_type(),
        });
    }
    if context.occurred_at > context.now {
        return Err(V::OccurredInFuture {
            occurred_at: context.occurred_at,
            now: context.now,
        });
    }
    let state = match (state, event) {
        (None, FollowUpEvent::Opened(opened)) => {
            if opened.follow_up_id != context.follow_up_id {
                return Err(V::IdMismatch {
                    expected: context.follow_up_id.clone(),
                    got: opened.follow_up_id.clone(),
                });
            }
            if opened.delivered_at > context.occurred_at {
                return Err(V::DeliveredInFuture {
                    delivered_at: opened.delivered_at,
                });
            }
            return Ok(());
        }
        (None, _) => return Err(V::NotOpened),
        (Some(_), FollowUpEvent::Opened(_)) => return Err(V::AlreadyOpened),
        (Some(state), _) => state,
    };
    if state.is_finished() {
        return Err(V::Finished {
            status: state.status.as_str(),
        });
    }
    if context.occurred_at < state.opened.delivered_at {
        return Err(V::CallBeforeDelivery {
            occurred_at: context.occurred_at,
            delivered_at: state.opened.delivered_at,
        });
    }
    match event {
        FollowUpEvent::Opened(_) => Err(V::AlreadyOpened),
        FollowUpEvent::CallUnanswered(_) | FollowUpEvent::Answered(_) => match state.status {
            FollowUpStatus::Open => Ok(()),
            _ => Err(V::AlreadyAnswered),
        },
        FollowUpEvent::BecameComplaint(_) => {
            if state.is_unhappy(policy) {
                Ok(())
            } else {
                Err(V::ComplaintNeedsUnhappyAnswer {
                    min_score: policy.min_score_to_close(),
                })
            }
        }
        FollowUpEvent::Closed(_) => {
            let required = policy.callbacks().max_failed_attempts;
            if state.answered.is_some() || state.unanswered_calls >= required {
                Ok(())
            } else {
                Err(V::CloseNeedsAnswerOrAttempts {
                    required,
                    actual: state.unanswered_calls,
                })
            }
        }
        FollowUpEvent::DeadlineMissed(_) => match state.pending_deadline() {
            None => Err(V::NothingMissed),
            Some(due_at) if context.now < due_at => Err(V::NotYetDue { due_at }),
            Some(_) => Ok(()),
        },
    }
}

/// The complaint a follow-up becomes must exist for the caller (`complaint` is `None`
/// when it does not, or the caller may not see it: the same answer) and be about this
/// delivery: the same dealer and the same car.
pub fn check_complaint_link(
    state: &FollowUpState,
    target: &ComplaintId,
    complaint: Option<&ComplaintState>,
) -> Result<(), FollowUpViolation> {
    let Some(complaint) = complaint else {
        return Err(FollowUpViolation::ComplaintUnknown(target.clone()));
    };
    let same_delivery = complaint.dealer == state.opened.dealer
        && complaint.vehicle.vin == state.opened.vehicle.vin;
    if same_delivery {
        Ok(())
    } else {
        Err(FollowUpViolation::ComplaintNotAboutThisDelivery {
            complaint: target.clone(),
        })
    }
}
