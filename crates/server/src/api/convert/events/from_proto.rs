//! proto::WorkflowEvent → ComplaintEvent, with every wire value checked.

use crate::api::proto;
use crate::api::proto::workflow_event::Kind;
use complaintflow_domain::ComplaintEvent;
use complaintflow_domain::deadlines::{DeadlineKey, DeadlineKind};
use complaintflow_domain::events as ev;
use complaintflow_domain::values::ComplaintId;
use complaintflow_domain::vocabulary::ResponsibleParty;

use crate::api::convert::enums::WireEnum;
use crate::api::convert::fields::Fields;
use crate::api::convert::time::date_from_proto;
use crate::api::convert::violation::FieldViolation;

/// The domain event in `pb`, the `WorkflowEvent` at `path` of the request. The
/// domain's `Filed` carries the complaint id, which the request names elsewhere.
pub(crate) fn event_from_proto(
    pb: proto::WorkflowEvent,
    complaint_id: &ComplaintId,
    path: &str,
) -> Result<ComplaintEvent, FieldViolation> {
    let event = Fields::at(path);
    let kind = pb
        .kind
        .ok_or_else(|| FieldViolation::new(path, "required: set exactly one event kind"))?;
    let at = |name: &str| event.nested(name);
    Ok(match kind {
        Kind::Filed(p) => filed_from_proto(p, complaint_id, &event.field("filed"))?.into(),
        Kind::Acknowledged(p) => {
            let f = at("acknowledged");
            ev::Acknowledged {
                confirmed_facts: f.value("confirmed_facts", p.confirmed_facts)?,
                plan_promised_by: f.optional_timestamp("plan_promised_by", p.plan_promised_by)?,
            }
            .into()
        }
        Kind::Apologized(p) => ev::Apologized {
            note: at("apologized").optional_value("note", p.note)?,
        }
        .into(),
        Kind::ReportedToCac(p) => ev::ReportedToCac {
            cac_reference: at("reported_to_cac")
                .optional_value("cac_reference", p.cac_reference)?,
        }
        .into(),
        Kind::ContactAttempted(p) => {
            let f = at("contact_attempted");
            ev::ContactAttempted {
                purpose: f.enumeration("purpose", p.purpose)?,
                answered: p.answered,
                recording: f.optional_value("recording", p.recording)?,
                note: f.optional_value("note", p.note)?,
            }
            .into()
        }
        Kind::CustomerUnreachable(p) => ev::CustomerUnreachable {
            failed_attempts: at("customer_unreachable")
                .byte("failed_attempts", p.failed_attempts)?,
        }
        .into(),
        Kind::InformationGathered(p) => ev::InformationGathered {
            facts: at("information_gathered").value("facts", p.facts)?,
        }
        .into(),
        Kind::CauseFound(p) => {
            let f = at("cause_found");
            ev::CauseFound {
                root_cause: f.enumeration("root_cause", p.root_cause)?,
                responsible: responsible_party(
                    f.message("responsible", p.responsible)?,
                    &f.nested("responsible"),
                )?,
                summary: f.value("summary", p.summary)?,
                within_dealer_authority: p.within_dealer_authority,
            }
            .into()
        }
        Kind::SolutionProposed(p) => {
            let f = at("solution_proposed");
            f.non_empty("options", &p.options)?;
            let options = p
                .options
                .into_iter()
                .enumerate()
                .map(|(i, option)| solution_option(option, &f.element("options", i)))
                .collect::<Result<_, _>>()?;
            ev::SolutionProposed { options }.into()
        }
        Kind::OptionAccepted(p) => ev::OptionAccepted {
            option_id: at("option_accepted").value("option_id", p.option_id)?,
        }
        .into(),
        Kind::OptionRejected(p) => {
            let f = at("option_rejected");
            ev::OptionRejected {
                option_id: f.value("option_id", p.option_id)?,
                reason: f.value("reason", p.reason)?,
            }
            .into()
        }
        Kind::PromiseDateChanged(p) => {
            let f = at("promise_date_changed");
            ev::PromiseDateChanged {
                new_date: f.timestamp("new_date", p.new_date)?,
                reason: f.value("reason", p.reason)?,
            }
            .into()
        }
        Kind::CompensationRequested(p) => {
            let f = at("compensation_requested");
            ev::CompensationRequested {
                compensation_id: f.value("compensation_id", p.compensation_id)?,
                kind: f.enumeration("kind", p.kind)?,
                amount: f.money("amount_minor_units", p.amount_minor_units)?,
                reason: f.value("reason", p.reason)?,
            }
            .into()
        }
        Kind::CompensationApproved(p) => {
            let f = at("compensation_approved");
            ev::CompensationApproved {
                compensation_id: f.value("compensation_id", p.compensation_id)?,
                level: f.enumeration("level", p.level)?,
                amount: f.money("amount_minor_units", p.amount_minor_units)?,
                // Optional here on purpose: the rules refuse a missing signature
                // with their own, clearer violation.
                customer_signature: f.optional_value("customer_signature", p.customer_signature)?,
            }
            .into()
        }
        Kind::CompensationRejected(p) => {
            let f = at("compensation_rejected");
            ev::CompensationRejected {
                compensation_id: f.value("compensation_id", p.compensation_id)?,
                level: f.enumeration("level", p.level)?,
                reason: f.value("reason", p.reason)?,
            }
            .into()
        }
        Kind::Escalated(p) => {
            let f = at("escalated");
            ev::Escalated {
                from: f.enumeration("from", p.from)?,
                to: f.enumeration("to", p.to)?,
                reason: f.enumeration("reason", p.reason)?,
                note: f.optional_value("note", p.note)?,
            }
            .into()
        }
        Kind::EngineerDispatched(p) => {
            let f = at("engineer_dispatched");
            ev::EngineerDispatched {
                engineer: f.value("engineer", p.engineer)?,
                expected_arrival: f.timestamp("expected_arrival", p.expected_arrival)?,
            }
            .into()
        }
        Kind::OnSiteAppraisalRecorded(p) => ev::OnSiteAppraisalRecorded {
            findings: at("on_site_appraisal_recorded").value("findings", p.findings)?,
        }
        .into(),
        Kind::ProgressReported(p) => ev::ProgressReported {
            summary: at("progress_reported").value("summary", p.summary)?,
        }
        .into(),
        Kind::Paused(p) => {
            let f = at("paused");
            ev::Paused {
                waiting_for: f.enumeration("waiting_for", p.waiting_for)?,
                reason: f.value("reason", p.reason)?,
            }
            .into()
        }
        Kind::Resumed(p) => ev::Resumed {
            note: at("resumed").optional_value("note", p.note)?,
        }
        .into(),
        Kind::WorkCarriedOut(p) => ev::WorkCarriedOut {
            description: at("work_carried_out").value("description", p.description)?,
        }
        .into(),
        Kind::Resolved(p) => ev::Resolved {
            summary: at("resolved").value("summary", p.summary)?,
        }
        .into(),
        Kind::SatisfactionRecorded(p) => {
            let f = at("satisfaction_recorded");
            ev::SatisfactionRecorded {
                score: f.checked("score", f.byte("score", p.score)?)?,
                customer_words: f.optional_value("customer_words", p.customer_words)?,
            }
            .into()
        }
        Kind::Closed(p) => ev::Closed {
            summary: at("closed").optional_value("summary", p.summary)?,
        }
        .into(),
        Kind::Reopened(p) => ev::Reopened {
            reason: at("reopened").value("reason", p.reason)?,
        }
        .into(),
        Kind::CorrectiveActionAssigned(p) => {
            let f = at("corrective_action_assigned");
            ev::CorrectiveActionAssigned {
                action_id: f.value("action_id", p.action_id)?,
                department: f.enumeration("department", p.department)?,
                description: f.value("description", p.description)?,
            }
            .into()
        }
        Kind::CorrectiveActionDone(p) => {
            let f = at("corrective_action_done");
            ev::CorrectiveActionDone {
                action_id: f.value("action_id", p.action_id)?,
                note: f.optional_value("note", p.note)?,
            }
            .into()
        }
        Kind::CorrectiveActionVerified(p) => {
            let f = at("corrective_action_verified");
            ev::CorrectiveActionVerified {
                action_id: f.value("action_id", p.action_id)?,
                note: f.optional_value("note", p.note)?,
            }
            .into()
        }
        Kind::NoteAdded(p) => ev::NoteAdded {
            text: at("note_added").value("text", p.text)?,
        }
        .into(),
        Kind::EvidenceAttached(p) => {
            let f = at("evidence_attached");
            ev::EvidenceAttached {
                reference: f.value("reference", p.reference)?,
                content_hash: f.value("content_hash", p.content_hash)?,
                description: f.optional_value("description", p.description)?,
            }
            .into()
        }
        Kind::MergedInto(p) => ev::MergedInto {
            target: at("merged_into").value("target_complaint_id", p.target_complaint_id)?,
        }
        .into(),
        Kind::DeadlineWarning(p) => {
            let f = at("deadline_warning");
            ev::DeadlineWarning {
                deadline: deadline_ref(&f, p.deadline)?,
                due_at: f.timestamp("due_time", p.due_time)?,
            }
            .into()
        }
        Kind::DeadlineMissed(p) => {
            let f = at("deadline_missed");
            ev::DeadlineMissed {
                deadline: deadline_ref(&f, p.deadline)?,
                due_at: f.timestamp("due_time", p.due_time)?,
            }
            .into()
        }
        Kind::CallbackDue(p) => {
            let f = at("callback_due");
            ev::CallbackDue {
                deadline: deadline_ref(&f, p.deadline)?,
                attempt: f.byte("attempt", p.attempt)?,
            }
            .into()
        }
        Kind::ProgressReportDue(p) => {
            let f = at("progress_report_due");
            ev::ProgressReportDue {
                deadline: deadline_ref(&f, p.deadline)?,
                // Unset (0) is how a client that predates the field says "one period".
                missed_periods: p.missed_periods.max(1),
                overdue_since: f.optional_timestamp("overdue_since_time", p.overdue_since_time)?,
            }
            .into()
        }
        Kind::DuplicateMerged(p) => {
            let f = at("duplicate_merged");
            let open_obligations = p
                .open_obligations
                .into_iter()
                .enumerate()
                .map(|(i, open)| open_obligation(&f.element("open_obligations", i), open))
                .collect::<Result<_, _>>()?;
            let pending_compensations = p
                .pending_compensation_ids
                .into_iter()
                .enumerate()
                .map(|(i, id)| f.value(&format!("pending_compensation_ids[{i}]"), id))
                .collect::<Result<_, _>>()?;
            ev::DuplicateMerged {
                duplicate: f.value("duplicate_complaint_id", p.duplicate_complaint_id)?,
                open_obligations,
                pending_compensations,
            }
            .into()
        }
        Kind::PlanPromiseRenewed(p) => {
            let f = at("plan_promise_renewed");
            ev::PlanPromiseRenewed {
                new_date: f.timestamp("new_date", p.new_date)?,
                progress: f.value("progress", p.progress)?,
            }
            .into()
        }
        Kind::ResultReportedToCac(p) => {
            let f = at("result_reported_to_cac");
            ev::ResultReportedToCac {
                summary: f.value("summary", p.summary)?,
                cac_reference: f.optional_value("cac_reference", p.cac_reference)?,
            }
            .into()
        }
        Kind::SupplierNotified(p) => {
            let f = at("supplier_notified");
            ev::SupplierNotified {
                supplier: f.value("supplier", p.supplier)?,
                part: f.optional_value("part", p.part)?,
                note: f.optional_value("note", p.note)?,
            }
            .into()
        }
        Kind::SupplierChargedBack(p) => {
            let f = at("supplier_charged_back");
            ev::SupplierChargedBack {
                supplier: f.value("supplier", p.supplier)?,
                amount: f.money("amount_minor_units", p.amount_minor_units)?,
                settlement_reference: f
                    .optional_value("settlement_reference", p.settlement_reference)?,
            }
            .into()
        }
        Kind::SupplierImprovementRequested(p) => {
            let f = at("supplier_improvement_requested");
            ev::SupplierImprovementRequested {
                supplier: f.value("supplier", p.supplier)?,
                request: f.value("request", p.request)?,
            }
            .into()
        }
        Kind::ComplaintAssessed(p) => {
            let f = at("complaint_assessed");
            ev::ComplaintAssessed {
                nature: f.enumeration("nature", p.nature)?,
                wants: enumerations(&f, "wants", &p.wants)?,
                note: f.optional_value("note", p.note)?,
            }
            .into()
        }
        Kind::ThreeChangesMade(p) => {
            let f = at("three_changes_made");
            ev::ThreeChangesMade {
                changes: enumerations(&f, "changes", &p.changes)?,
                appointment_at: f.optional_timestamp("appointment_time", p.appointment_time)?,
                note: f.optional_value("note", p.note)?,
            }
            .into()
        }
        Kind::CaseShared(p) => {
            let f = at("case_shared");
            ev::CaseShared {
                audience: f.value("audience", p.audience)?,
                lessons: f.value("lessons", p.lessons)?,
            }
            .into()
        }
        Kind::PreventionPlanned(p) => {
            let f = at("prevention_planned");
            ev::PreventionPlanned {
                department: f.enumeration("department", p.department)?,
                plan: f.value("plan", p.plan)?,
            }
            .into()
        }
    })
}

