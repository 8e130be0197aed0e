//! Escalation, the emergency flow, and the events the timers append.

use super::{CheckContext, RuleViolation};
use crate::actor::Role;
use crate::deadlines::{
    Deadline, DeadlineKey, DeadlineKind, open_deadlines, progress_periods_missed,
};
use crate::events::{EngineerDispatched, Escalated, ProgressReportDue};
use crate::policy::Policy;
use crate::state::ComplaintState;
use crate::vocabulary::EscalationReason;

/// Escalations go up the ladder from where the case is. "Deadline missed" is a fact
/// the engine's timers establish: a person escalating gives another reason, so that
/// the escalation rate for missed deadlines counts only real misses.
pub(super) fn check_escalation(
    state: &ComplaintState,
    escalation: &Escalated,
    ctx: &CheckContext,
    policy: &Policy,
) -> Result<(), RuleViolation> {
    if escalation.reason == EscalationReason::DeadlineMissed && ctx.actor.role != Role::Engine {
        return Err(RuleViolation::DeadlineMissedIsTheEngines);
    }
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

/// A progress report falls due once for all the periods missed since its due time; it
/// cannot claim more of them than have gone by.
pub(super) fn check_progress_report_due(
    state: &ComplaintState,
    due: &ProgressReportDue,
    ctx: &CheckContext,
    policy: &Policy,
) -> Result<(), RuleViolation> {
    let deadline = check_deadline_event(
        state,
        &due.deadline,
        TimerEvent::ProgressReportDue,
        ctx,
        policy,
    )?;
    let at_most = progress_periods_missed(policy, deadline.due_at, ctx.now);
    let since_fits = due
        .overdue_since
        .is_none_or(|since| since == deadline.due_at);
    if due.missed_periods == 0 || due.missed_periods > at_most || !since_fits {
        return Err(RuleViolation::ProgressReportDueMisstated {
            key: due.deadline,
            claimed: due.missed_periods,
            at_most,
        });
    }
    Ok(())
}

/// A timer event is valid only for a deadline that is open now and whose
/// warning (or due time) has been reached by the engine's clock.
pub(super) fn check_deadline_event(
    state: &ComplaintState,
    key: &DeadlineKey,
    timer: TimerEvent,
    ctx: &CheckContext,
    policy: &Policy,
) -> Result<Deadline, RuleViolation> {
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
        Some(at) if at <= ctx.now => Ok(deadline),
        _ => Err(RuleViolation::DeadlineNotDue {
            key: *key,
            at: ctx.now,
        }),
    }
}
