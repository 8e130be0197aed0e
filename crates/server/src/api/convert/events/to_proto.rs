//! ComplaintEvent → proto::WorkflowEvent. Total: every domain value has a wire form.

use crate::api::proto;
use crate::api::proto::workflow_event::Kind;
use complaintflow_domain::ComplaintEvent;
use complaintflow_domain::deadlines::DeadlineKey;
use complaintflow_domain::events as ev;
use complaintflow_domain::values::Money;
use complaintflow_domain::vocabulary::ResponsibleParty;

use crate::api::convert::enums::{enum_to_proto, optional_enum_to_proto};
use crate::api::convert::time::{date_to_proto, optional_timestamp_to_proto, timestamp_to_proto};

/// The wire form of any event, engine-only ones included (timelines show them).
pub fn event_to_proto(event: &ComplaintEvent) -> proto::WorkflowEvent {
    use ComplaintEvent as E;
    let kind = match event {
        E::Filed(p) => Kind::Filed(filed_to_proto(p)),
        E::Acknowledged(p) => Kind::Acknowledged(proto::Acknowledged {
            confirmed_facts: p.confirmed_facts.to_string(),
            plan_promised_by: optional_timestamp_to_proto(p.plan_promised_by),
        }),
        E::Apologized(p) => Kind::Apologized(proto::Apologized {
            note: or_empty(p.note.as_ref()),
        }),
        E::ReportedToCac(p) => Kind::ReportedToCac(proto::ReportedToCac {
            cac_reference: or_empty(p.cac_reference.as_ref()),
        }),
        E::ContactAttempted(p) => Kind::ContactAttempted(proto::ContactAttempted {
            purpose: enum_to_proto(p.purpose),
            answered: p.answered,
            recording: or_empty(p.recording.as_ref()),
            note: or_empty(p.note.as_ref()),
        }),
        E::CustomerUnreachable(p) => Kind::CustomerUnreachable(proto::CustomerUnreachable {
            failed_attempts: p.failed_attempts.into(),
        }),
        E::InformationGathered(p) => Kind::InformationGathered(proto::InformationGathered {
            facts: p.facts.to_string(),
        }),
        E::CauseFound(p) => Kind::CauseFound(proto::CauseFound {
            root_cause: enum_to_proto(p.root_cause),
            responsible: Some(responsible_party_to_proto(p.responsible)),
            summary: p.summary.to_string(),
            within_dealer_authority: p.within_dealer_authority,
        }),
        E::SolutionProposed(p) => Kind::SolutionProposed(proto::SolutionProposed {
            options: p.options.iter().map(solution_option_to_proto).collect(),
        }),
        E::OptionAccepted(p) => Kind::OptionAccepted(proto::OptionAccepted {
            option_id: p.option_id.to_string(),
        }),
        E::OptionRejected(p) => Kind::OptionRejected(proto::OptionRejected {
            option_id: p.option_id.to_string(),
            reason: p.reason.to_string(),
        }),
        E::PromiseDateChanged(p) => Kind::PromiseDateChanged(proto::PromiseDateChanged {
            new_date: Some(timestamp_to_proto(p.new_date)),
            reason: p.reason.to_string(),
        }),
        E::CompensationRequested(p) => Kind::CompensationRequested(proto::CompensationRequested {
            compensation_id: p.compensation_id.to_string(),
            kind: enum_to_proto(p.kind),
            amount_minor_units: minor_units(p.amount),
            reason: p.reason.to_string(),
        }),
        E::CompensationApproved(p) => Kind::CompensationApproved(proto::CompensationApproved {
            compensation_id: p.compensation_id.to_string(),
            level: enum_to_proto(p.level),
            amount_minor_units: minor_units(p.amount),
            customer_signature: or_empty(p.customer_signature.as_ref()),
        }),
        E::CompensationRejected(p) => Kind::CompensationRejected(proto::CompensationRejected {
            compensation_id: p.compensation_id.to_string(),
            level: enum_to_proto(p.level),
            reason: p.reason.to_string(),
        }),
        E::Escalated(p) => Kind::Escalated(proto::Escalated {
            from: enum_to_proto(p.from),
            to: enum_to_proto(p.to),
            reason: enum_to_proto(p.reason),
            note: or_empty(p.note.as_ref()),
        }),
        E::EngineerDispatched(p) => Kind::EngineerDispatched(proto::EngineerDispatched {
            engineer: p.engineer.to_string(),
            expected_arrival: Some(timestamp_to_proto(p.expected_arrival)),
        }),
        E::OnSiteAppraisalRecorded(p) => {
            Kind::OnSiteAppraisalRecorded(proto::OnSiteAppraisalRecorded {
                findings: p.findings.to_string(),
            })
        }
        E::ProgressReported(p) => Kind::ProgressReported(proto::ProgressReported {
            summary: p.summary.to_string(),
        }),
        E::Paused(p) => Kind::Paused(proto::Paused {
            waiting_for: enum_to_proto(p.waiting_for),
            reason: p.reason.to_string(),
        }),
        E::Resumed(p) => Kind::Resumed(proto::Resumed {
            note: or_empty(p.note.as_ref()),
        }),
        E::WorkCarriedOut(p) => Kind::WorkCarriedOut(proto::WorkCarriedOut {
            description: p.description.to_string(),
        }),
        E::Resolved(p) => Kind::Resolved(proto::Resolved {
            summary: p.summary.to_string(),
        }),
        E::SatisfactionRecorded(p) => Kind::SatisfactionRecorded(proto::SatisfactionRecorded {
            score: p.score.get().into(),
            customer_words: or_empty(p.customer_words.as_ref()),
        }),
        E::Closed(p) => Kind::Closed(proto::Closed {
            summary: or_empty(p.summary.as_ref()),
        }),
        E::Reopened(p) => Kind::Reopened(proto::Reopened {
            reason: p.reason.to_string(),
        }),
        E::CorrectiveActionAssigned(p) => {
            Kind::CorrectiveActionAssigned(proto::CorrectiveActionAssigned {
                action_id: p.action_id.to_string(),
                department: enum_to_proto(p.department),
                description: p.description.to_string(),
            })
        }
        E::CorrectiveActionDone(p) => Kind::CorrectiveActionDone(proto::CorrectiveActionDone {
            action_id: p.action_id.to_string(),
            note: or_empty(p.note.as_ref()),
        }),
        E::CorrectiveActionVerified(p) => {
            Kind::CorrectiveActionVerified(proto::CorrectiveActionVerified {
                action_id: p.action_id.to_string(),
                note: or_empty(p.note.as_ref()),
            })
        }
        E::NoteAdded(p) => Kind::NoteAdded(proto::NoteAdded {
            text: p.text.to_string(),
        }),
        E::EvidenceAttached(p) => Kind::EvidenceAttached(proto::EvidenceAttached {
            reference: p.reference.to_string(),
            content_hash: p.content_hash.to_string(),
            description: or_empty(p.description.as_ref()),
        }),
        E::MergedInto(p) => Kind::MergedInto(proto::MergedInto {
            target_complaint_id: p.target.to_string(),
        }),
        E::DeadlineWarning(p) => Kind::DeadlineWarning(proto::DeadlineWarning {
            deadline: Some(deadline_ref_to_proto(p.deadline)),
            due_time: Some(timestamp_to_proto(p.due_at)),
        }),
        E::DeadlineMissed(p) => Kind::DeadlineMissed(proto::DeadlineMissed {
            deadline: Some(deadline_ref_to_proto(p.deadline)),
            due_time: Some(timestamp_to_proto(p.due_at)),
        }),
        E::CallbackDue(p) => Kind::CallbackDue(proto::CallbackDue {
            deadline: Some(deadline_ref_to_proto(p.deadline)),
            attempt: p.attempt.into(),
        }),
        E::ProgressReportDue(p) => Kind::ProgressReportDue(proto::ProgressReportDue {
            deadline: Some(deadline_ref_to_proto(p.deadline)),
            missed_periods: p.missed_periods,
            overdue_since_time: optional_timestamp_to_proto(p.overdue_since),
        }),
        E::DuplicateMerged(p) => Kind::DuplicateMerged(proto::DuplicateMerged {
            duplicate_complaint_id: p.duplicate.to_string(),
            open_obligations: p
                .open_obligations
                .iter()
                .map(open_obligation_to_proto)
                .collect(),
            pending_compensation_ids: p
                .pending_compensations
                .iter()
                .map(ToString::to_string)
                .collect(),
        }),
        E::PlanPromiseRenewed(p) => Kind::PlanPromiseRenewed(proto::PlanPromiseRenewed {
            new_date: Some(timestamp_to_proto(p.new_date)),
            progress: p.progress.to_string(),
        }),
        E::ResultReportedToCac(p) => Kind::ResultReportedToCac(proto::ResultReportedToCac {
            summary: p.summary.to_string(),
            cac_reference: or_empty(p.cac_reference.as_ref()),
        }),
        E::SupplierNotified(p) => Kind::SupplierNotified(proto::SupplierNotified {
            supplier: p.supplier.to_string(),
            part: or_empty(p.part.as_ref()),
            note: or_empty(p.note.as_ref()),
        }),
        E::SupplierChargedBack(p) => Kind::SupplierChargedBack(proto::SupplierChargedBack {
            supplier: p.supplier.to_string(),
            amount_minor_units: minor_units(p.amount),
            settlement_reference: or_empty(p.settlement_reference.as_ref()),
        }),
        E::SupplierImprovementRequested(p) => {
            Kind::SupplierImprovementRequested(proto::SupplierImprovementRequested {
                supplier: p.supplier.to_string(),
                request: p.request.to_string(),
            })
        }
        E::ComplaintAssessed(p) => Kind::ComplaintAssessed(proto::ComplaintAssessed {
            nature: enum_to_proto(p.nature),
            wants: p.wants.iter().copied().map(enum_to_proto).collect(),
            note: or_empty(p.note.as_ref()),
        }),
        E::ThreeChangesMade(p) => Kind::ThreeChangesMade(proto::ThreeChangesMade {
            changes: p.changes.iter().copied().map(enum_to_proto).collect(),
            appointment_time: optional_timestamp_to_proto(p.appointment_at),
            note: or_empty(p.note.as_ref()),
        }),
        E::CaseShared(p) => Kind::CaseShared(proto::CaseShared {
            audience: p.audience.to_string(),
            lessons: p.lessons.to_string(),
        }),
        E::PreventionPlanned(p) => Kind::PreventionPlanned(proto::PreventionPlanned {
            department: enum_to_proto(p.department),
            plan: p.plan.to_string(),
        }),
    };
    proto::WorkflowEvent { kind: Some(kind) }
}