/// A repeated enum field the proto documents as required: at least one value, each known.
fn enumerations<E: WireEnum>(
    f: &Fields,
    name: &str,
    values: &[i32],
) -> Result<Vec<E>, FieldViolation> {
    f.non_empty(name, values)?;
    values
        .iter()
        .enumerate()
        .map(|(i, &value)| f.enumeration(&format!("{name}[{i}]"), value))
        .collect()
}

fn open_obligation(
    f: &Fields,
    pb: proto::OpenObligation,
) -> Result<ev::OpenObligation, FieldViolation> {
    Ok(ev::OpenObligation {
        deadline: deadline_ref(f, pb.deadline)?,
        due_at: f.timestamp("due_time", pb.due_time)?,
        overdue: pb.overdue,
    })
}

/// The filing in `pb`, the `Filed` message at `path` (a `FileComplaintRequest`
/// carries one directly, not wrapped in a `WorkflowEvent`).
pub(crate) fn filed_from_proto(
    pb: proto::Filed,
    complaint_id: &ComplaintId,
    path: &str,
) -> Result<ev::Filed, FieldViolation> {
    let f = Fields::at(path);
    f.non_empty("categories", &pb.categories)?;
    let categories = pb
        .categories
        .iter()
        .enumerate()
        .map(|(i, &category)| f.enumeration(&format!("categories[{i}]"), category))
        .collect::<Result<_, _>>()?;
    Ok(ev::Filed {
        complaint_id: complaint_id.clone(),
        origin: f.enumeration("origin", pb.origin)?,
        channel: f.enumeration("channel", pb.channel)?,
        dealer: f.value("dealer_code", pb.dealer_code)?,
        region: f.value("region_code", pb.region_code)?,
        received_by: f.value("received_by", pb.received_by)?,
        customer: customer(f.message("customer", pb.customer)?, &f.nested("customer"))?,
        vehicle: vehicle(f.message("vehicle", pb.vehicle)?, &f.nested("vehicle"))?,
        categories,
        severity: f.enumeration("severity", pb.severity)?,
        emergency: f.optional_enumeration("emergency", pb.emergency)?,
        description: f.value("description", pb.description)?,
        customer_request: f.value("customer_request", pb.customer_request)?,
        happened_at: f.optional_timestamp("happened_at", pb.happened_at)?,
    })
}

