//! Round trips for every event variant, and the paths of malformed input.

use std::collections::BTreeSet;

use super::*;
use crate::api::convert::FieldViolation;
use crate::api::convert::fixtures::{key, v};
use crate::api::proto;
use crate::api::proto::workflow_event::Kind;
use complaintflow_domain::ComplaintEvent;
use complaintflow_domain::deadlines::DeadlineKind;
use complaintflow_domain::events as ev;
use complaintflow_domain::testkit::{at, cause, complaint_id, major_flood_filing, money, option};
use complaintflow_domain::values::*;
use complaintflow_domain::vocabulary::*;

const PATH: &str = "events[2].event";

/// One representative value of every variant, with optional fields set in some
/// and left out in others so both spellings of "absent" are exercised.
fn samples() -> Vec<ComplaintEvent> {
    let mut minimal_filing = major_flood_filing();
    minimal_filing.vehicle.plate = None;
    minimal_filing.vehicle.purchased_on = None;
    minimal_filing.emergency = None;
    minimal_filing.happened_at = None;
    vec![
        major_flood_filing().into(),
        minimal_filing.into(),
        ev::Acknowledged {
            confirmed_facts: v("Waited an hour"),
            plan_promised_by: Some(at("2025-09-02T09:00:00Z")),
        }
        .into(),
        ev::Apologized { note: None }.into(),
        ev::ReportedToCac {
            cac_reference: Some(v("CAC-77")),
        }
        .into(),
        ev::ContactAttempted {
            purpose: ContactPurpose::ProgressUpdate,
            answered: true,
            recording: Some(v("rec://calls/1")),
            note: Some(v("Told her the new date")),
        }
        .into(),
        ev::CustomerUnreachable { failed_attempts: 3 }.into(),
        ev::InformationGathered { facts: v("Facts") }.into(),
        cause(
            RootCause::DealerBrokenPromise,
            ResponsibleParty::Dealer(Department::Service),
        )
        .into(),
        ev::CauseFound {
            root_cause: RootCause::SupplierPart,
            responsible: ResponsibleParty::Supplier,
            summary: v("Bad batch"),
            within_dealer_authority: false,
        }
        .into(),
        ev::SolutionProposed {
            options: vec![
                option("opt-1", at("2025-09-03T10:00:00Z")),
                ev::SolutionOption {
                    option_id: v("opt-2"),
                    summary: v("Free service"),
                    pros: v("Valuable"),
                    cons: v("Costly"),
                    cost: Money::new(Money::MAX).expect("cap"),
                    promised_by: at("2025-09-05T10:00:00Z"),
                },
            ],
        }
        .into(),
        ev::OptionAccepted {
            option_id: v("opt-1"),
        }
        .into(),
        ev::OptionRejected {
            option_id: v("opt-2"),
            reason: v("Too slow"),
        }
        .into(),
        ev::PromiseDateChanged {
            new_date: at("2025-09-04T10:00:00Z"),
            reason: v("Part late"),
        }
        .into(),
        ev::CompensationRequested {
            compensation_id: v("comp-1"),
            kind: CompensationKind::RentalCar,
            amount: money(30_000),
            reason: v("Two days without a car"),
        }
        .into(),
        ev::CompensationApproved {
            compensation_id: v("comp-1"),
            level: Level::ServiceManager,
            amount: Money::ZERO,
            customer_signature: Some(v("doc://sig/1")),
        }
        .into(),
        ev::CompensationApproved {
            compensation_id: v("comp-2"),
            level: Level::DealerDesk,
            amount: money(1),
            customer_signature: None,
        }
        .into(),
        ev::CompensationRejected {
            compensation_id: v("comp-3"),
            level: Level::RegionalManager,
            reason: v("Not covered"),
        }
        .into(),
        ev::Escalated {
            from: Level::DealerDesk,
            to: Level::ManufacturerCac,
            reason: EscalationReason::CustomerRequest,
            note: Some(v("Asked for the CAC")),
        }
        .into(),
        ev::EngineerDispatched {
            engineer: v("Engineer Zhao"),
            expected_arrival: at("2025-09-01T06:00:00Z"),
        }
        .into(),
        ev::OnSiteAppraisalRecorded {
            findings: v("Water in the cabin"),
        }
        .into(),
        ev::ProgressReported {
            summary: v("Parts ordered"),
        }
        .into(),
        ev::Paused {
            waiting_for: WaitingFor::ThirdParty,
            reason: v("Insurer"),
        }
        .into(),
        ev::Resumed { note: None }.into(),
        ev::WorkCarriedOut {
            description: v("Replaced the pump"),
        }
        .into(),
        ev::Resolved {
            summary: v("Fixed"),
        }
        .into(),
        ev::SatisfactionRecorded {
            score: SatisfactionScore::new(4).expect("score"),
            customer_words: Some(v("Fine")),
        }
        .into(),
        ev::Closed { summary: None }.into(),
        ev::Reopened {
            reason: v("Leaks again"),
        }
        .into(),
        ev::CorrectiveActionAssigned {
            action_id: v("act-1"),
            department: Department::Parts,
            description: v("Check stock daily"),
        }
        .into(),
        ev::CorrectiveActionDone {
            action_id: v("act-1"),
            note: Some(v("Done")),
        }
        .into(),
        ev::CorrectiveActionVerified {
            action_id: v("act-1"),
            note: None,
        }
        .into(),
        ev::NoteAdded { text: v("Called") }.into(),
        ev::EvidenceAttached {
            reference: v("s3://evidence/photo.jpg"),
            content_hash: v(&format!("blake3:{}", "ab".repeat(32))),
            description: Some(v("Photo of the dashboard")),
        }
        .into(),
        ev::MergedInto {
            target: v("CMP-2025-0001"),
        }
        .into(),
        ev::DeadlineWarning {
            deadline: key(DeadlineKind::Result, 0, 0),
            due_at: at("2025-09-08T10:00:00Z"),
        }
        .into(),
        ev::DeadlineMissed {
            deadline: key(DeadlineKind::Promise, 7, 2),
            due_at: at("2025-09-09T10:00:00Z"),
        }
        .into(),
        ev::CallbackDue {
            deadline: key(DeadlineKind::CallbackRetry, 12, 1),
            attempt: 2,
        }
        .into(),
        ev::ProgressReportDue {
            deadline: key(DeadlineKind::ProgressReport, u64::MAX, u32::MAX),
            missed_periods: 275,
            overdue_since: Some(at("2026-03-02T10:00:00Z")),
        }
        .into(),
        ev::DuplicateMerged {
            duplicate: v("CMP-2025-0002"),
            open_obligations: vec![ev::OpenObligation {
                deadline: key(DeadlineKind::PlanPromise, 3, 0),
                due_at: at("2025-09-02T08:00:00Z"),
                overdue: true,
            }],
            pending_compensations: vec![v("C1")],
        }
        .into(),
        ev::DuplicateMerged {
            duplicate: v("CMP-2025-0003"),
            open_obligations: Vec::new(),
            pending_compensations: Vec::new(),
        }
        .into(),
        ev::PlanPromiseRenewed {
            new_date: at("2025-09-03T08:00:00Z"),
            progress: v("Still testing"),
        }
        .into(),
        ev::ResultReportedToCac {
            summary: v("Repaired"),
            cac_reference: None,
        }
        .into(),
        ev::SupplierNotified {
            supplier: v("Pump Co"),
            part: Some(v("water pump")),
            note: None,
        }
        .into(),
        ev::SupplierChargedBack {
            supplier: v("Pump Co"),
            amount: money(80_000),
            settlement_reference: Some(v("S-1")),
        }
        .into(),
        ev::SupplierImprovementRequested {
            supplier: v("Pump Co"),
            request: v("Seal test"),
        }
        .into(),
        ev::ComplaintAssessed {
            nature: ComplaintNature::Malicious,
            wants: vec![CustomerWant::Compensation, CustomerWant::Vent],
            note: Some(v("Threatens the press")),
        }
        .into(),
        ev::ThreeChangesMade {
            changes: vec![ThreeChange::Time],
            appointment_at: Some(at("2025-09-04T02:00:00Z")),
            note: None,
        }
        .into(),
        ev::CaseShared {
            audience: v("Morning meeting"),
            lessons: v("Tell waiting customers"),
        }
        .into(),
        ev::PreventionPlanned {
            department: Department::Parts,
            plan: v("Seal test on arrival"),
        }
        .into(),
    ]
}