fn filed_to_proto(p: &ev::Filed) -> proto::Filed {
    proto::Filed {
        origin: enum_to_proto(p.origin),
        channel: enum_to_proto(p.channel),
        dealer_code: p.dealer.to_string(),
        region_code: p.region.to_string(),
        received_by: p.received_by.to_string(),
        customer: Some(customer_to_proto(&p.customer)),
        vehicle: Some(vehicle_to_proto(&p.vehicle)),
        categories: p.categories.iter().copied().map(enum_to_proto).collect(),
        severity: enum_to_proto(p.severity),
        emergency: optional_enum_to_proto(p.emergency),
        description: p.description.to_string(),
        customer_request: p.customer_request.to_string(),
        happened_at: optional_timestamp_to_proto(p.happened_at),
    }
}

pub(crate) fn customer_to_proto(customer: &ev::Customer) -> proto::Customer {
    proto::Customer {
        name: customer.name.to_string(),
        phone: customer.phone.to_string(),
    }
}

pub(crate) fn vehicle_to_proto(vehicle: &ev::Vehicle) -> proto::Vehicle {
    proto::Vehicle {
        vin: vehicle.vin.to_string(),
        plate: or_empty(vehicle.plate.as_ref()),
        model: vehicle.model.to_string(),
        mileage_km: vehicle.mileage.get(),
        purchase_date: date_to_proto(vehicle.purchased_on),
    }
}