pub(crate) fn customer(pb: proto::Customer, f: &Fields) -> Result<ev::Customer, FieldViolation> {
    Ok(ev::Customer {
        name: f.value("name", pb.name)?,
        phone: f.value("phone", pb.phone)?,
    })
}

pub(crate) fn vehicle(pb: proto::Vehicle, f: &Fields) -> Result<ev::Vehicle, FieldViolation> {
    Ok(ev::Vehicle {
        vin: f.value("vin", pb.vin)?,
        plate: f.optional_value("plate", pb.plate)?,
        model: f.value("model", pb.model)?,
        mileage: f.checked("mileage_km", pb.mileage_km)?,
        purchased_on: date_from_proto(&pb.purchase_date, &f.field("purchase_date"))?,
    })
}

fn solution_option(
    pb: proto::SolutionOption,
    f: &Fields,
) -> Result<ev::SolutionOption, FieldViolation> {
    Ok(ev::SolutionOption {
        option_id: f.value("option_id", pb.option_id)?,
        summary: f.value("summary", pb.summary)?,
        pros: f.value("pros", pb.pros)?,
        cons: f.value("cons", pb.cons)?,
        cost: f.money("cost_minor_units", pb.cost_minor_units)?,
        promised_by: f.timestamp("promised_by", pb.promised_by)?,
    })
}

