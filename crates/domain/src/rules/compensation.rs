//! Compensation: requested, then approved or rejected by someone who holds
//! the level they claim, within that level's authority, with the customer's
//! signature.

use super::{CheckContext, RuleViolation};
use crate::events::{CompensationApproved, CompensationRejected, CompensationRequested};
use crate::policy::Policy;
use crate::state::{CompensationDecision, CompensationRecord, ComplaintState};
use crate::values::CompensationId;
use crate::vocabulary::Level;

pub(super) fn check_request(
    state: &ComplaintState,
    request: &CompensationRequested,
) -> Result<(), RuleViolation> {
    match state.compensation(&request.compensation_id) {
        Some(_) => Err(RuleViolation::DuplicateCompensationId(
            request.compensation_id.clone(),
        )),
        None => Ok(()),
    }
}

/// The pending request a decision is about, decided by someone at `level`.
fn pending_request<'s>(
    state: &'s ComplaintState,
    id: &CompensationId,
    level: Level,
    ctx: &CheckContext,
) -> Result<&'s CompensationRecord, RuleViolation> {
    let Some(record) = state.compensation(id) else {
        return Err(RuleViolation::CompensationNotRequested(id.clone()));
    };
    if record.decision != CompensationDecision::Pending {
        return Err(RuleViolation::CompensationAlreadyDecided(id.clone()));
    }
    if ctx.actor.role.level() != Some(level) {
        return Err(RuleViolation::ApproverLacksLevel { claimed: level });
    }
    Ok(record)
}

pub(super) fn check_approval(
    state: &ComplaintState,
    approval: &CompensationApproved,
    ctx: &CheckContext,
    policy: &Policy,
) -> Result<(), RuleViolation> {
    let record = pending_request(state, &approval.compensation_id, approval.level, ctx)?;
    if approval.amount > record.requested {
        return Err(RuleViolation::ApprovalExceedsRequest {
            approved: approval.amount,
            requested: record.requested,
        });
    }
    if !policy.may_approve(approval.level, record.kind, approval.amount) {
        return Err(RuleViolation::CompensationBeyondAuthority {
            level: approval.level,
            kind: record.kind,
            amount: approval.amount.fen(),
        });
    }
    if approval.customer_signature.is_none() {
        return Err(RuleViolation::CompensationRequiresSignature);
    }
    Ok(())
}

pub(super) fn check_rejection(
    state: &ComplaintState,
    rejection: &CompensationRejected,
    ctx: &CheckContext,
) -> Result<(), RuleViolation> {
    pending_request(state, &rejection.compensation_id, rejection.level, ctx).map(|_| ())
}