#[test]
fn required_lists_of_values_are_named_by_index() {
    let assessed: ComplaintEvent = ev::ComplaintAssessed {
        nature: ComplaintNature::GoodFaith,
        wants: vec![CustomerWant::Vent],
        note: None,
    }
    .into();
    assert_refused_at(
        assessed.clone(),
        |kind| {
            if let Kind::ComplaintAssessed(p) = kind {
                p.wants.clear();
            }
        },
        "events[2].event.complaint_assessed.wants",
    );
    assert_refused_at(
        assessed,
        |kind| {
            if let Kind::ComplaintAssessed(p) = kind {
                p.wants.push(0);
            }
        },
        "events[2].event.complaint_assessed.wants[1]",
    );
}

#[test]
fn the_samples_cover_every_event_type() {
    let covered: BTreeSet<&str> = samples().iter().map(ComplaintEvent::event_type).collect();
    let all: BTreeSet<&str> = ComplaintEvent::TYPES.iter().copied().collect();
    assert_eq!(covered, all);
}

#[test]
fn every_event_round_trips_through_the_wire() {
    for event in samples() {
        let wire = event_to_proto(&event);
        let back = event_from_proto(wire, &complaint_id(), PATH);
        assert_eq!(back.as_ref(), Ok(&event), "{}", event.event_type());
    }
}

