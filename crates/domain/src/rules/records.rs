//! What the seeds ask the desk to record besides the main line: the plan date promised
//! at reception, the result reported to the CAC, suppliers, the kind of complaint and of
//! customer, the three changes, prevention, and what a merged duplicate brought along.

use jiff::Timestamp;

use super::{CheckContext, RuleViolation};
use crate::events::{
    Acknowledged, ComplaintAssessed, DuplicateMerged, PlanPromiseRenewed, SupplierNotified,
    ThreeChangesMade,
};
use crate::state::ComplaintState;
use crate::values::Label;
use crate::vocabulary::{ResponsibleParty, RootCause, ThreeChange};

fn not_before(at: Timestamp, ctx: &CheckContext) -> Result<(), RuleViolation> {
    if at < ctx.occurred_at {
        Err(RuleViolation::PromiseInPast { promised: at })
    } else {
        Ok(())
    }
}

/// The plan date told to the customer at reception is a promise: never already past.
pub(super) fn check_acknowledgement(
    acknowledged: &Acknowledged,
    ctx: &CheckContext,
) -> Result<(), RuleViolation> {
    acknowledged
        .plan_promised_by
        .map_or(Ok(()), |at| not_before(at, ctx))
}

/// Calling the customer with the progress and a new date: only while a plan is still
/// owed, and for a date that is new and ahead.
pub(super) fn check_plan_renewal(
    state: &ComplaintState,
    renewal: &PlanPromiseRenewed,
    ctx: &CheckContext,
) -> Result<(), RuleViolation> {
    let promise = state
        .plan_promise_open()
        .ok_or(RuleViolation::NoPlanPromise)?;
    if renewal.new_date == promise.due {
        return Err(RuleViolation::PromiseDateUnchanged);
    }
    not_before(renewal.new_date, ctx)
}

/// The result exists once the case is resolved; it is reported once a round. A closed
/// case may still report it ("结案并回报 CAC": close, and report).
pub(super) fn check_result_report(state: &ComplaintState) -> Result<(), RuleViolation> {
    if state.resolved.is_none() {
        return Err(RuleViolation::ResultReportRequiresResolution);
    }
    match state.result_reported {
        Some(_) => Err(RuleViolation::ResultAlreadyReported),
        None => Ok(()),
    }
}

pub(super) fn check_duplicate_merged(
    state: &ComplaintState,
    merged: &DuplicateMerged,
) -> Result<(), RuleViolation> {
    if merged.duplicate == state.id {
        return Err(RuleViolation::MergeIntoSelf);
    }
    let known = state
        .merged_duplicates
        .iter()
        .any(|record| record.duplicate == merged.duplicate);
    if known {
        Err(RuleViolation::DuplicateAlreadyMerged(
            merged.duplicate.clone(),
        ))
    } else {
        Ok(())
    }
}

/// A supplier is brought in when the cause found is its part.
pub(super) fn check_supplier_notified(
    state: &ComplaintState,
    notified: &SupplierNotified,
) -> Result<(), RuleViolation> {
    let supplier_at_fault = state.cause_found.as_ref().is_some_and(|cause| {
        cause.root_cause == RootCause::SupplierPart
            || cause.responsible == ResponsibleParty::Supplier
    });
    if !supplier_at_fault {
        return Err(RuleViolation::SupplierNotResponsible);
    }
    match state.supplier(&notified.supplier) {
        Some(_) => Err(RuleViolation::SupplierAlreadyNotified(
            notified.supplier.clone(),
        )),
        None => Ok(()),
    }
}

/// Charging back and asking for improvement follow the notification.
pub(super) fn check_supplier_known(
    state: &ComplaintState,
    supplier: &Label,
) -> Result<(), RuleViolation> {
    match state.supplier(supplier) {
        Some(_) => Ok(()),
        None => Err(RuleViolation::SupplierNotNotified(supplier.clone())),
    }
}

/// The first repeated value of a list, if any.
fn repeated<T: PartialEq + Copy>(values: &[T]) -> Option<T> {
    values
        .iter()
        .enumerate()
        .find(|(index, value)| values[..*index].contains(value))
        .map(|(_, value)| *value)
}

pub(super) fn check_assessment(assessed: &ComplaintAssessed) -> Result<(), RuleViolation> {
    if assessed.wants.is_empty() {
        return Err(RuleViolation::AssessmentNeedsWants);
    }
    match repeated(&assessed.wants) {
        Some(want) => Err(RuleViolation::DuplicateWant(want)),
        None => Ok(()),
    }
}

/// A change of time is an appointment, so it has one, ahead.
pub(super) fn check_three_changes(
    made: &ThreeChangesMade,
    ctx: &CheckContext,
) -> Result<(), RuleViolation> {
    if made.changes.is_empty() {
        return Err(RuleViolation::ThreeChangesNeedAChange);
    }
    if let Some(change) = repeated(&made.changes) {
        return Err(RuleViolation::DuplicateThreeChange(change));
    }
    let time_changed = made.changes.contains(&ThreeChange::Time);
    match made.appointment_at {
        None if time_changed => Err(RuleViolation::TimeChangeNeedsAppointment),
        Some(_) if !time_changed => Err(RuleViolation::TimeChangeNeedsAppointment),
        Some(at) if at < ctx.occurred_at => Err(RuleViolation::AppointmentInPast { at }),
        _ => Ok(()),
    }
}

pub(super) fn check_prevention(state: &ComplaintState) -> Result<(), RuleViolation> {
    match state.cause_found {
        Some(_) => Ok(()),
        None => Err(RuleViolation::PreventionRequiresCause),
    }
}
