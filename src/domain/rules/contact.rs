//! Reporting to the CAC and calling the customer.

use super::{CheckContext, RuleViolation};
use crate::domain::events::{ContactAttempted, CustomerUnreachable};
use crate::domain::policy::Policy;
use crate::domain::state::ComplaintState;

pub(super) fn check_report_to_cac(
    state: &ComplaintState,
    policy: &Policy,
) -> Result<(), RuleViolation> {
    if state.cac_informed_this_round(policy) {
        return Err(RuleViolation::AlreadyReportedToCac);
    }
    Ok(())
}

/// Unanswered calls must be spread out: a minimum gap, and (by policy) a
/// different time of day each, so that "unreachable" means something.
pub(super) fn check_attempt(
    state: &ComplaintState,
    attempt: &ContactAttempted,
    ctx: &CheckContext,
    policy: &Policy,
) -> Result<(), RuleViolation> {
    if state.contacts.unreachable.is_some() {
        return Err(RuleViolation::CustomerUnreachable);
    }
    let Some(slot) = policy.day_slot(&state.region, ctx.occurred_at) else {
        return Err(RuleViolation::OutsideCallingHours {
            at: ctx.occurred_at,
        });
    };
    if attempt.answered {
        return Ok(());
    }
    let streak = &state.contacts.failed_streak;
    if let Some(last) = streak.last()
        && ctx.occurred_at
            < last
                .at
                .checked_add(policy.min_callback_gap())
                .unwrap_or(jiff::Timestamp::MAX)
    {
        return Err(RuleViolation::CallbackTooSoon {
            min_gap_minutes: policy.callbacks().min_gap_minutes,
        });
    }
    let slot_used = streak
        .iter()
        .any(|failed| policy.day_slot(&state.region, failed.at) == Some(slot));
    if policy.callbacks().distinct_slots && slot_used {
        return Err(RuleViolation::CallbackNeedsOtherTimeOfDay { slot });
    }
    Ok(())
}

pub(super) fn check_unreachable(
    state: &ComplaintState,
    _event: &CustomerUnreachable,
    policy: &Policy,
) -> Result<(), RuleViolation> {
    if state.contacts.unreachable.is_some() {
        return Err(RuleViolation::CustomerUnreachable);
    }
    let required = policy.callbacks().max_failed_attempts;
    let actual = state.contacts.failed_streak.len();
    if actual < usize::from(required) {
        return Err(RuleViolation::UnreachableNeedsFailedAttempts { required, actual });
    }
    Ok(())
}