#[test]
fn filed_takes_the_complaint_id_from_the_request() {
    let Some(Kind::Filed(wire)) = event_to_proto(&major_flood_filing().into()).kind else {
        panic!("not a filing");
    };
    let other = ComplaintId::parse("OTHER-1").expect("id");
    let back = filed_from_proto(wire, &other, "filed").expect("valid filing");
    assert_eq!(back.complaint_id, other);
}

#[test]
fn absent_optionals_are_empty_on_the_wire() {
    let wire = event_to_proto(&ev::Apologized { note: None }.into());
    assert_eq!(
        wire.kind,
        Some(Kind::Apologized(proto::Apologized {
            note: String::new()
        }))
    );
    let wire = event_to_proto(
        &ev::CauseFound {
            root_cause: RootCause::ProductDefect,
            responsible: ResponsibleParty::Manufacturer,
            summary: v("Defect"),
            within_dealer_authority: false,
        }
        .into(),
    );
    let Some(Kind::CauseFound(cause)) = wire.kind else {
        panic!("not a cause");
    };
    assert_eq!(
        cause.responsible,
        Some(proto::ResponsibleParty {
            kind: proto::ResponsiblePartyKind::Manufacturer.into(),
            department: 0,
        })
    );
}

/// The wire form of a valid event, changed by `edit`, must be refused at `field`.
fn assert_refused_at(event: ComplaintEvent, edit: impl FnOnce(&mut Kind), field: &str) {
    let mut wire = event_to_proto(&event);
    if let Some(kind) = wire.kind.as_mut() {
        edit(kind);
    }
    match event_from_proto(wire, &complaint_id(), PATH) {
        Err(violation) => assert_eq!(violation.field, field, "{violation}"),
        Ok(accepted) => panic!("accepted {accepted:?}, expected a violation at {field}"),
    }
}