/// `{kind, department}`: the department is required for a dealer and must be
/// left unset for anyone else, so that nothing the client sent is dropped.
fn responsible_party(
    pb: proto::ResponsibleParty,
    f: &Fields,
) -> Result<ResponsibleParty, FieldViolation> {
    use proto::ResponsiblePartyKind as K;
    let kind = K::try_from(pb.kind)
        .map_err(|_| f.violation("kind", format!("unknown value {}", pb.kind)))?;
    let party = match kind {
        K::Unspecified => return Err(FieldViolation::required(f.field("kind"))),
        K::Dealer => {
            return Ok(ResponsibleParty::Dealer(
                f.enumeration("department", pb.department)?,
            ));
        }
        K::Manufacturer => ResponsibleParty::Manufacturer,
        K::Supplier => ResponsibleParty::Supplier,
        K::Customer => ResponsibleParty::Customer,
    };
    if pb.department != 0 {
        return Err(f.violation(
            "department",
            format!("only for {}", K::Dealer.as_str_name()),
        ));
    }
    Ok(party)
}

/// The required `deadline` field of an engine event: `{kind, key}`, where `key` is
/// `DeadlineKey`'s display form `kind@started_by#generation` and must agree with `kind`.
fn deadline_ref(
    event: &Fields,
    pb: Option<proto::DeadlineRef>,
) -> Result<DeadlineKey, FieldViolation> {
    let pb = event.message("deadline", pb)?;
    let f = event.nested("deadline");
    let kind: DeadlineKind = f.enumeration("kind", pb.kind)?;
    if pb.key.is_empty() {
        return Err(FieldViolation::required(f.field("key")));
    }
    let key = parse_deadline_key(&pb.key).ok_or_else(|| {
        f.violation(
            "key",
            format!("must be kind@started_by#generation, got {:?}", pb.key),
        )
    })?;
    if key.kind != kind {
        return Err(f.violation(
            "key",
            format!("names kind {} but kind is {}", key.kind, kind),
        ));
    }
    Ok(key)
}

/// The inverse of `DeadlineKey`'s `Display`. Only the canonical spelling is
/// accepted (no `+5`, no `05`): the key is an identity, compared as text elsewhere.
fn parse_deadline_key(text: &str) -> Option<DeadlineKey> {
    let (kind, rest) = text.split_once('@')?;
    let (started_by, generation) = rest.split_once('#')?;
    let key = DeadlineKey {
        kind: DeadlineKind::from_domain_name(kind)?,
        started_by: started_by.parse().ok()?,
        generation: generation.parse().ok()?,
    };
    (key.to_string() == text).then_some(key)
}
