//! The plan and its execution: options, promises, work, resolution,
//! follow-up, closing, reopening, pauses and corrective actions.

use super::{CheckContext, RuleViolation};
use crate::events::{PromiseDateChanged, SolutionProposed};
use crate::policy::Policy;
use crate::state::{ActionStatus, ComplaintState, Decision};
use crate::values::{ActionId, OptionId};

/// Changing the plan after the case is resolved needs a reopening first.
fn not_resolved(state: &ComplaintState) -> Result<(), RuleViolation> {
    match state.resolved {
        Some(_) => Err(RuleViolation::AlreadyResolved),
        None => Ok(()),
    }
}

fn not_agreed(state: &ComplaintState) -> Result<(), RuleViolation> {
    match state.accepted_option {
        Some(_) => Err(RuleViolation::SolutionAlreadyAgreed),
        None => Ok(()),
    }
}

pub(super) fn check_proposal(
    state: &ComplaintState,
    proposal: &SolutionProposed,
    ctx: &CheckContext,
) -> Result<(), RuleViolation> {
    not_resolved(state)?;
    not_agreed(state)?;
    if proposal.options.is_empty() {
        return Err(RuleViolation::SolutionNeedsOptions);
    }
    for (index, option) in proposal.options.iter().enumerate() {
        let repeated_in_proposal = proposal.options[..index]
            .iter()
            .any(|earlier| earlier.option_id == option.option_id);
        if repeated_in_proposal || state.option(&option.option_id).is_some() {
            return Err(RuleViolation::DuplicateOptionId(option.option_id.clone()));
        }
        if option.promised_by < ctx.occurred_at {
            return Err(RuleViolation::PromiseInPast {
                promised: option.promised_by,
            });
        }
    }
    Ok(())
}

/// Accepting or rejecting one proposed, still open option.
pub(super) fn check_decision(
    state: &ComplaintState,
    option_id: &OptionId,
) -> Result<(), RuleViolation> {
    not_resolved(state)?;
    not_agreed(state)?;
    match state.option(option_id) {
        None => Err(RuleViolation::OptionNotProposed(option_id.clone())),
        Some(record) if record.decision != Decision::Open => {
            Err(RuleViolation::OptionAlreadyDecided(option_id.clone()))
        }
        Some(_) => Ok(()),
    }
}

pub(super) fn check_promise_change(
    state: &ComplaintState,
    change: &PromiseDateChanged,
    ctx: &CheckContext,
) -> Result<(), RuleViolation> {
    not_resolved(state)?;
    let Some(promise) = &state.promise else {
        return Err(RuleViolation::NoPromiseToChange);
    };
    if change.new_date == promise.due {
        return Err(RuleViolation::PromiseDateUnchanged);
    }
    if change.new_date < ctx.occurred_at {
        return Err(RuleViolation::PromiseInPast {
            promised: change.new_date,
        });
    }
    Ok(())
}

pub(super) fn check_work(state: &ComplaintState) -> Result<(), RuleViolation> {
    not_resolved(state)?;
    match state.accepted_option {
        Some(_) => Ok(()),
        None => Err(RuleViolation::WorkRequiresAcceptedSolution),
    }
}

pub(super) fn check_resolve(state: &ComplaintState) -> Result<(), RuleViolation> {
    not_resolved(state)?;
    match state.accepted_option {
        Some(_) => Ok(()),
        None => Err(RuleViolation::ResolveRequiresAcceptedSolution),
    }
}

pub(super) fn check_follow_up(state: &ComplaintState) -> Result<(), RuleViolation> {
    if state.resolved.is_none() {
        return Err(RuleViolation::FollowUpRequiresResolution);
    }
    match state.satisfaction {
        Some(_) => Err(RuleViolation::AlreadyFollowedUp),
        None => Ok(()),
    }
}

/// Satisfied: close. Not satisfied: clarify, invite back, escalate, which
/// happens in a reopened round rather than on a closed case.
pub(super) fn check_close(state: &ComplaintState, policy: &Policy) -> Result<(), RuleViolation> {
    let followed_up = state.satisfaction.is_some() || state.contacts.unreachable.is_some();
    if state.resolved.is_none() || !followed_up {
        return Err(RuleViolation::CloseRequiresFollowUp);
    }
    let minimum = policy.min_score_to_close();
    match state.satisfaction {
        Some(satisfaction) if satisfaction.score.get() < minimum => {
            Err(RuleViolation::CloseRequiresSatisfiedCustomer {
                score: satisfaction.score.get(),
                minimum,
            })
        }
        _ => Ok(()),
    }
}

pub(super) fn check_reopen(state: &ComplaintState) -> Result<(), RuleViolation> {
    match state.resolved {
        Some(_) => Ok(()),
        None => Err(RuleViolation::ReopenRequiresResolution),
    }
}

pub(super) fn check_pause(state: &ComplaintState) -> Result<(), RuleViolation> {
    if state.is_paused() {
        Err(RuleViolation::AlreadyPaused)
    } else {
        Ok(())
    }
}

pub(super) fn check_resume(state: &ComplaintState) -> Result<(), RuleViolation> {
    if state.is_paused() {
        Ok(())
    } else {
        Err(RuleViolation::ResumeRequiresPause)
    }
}

pub(super) fn check_action_assigned(
    state: &ComplaintState,
    action_id: &ActionId,
) -> Result<(), RuleViolation> {
    match state.corrective_action(action_id) {
        Some(_) => Err(RuleViolation::DuplicateCorrectiveAction(action_id.clone())),
        None => Ok(()),
    }
}

/// Done follows assigned; verified follows done.
pub(super) fn check_action_step(
    state: &ComplaintState,
    action_id: &ActionId,
    verifying: bool,
) -> Result<(), RuleViolation> {
    let Some(action) = state.corrective_action(action_id) else {
        return Err(RuleViolation::CorrectiveActionUnknown(action_id.clone()));
    };
    let expected = if verifying {
        ActionStatus::Done
    } else {
        ActionStatus::Assigned
    };
    if action.status == expected {
        Ok(())
    } else {
        Err(RuleViolation::CorrectiveActionOutOfOrder(action_id.clone()))
    }
}