/// Runs `edit` on the filing inside `kind`.
fn on_filing(edit: impl FnOnce(&mut proto::Filed)) -> impl FnOnce(&mut Kind) {
    move |kind| {
        if let Kind::Filed(filed) = kind {
            edit(filed);
        }
    }
}

fn vehicle(f: &mut proto::Filed) -> &mut proto::Vehicle {
    f.vehicle.get_or_insert_default()
}

fn customer(f: &mut proto::Filed) -> &mut proto::Customer {
    f.customer.get_or_insert_default()
}

/// A change that makes a valid filing invalid.
type SpoilFiling = fn(&mut proto::Filed);

#[test]
fn malformed_filings_name_the_field() {
    let cases: &[(SpoilFiling, &str)] = &[
        (|f| f.customer = None, "filed.customer"),
        (|f| f.vehicle = None, "filed.vehicle"),
        (
            |f| vehicle(f).vin = "LSVAG2180E210000I".into(),
            "filed.vehicle.vin",
        ),
        (
            |f| vehicle(f).purchase_date = "2023-13-01".into(),
            "filed.vehicle.purchase_date",
        ),
        (
            |f| vehicle(f).mileage_km = 5_000_001,
            "filed.vehicle.mileage_km",
        ),
        (|f| customer(f).phone = "12".into(), "filed.customer.phone"),
        (|f| customer(f).name.clear(), "filed.customer.name"),
        (|f| f.channel = 0, "filed.channel"),
        (|f| f.origin = 42, "filed.origin"),
        (|f| f.categories.push(0), "filed.categories[2]"),
        (|f| f.emergency = -3, "filed.emergency"),
        (|f| f.dealer_code.clear(), "filed.dealer_code"),
        (|f| f.description = " ".into(), "filed.description"),
        (
            |f| {
                f.happened_at = Some(prost_types::Timestamp {
                    seconds: 0,
                    nanos: -1,
                });
            },
            "filed.happened_at",
        ),
    ];
    for &(edit, field) in cases {
        assert_refused_at(
            major_flood_filing().into(),
            on_filing(edit),
            &format!("{PATH}.{field}"),
        );
    }
}

#[test]
fn unknown_and_unspecified_enums_are_distinguished() {
    let event: ComplaintEvent = major_flood_filing().into();
    let mut wire = event_to_proto(&event);
    if let Some(Kind::Filed(filed)) = wire.kind.as_mut() {
        filed.severity = 99;
    }
    assert_eq!(
        event_from_proto(wire.clone(), &complaint_id(), PATH),
        Err(FieldViolation::new(
            "events[2].event.filed.severity",
            "unknown value 99"
        ))
    );
    if let Some(Kind::Filed(filed)) = wire.kind.as_mut() {
        filed.severity = 0;
    }
    assert_eq!(
        event_from_proto(wire, &complaint_id(), PATH),
        Err(FieldViolation::required("events[2].event.filed.severity"))
    );
}

#[test]
fn an_empty_workflow_event_is_refused_at_its_own_path() {
    let err = event_from_proto(proto::WorkflowEvent { kind: None }, &complaint_id(), PATH)
        .expect_err("no kind");
    assert_eq!(err.field, PATH);
}

fn compensation_request() -> ComplaintEvent {
    ev::CompensationRequested {
        compensation_id: v("comp-1"),
        kind: CompensationKind::Refund,
        amount: money(100),
        reason: v("Refund"),
    }
    .into()
}

fn set_requested_amount(minor_units: i64) -> impl FnOnce(&mut Kind) {
    move |kind| {
        if let Kind::CompensationRequested(p) = kind {
            p.amount_minor_units = minor_units;
        }
    }
}

#[test]
fn money_must_be_non_negative_and_under_the_cap() {
    let field = "events[2].event.compensation_requested.amount_minor_units";
    assert_refused_at(compensation_request(), set_requested_amount(-1), field);
    let over_cap = i64::try_from(Money::MAX).expect("cap fits") + 1;
    assert_refused_at(
        compensation_request(),
        set_requested_amount(over_cap),
        field,
    );
}

