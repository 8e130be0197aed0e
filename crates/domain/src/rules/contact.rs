//! Reporting to the CAC and calling the customer.

use super::{CheckContext, RuleViolation};
use crate::events::{ContactAttempted, CustomerUnreachable};
use crate::policy::Policy;
use crate::state::ComplaintState;
use crate::vocabulary::ContactPurpose;

pub(super) fn check_report_to_cac(
    state: &ComplaintState,
    policy: &Policy,
) -> Result<(), RuleViolation> {
    if state.cac_informed_this_round(policy) {
        return Err(RuleViolation::AlreadyReportedToCac);
    }
    Ok(())
}

/// Calls keep to calling hours, except those of the emergency flow, which runs day or
/// night (seed 002 六). The satisfaction call-back comes after handling (三 "处理后三天内
/// 电访"); its unanswered tries must be spread out: a minimum gap, and (by policy) a
/// different time of day each, so that "unreachable" means something. Calls before
/// handling gather information or report progress and count toward none of that.
pub(super) fn check_attempt(
    state: &ComplaintState,
    attempt: &ContactAttempted,
    ctx: &CheckContext,
    policy: &Policy,
) -> Result<(), RuleViolation> {
    if state.contacts.unreachable.is_some() {
        return Err(RuleViolation::CustomerUnreachable);
    }
    let satisfaction_callback = attempt.purpose == ContactPurpose::SatisfactionCallback;
    let slot = policy.day_slot(&state.region, ctx.occurred_at);
    let emergency_call = state.emergency.is_some() && !satisfaction_callback;
    if slot.is_none() && !emergency_call {
        return Err(RuleViolation::OutsideCallingHours {
            at: ctx.occurred_at,
        });
    }
    if !satisfaction_callback {
        return Ok(());
    }
    if state.resolved.is_none() {
        return Err(RuleViolation::CallbackRequiresResolution);
    }
    let Some(slot) = slot.filter(|_| !attempt.answered) else {
        return Ok(());
    };
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
