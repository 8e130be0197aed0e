//! The business rules, checked before an event is stored. `apply` trusts
//! that whatever reaches it passed here.

mod compensation;
mod contact;
mod escalation;
mod plan;
mod records;
mod violation;

pub use violation::RuleViolation;

use escalation::TimerEvent;

use jiff::{SignedDuration, Timestamp};

use super::actor::{Actor, Role};
use super::events::{self, ComplaintEvent};
use super::policy::Policy;
use super::state::ComplaintState;
use super::values::ComplaintId;

/// How far ahead of the engine's clock an event may be dated (clock skew
/// between a dealer's DMS and the engine).
const FUTURE_TOLERANCE: SignedDuration = SignedDuration::from_mins(5);

/// What `check` needs besides the state and the event: who is asking, and when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckContext {
    /// The stream the event is for.
    pub complaint_id: ComplaintId,
    /// The authenticated caller (the engine for timer events).
    pub actor: Actor,
    /// When the event happened in the world; becomes `EventMeta::occurred_at`.
    pub occurred_at: Timestamp,
    /// The engine's current time.
    pub now: Timestamp,
}

/// Decides whether `event` may be appended to a complaint in `state`
/// (`None`: nothing filed yet).
pub fn check(
    state: Option<&ComplaintState>,
    event: &ComplaintEvent,
    ctx: &CheckContext,
    policy: &Policy,
) -> Result<(), RuleViolation> {
    check_actor(event, &ctx.actor)?;
    if ctx.occurred_at
        > ctx
            .now
            .checked_add(FUTURE_TOLERANCE)
            .unwrap_or(Timestamp::MAX)
    {
        return Err(RuleViolation::OccurredInFuture {
            occurred_at: ctx.occurred_at,
            now: ctx.now,
        });
    }
    let Some(state) = state else {
        return match event {
            ComplaintEvent::Filed(filed) => check_filing(filed, ctx, policy),
            _ => Err(RuleViolation::NotFiled),
        };
    };
    check_lifecycle(state, event, ctx)?;
    check_event(state, event, ctx, policy)
}

fn check_actor(event: &ComplaintEvent, actor: &Actor) -> Result<(), RuleViolation> {
    let event_type = event.event_type();
    let by_engine = actor.role == Role::Engine;
    if event.is_engine_only() && !by_engine {
        return Err(RuleViolation::EngineOnlyEvent { event_type });
    }
    // Besides its own events the engine marks customers unreachable and
    // escalates missed deadlines; everything else needs a person.
    let engine_may = event.is_engine_only()
        || matches!(
            event,
            ComplaintEvent::CustomerUnreachable(_) | ComplaintEvent::Escalated(_)
        );
    if by_engine && !engine_may {
        return Err(RuleViolation::NotAnEngineEvent { event_type });
    }
    Ok(())
}

fn check_filing(
    filed: &events::Filed,
    ctx: &CheckContext,
    policy: &Policy,
) -> Result<(), RuleViolation> {
    if filed.complaint_id != ctx.complaint_id {
        return Err(RuleViolation::ComplaintIdMismatch {
            expected: ctx.complaint_id.clone(),
            got: filed.complaint_id.clone(),
        });
    }
    if filed.categories.is_empty() {
        return Err(RuleViolation::CategoryRequired);
    }
    let mut categories = filed.categories.clone();
    categories.sort();
    categories.dedup();
    if categories.len() != filed.categories.len() {
        return Err(RuleViolation::DuplicateCategory);
    }
    if let Some(emergency) = filed.emergency {
        let minimum = policy.emergency_minimum(Some(emergency));
        if filed.severity < minimum {
            return Err(RuleViolation::EmergencySeverityTooLow {
                emergency,
                severity: filed.severity,
                minimum,
            });
        }
    }
    if let Some(happened_at) = filed.happened_at
        && happened_at > ctx.occurred_at
    {
        return Err(RuleViolation::HappenedAfterFiling { happened_at });
    }
    Ok(())
}

/// The complaint an event names besides its own (the target of a merge), if any.
pub fn referenced_complaint(event: &ComplaintEvent) -> Option<&ComplaintId> {
    match event {
        ComplaintEvent::MergedInto(merged) => Some(&merged.target),
        _ => None,
    }
}

/// Rules about the complaint an event names, as the caller may see it (`None`: it does
/// not exist, or not for this caller: the same answer, so that it tells nothing). A
/// merge needs a target that carries on, not one merged away itself; a closed target
/// still carries the case (it can be reopened).
pub fn check_reference(
    target_id: &ComplaintId,
    target: Option<&ComplaintState>,
) -> Result<(), RuleViolation> {
    match target {
        None => Err(RuleViolation::MergeTargetUnknown {
            target: target_id.clone(),
        }),
        Some(target) if target.merged_into.is_some() => Err(RuleViolation::MergeTargetNotLive {
            target: target_id.clone(),
        }),
        Some(_) => Ok(()),
    }
}