#[test]
fn option_fields_are_named_by_index() {
    let proposal = samples()
        .into_iter()
        .find(|e| matches!(e, ComplaintEvent::SolutionProposed(_)))
        .expect("a proposal sample");
    assert_refused_at(
        proposal,
        |kind| {
            if let Kind::SolutionProposed(p) = kind {
                p.options[1].promised_by = None;
            }
        },
        "events[2].event.solution_proposed.options[1].promised_by",
    );
}

fn set_responsible(kind: i32, department: i32) -> impl FnOnce(&mut Kind) {
    move |event| {
        if let Kind::CauseFound(p) = event {
            p.responsible = Some(proto::ResponsibleParty { kind, department });
        }
    }
}

#[test]
fn responsible_party_needs_a_department_only_for_dealers() {
    use proto::ResponsiblePartyKind as K;
    let base = "events[2].event.cause_found.responsible";
    let cases = [
        (K::Dealer as i32, 0, "department"),
        (
            K::Customer as i32,
            proto::Department::Sales as i32,
            "department",
        ),
        (0, 0, "kind"),
        (17, 0, "kind"),
    ];
    for (kind, department, field) in cases {
        assert_refused_at(
            cause(
                RootCause::DealerBrokenPromise,
                ResponsibleParty::Dealer(Department::Service),
            )
            .into(),
            set_responsible(kind, department),
            &format!("{base}.{field}"),
        );
    }
    assert_refused_at(
        cause(
            RootCause::DealerBrokenPromise,
            ResponsibleParty::Dealer(Department::Service),
        )
        .into(),
        |event| {
            if let Kind::CauseFound(p) = event {
                p.responsible = None;
            }
        },
        base,
    );
}

fn warning() -> ComplaintEvent {
    ev::DeadlineWarning {
        deadline: key(DeadlineKind::Result, 3, 1),
        due_at: at("2025-09-08T10:00:00Z"),
    }
    .into()
}

fn set_deadline_ref(deadline: Option<proto::DeadlineRef>) -> impl FnOnce(&mut Kind) {
    move |kind| {
        if let Kind::DeadlineWarning(p) = kind {
            p.deadline = deadline;
        }
    }
}

#[test]
fn deadline_refs_must_be_well_formed_and_agree() {
    let base = "events[2].event.deadline_warning.deadline";
    let result = proto::DeadlineKind::Result as i32;
    let refs = [
        (result, "promise@3#1", "key"),
        (result, "result@3", "key"),
        (result, "result@+3#1", "key"),
        (result, "result@3#-1", "key"),
        (result, "nonsense@3#1", "key"),
        (result, "", "key"),
        (0, "result@3#1", "kind"),
    ];
    for (kind, key, field) in refs {
        let deadline = proto::DeadlineRef {
            kind,
            key: key.to_owned(),
        };
        assert_refused_at(
            warning(),
            set_deadline_ref(Some(deadline)),
            &format!("{base}.{field}"),
        );
    }
    assert_refused_at(warning(), set_deadline_ref(None), base);
}

#[test]
fn small_counts_and_scores_are_range_checked() {
    assert_refused_at(
        ev::CustomerUnreachable { failed_attempts: 3 }.into(),
        |kind| {
            if let Kind::CustomerUnreachable(p) = kind {
                p.failed_attempts = 256;
            }
        },
        "events[2].event.customer_unreachable.failed_attempts",
    );
    for score in [0, 6, 300] {
        assert_refused_at(
            ev::SatisfactionRecorded {
                score: SatisfactionScore::new(5).expect("score"),
                customer_words: None,
            }
            .into(),
            |kind| {
                if let Kind::SatisfactionRecorded(p) = kind {
                    p.score = score;
                }
            },
            "events[2].event.satisfaction_recorded.score",
        );
    }
}