fn solution_option_to_proto(option: &ev::SolutionOption) -> proto::SolutionOption {
    proto::SolutionOption {
        option_id: option.option_id.to_string(),
        summary: option.summary.to_string(),
        pros: option.pros.to_string(),
        cons: option.cons.to_string(),
        cost_minor_units: minor_units(option.cost),
        promised_by: Some(timestamp_to_proto(option.promised_by)),
    }
}

fn responsible_party_to_proto(party: ResponsibleParty) -> proto::ResponsibleParty {
    use proto::ResponsiblePartyKind as K;
    let (kind, department) = match party {
        ResponsibleParty::Dealer(department) => (K::Dealer, enum_to_proto(department)),
        ResponsibleParty::Manufacturer => (K::Manufacturer, 0),
        ResponsibleParty::Supplier => (K::Supplier, 0),
        ResponsibleParty::Customer => (K::Customer, 0),
    };
    proto::ResponsibleParty {
        kind: kind.into(),
        department,
    }
}

pub(crate) fn open_obligation_to_proto(open: &ev::OpenObligation) -> proto::OpenObligation {
    proto::OpenObligation {
        deadline: Some(deadline_ref_to_proto(open.deadline)),
        due_time: Some(timestamp_to_proto(open.due_at)),
        overdue: open.overdue,
    }
}

fn deadline_ref_to_proto(key: DeadlineKey) -> proto::DeadlineRef {
    proto::DeadlineRef {
        kind: enum_to_proto(key.kind),
        key: key.to_string(),
    }
}

/// `Money` is capped far below `i64::MAX`, so this never saturates.
pub(crate) fn minor_units(amount: Money) -> i64 {
    i64::try_from(amount.fen()).unwrap_or(i64::MAX)
}

/// Optional domain strings are empty strings on the wire.
fn or_empty<T: ToString>(value: Option<&T>) -> String {
    value.map(ToString::to_string).unwrap_or_default()
}
