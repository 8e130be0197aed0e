//! Escalation, the emergency flow, and the events the timers append.

use super::{CheckContext, RuleViolation};
use crate::domain::deadlines::{DeadlineKey, DeadlineKind, open_deadlines};
use crate::domain::events::{EngineerDispatched, Escalated};
use crate::domain::policy::Policy;
use crate::domain::state::ComplaintState;

pub(super) fn check_escalation(
    state: &ComplaintState,
    escalation: &Escalated,
    policy: &Policy,
) -> Result<(), RuleViolation> {
    if escalation.from != state.level {
        return Err(RuleViolation::EscalationFromMismatch {
            current: state.level,
            claimed: escalation.from,
        });
    }
    let goes_up = matches!(
        (policy.rung(escalation.from), policy.rung(escalation.to)),
        (Some(from), Some(to)) if to > from
    );
    if !goes_up {
        return Err(RuleViolation::EscalationMustGoUp {
            from: escalation.from,
            to: escalation.to,
        });
    }
    Ok(())
}

pub(super) fn check_dispatch(
    dispatch: &EngineerDispatched,
    ctx: &CheckContext,
) -> Result<(), RuleViolation> {
    if dispatch.expected_arrival < ctx.occurred_at {
        return Err(RuleViolation::ArrivalBeforeDispatch {
            arrival: dispatch.expected_arrival,
        });
    }
    Ok(())
}

pub(super) fn check_appraisal(state: &ComplaintState) -> Result<(), RuleViolation> {
    match state.engineer {
        Some(_) => Ok(()),
        None => Err(RuleViolation::AppraisalRequiresEngineer),
    }
}

/// Which timer event is being checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum TimerEvent {
    Warning,
    Missed,
    CallbackDue,
    ProgressReportDue,
}

impl TimerEvent {
    /// Call-backs and progress reports have their own due events; every
    /// other clock reports a miss. Unreachable customers are marked with
    /// `CustomerUnreachable`, checked by the contact rules.
    fn fits(self, kind: DeadlineKind) -> bool {
        match (self, kind) {
            (TimerEvent::Warning, _) => true,
            (TimerEvent::CallbackDue, DeadlineKind::CallbackRetry) => true,
            (TimerEvent::ProgressReportDue, DeadlineKind::ProgressReport) => true,
            (
                TimerEvent::Missed,
                DeadlineKind::CallbackRetry
                | DeadlineKind::ProgressReport
                | DeadlineKind::MarkUnreachable,
            ) => false,
            (TimerEvent::Missed, _) => true,
            _ => false,
        }
    }
}

/// A timer event is valid only for a deadline that is open now and whose
/// warning (or due time) has been reached by the engine's clock.
pub(super) fn check_deadline_event(
    state: &ComplaintState,
    key: &DeadlineKey,
    timer: TimerEvent,
    ctx: &CheckContext,
    policy: &Policy,
) -> Result<(), RuleViolation> {
    let Some(deadline) = open_deadlines(state, policy)
        .into_iter()
        .find(|deadline| deadline.key == *key && timer.fits(key.kind))
    else {
        return Err(RuleViolation::DeadlineNotOpen(*key));
    };
    let fires_at = match timer {
        TimerEvent::Warning => deadline.warn_at,
        _ => Some(deadline.due_at),
    };
    match fires_at {
        Some(at) if at <= ctx.now => Ok(()),
        _ => Err(RuleViolation::DeadlineNotDue {
            key: *key,
            at: ctx.now,
        }),
    }
}
