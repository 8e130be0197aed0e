//! Compensation: requested, then approved or rejected by someone who holds
//! the level they claim, within that level's authority, with the customer's
//! signature.

use super::{CheckContext, RuleViolation};
use crate::events::{CompensationApproved, CompensationRejected, CompensationRequested};
use crate::policy::Policy;
use crate::state::{CompensationDecision, CompensationRecord, ComplaintState};
use crate::values::CompensationId;
use crate::vocabulary::{Level, joint_approval_side};

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
    if record.kind.needs_joint_approval() {
        check_joint_part(record, approval)?;
    } else if !policy.may_approve(approval.level, record.kind, approval.amount) {
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

/// Vehicle return or replacement: one approval from the CAC and one from the region,
/// each side once, both for the same amount.
fn check_joint_part(
    record: &CompensationRecord,
    approval: &CompensationApproved,
) -> Result<(), RuleViolation> {
    let Some(side) = joint_approval_side(approval.level) else {
        return Err(RuleViolation::JointApprovalOutsideSides {
            kind: record.kind,
            level: approval.level,
        });
    };
    for (level, amount) in &record.approvals {
        if joint_approval_side(*level) == Some(side) {
            return Err(RuleViolation::JointApprovalSideAlreadyGiven {
                level: approval.level,
            });
        }
        if *amount != approval.amount {
            return Err(RuleViolation::JointApprovalAmountMismatch {
                earlier: *amount,
                now: approval.amount,
            });
        }
    }
    Ok(())
}