/// Rules about where the case is in its life, common to all events.
fn check_lifecycle(
    state: &ComplaintState,
    event: &ComplaintEvent,
    ctx: &CheckContext,
) -> Result<(), RuleViolation> {
    if let Some(target) = &state.merged_into {
        return Err(RuleViolation::ComplaintMerged {
            target: target.clone(),
        });
    }
    if matches!(event, ComplaintEvent::Filed(_)) {
        return Err(RuleViolation::AlreadyFiled);
    }
    if ctx.occurred_at < state.filed.at {
        return Err(RuleViolation::OccurredBeforeFiling {
            occurred_at: ctx.occurred_at,
            filed_at: state.filed.at,
        });
    }
    let allowed_when_closed =
        event.is_record_keeping() || matches!(event, ComplaintEvent::Reopened(_));
    if state.closed.is_some() && !allowed_when_closed {
        return Err(RuleViolation::ComplaintClosed);
    }
    Ok(())
}

fn check_event(
    state: &ComplaintState,
    event: &ComplaintEvent,
    ctx: &CheckContext,
    policy: &Policy,
) -> Result<(), RuleViolation> {
    use ComplaintEvent as E;
    match event {
        E::Filed(_) => Err(RuleViolation::AlreadyFiled),
        E::ReportedToCac(_) => contact::check_report_to_cac(state, policy),
        E::ContactAttempted(p) => contact::check_attempt(state, p, ctx, policy),
        E::CustomerUnreachable(p) => contact::check_unreachable(state, p, policy),
        E::SolutionProposed(p) => plan::check_proposal(state, p, ctx),
        E::OptionAccepted(p) => plan::check_decision(state, &p.option_id),
        E::OptionRejected(p) => plan::check_decision(state, &p.option_id),
        E::PromiseDateChanged(p) => plan::check_promise_change(state, p, ctx),
        E::WorkCarriedOut(_) => plan::check_work(state),
        E::Resolved(_) => plan::check_resolve(state),
        E::SatisfactionRecorded(_) => plan::check_follow_up(state),
        E::Closed(_) => plan::check_close(state, policy),
        E::Reopened(_) => plan::check_reopen(state),
        E::Paused(_) => plan::check_pause(state),
        E::Resumed(_) => plan::check_resume(state),
        E::CompensationRequested(p) => compensation::check_request(state, p),
        E::CompensationApproved(p) => compensation::check_approval(state, p, ctx, policy),
        E::CompensationRejected(p) => compensation::check_rejection(state, p, ctx),
        E::Escalated(p) => escalation::check_escalation(state, p, ctx, policy),
        E::EngineerDispatched(p) => escalation::check_dispatch(p, ctx),
        E::OnSiteAppraisalRecorded(_) => escalation::check_appraisal(state),
        E::CorrectiveActionAssigned(p) => plan::check_action_assigned(state, &p.action_id),
        E::CorrectiveActionDone(p) => plan::check_action_step(state, &p.action_id, false),
        E::CorrectiveActionVerified(p) => plan::check_action_step(state, &p.action_id, true),
        E::MergedInto(p) => {
            if p.target == state.id {
                Err(RuleViolation::MergeIntoSelf)
            } else {
                Ok(())
            }
        }
        E::DeadlineWarning(p) => {
            escalation::check_deadline_event(state, &p.deadline, TimerEvent::Warning, ctx, policy)
                .map(drop)
        }
        E::DeadlineMissed(p) => {
            escalation::check_deadline_event(state, &p.deadline, TimerEvent::Missed, ctx, policy)
                .map(drop)
        }
        E::CallbackDue(p) => escalation::check_deadline_event(
            state,
            &p.deadline,
            TimerEvent::CallbackDue,
            ctx,
            policy,
        )
        .map(drop),
        E::ProgressReportDue(p) => escalation::check_progress_report_due(state, p, ctx, policy),
        E::Acknowledged(p) => records::check_acknowledgement(p, ctx),
        E::DuplicateMerged(p) => records::check_duplicate_merged(state, p),
        E::PlanPromiseRenewed(p) => records::check_plan_renewal(state, p, ctx),
        E::ResultReportedToCac(_) => records::check_result_report(state),
        E::SupplierNotified(p) => records::check_supplier_notified(state, p),
        E::SupplierChargedBack(p) => records::check_supplier_known(state, &p.supplier),
        E::SupplierImprovementRequested(p) => records::check_supplier_known(state, &p.supplier),
        E::ComplaintAssessed(p) => records::check_assessment(p),
        E::ThreeChangesMade(p) => records::check_three_changes(p, ctx),
        E::PreventionPlanned(_) => records::check_prevention(state),
        E::Apologized(_)
        | E::InformationGathered(_)
        | E::CauseFound(_)
        | E::ProgressReported(_)
        | E::NoteAdded(_)
        | E::EvidenceAttached(_)
        | E::CaseShared(_) => Ok(()),
    }
}

#[cfg(test)]
mod tests;
