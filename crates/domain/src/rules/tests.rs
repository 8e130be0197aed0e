//! One test per rule, named after its code.

use super::*;
use crate::actor::Role::*;
use crate::deadlines::{DeadlineKey, DeadlineKind, DueStage, on_deadline_due, open_deadlines};
use crate::events::*;
use crate::testkit::*;
use crate::values::*;
use crate::vocabulary::*;

/// A September 2025 instant in Beijing time (1 September is a Monday).
fn t(day: u8, hm: &str) -> String {
    format!("2025-09-{day:02}T{hm}:00+08:00")
}

fn filed() -> Harness {
    Harness::filed_at(&t(1, "10:00"))
}

fn agreed() -> Harness {
    let mut h = filed();
    h.ok(
        proposal(&[("O1", at(&t(3, "17:00"))), ("O2", at(&t(5, "17:00")))]),
        DealerStaff,
        &t(1, "11:00"),
    );
    h.ok(accept("O1"), DealerStaff, &t(1, "11:10"));
    h
}

fn resolved_case() -> Harness {
    let mut h = agreed();
    h.ok(resolved(), DealerStaff, &t(2, "10:00"));
    h
}

/// Agreed, with compensation C1 requested at 12:00.
fn requested(kind: CompensationKind, fen: u64) -> Harness {
    let mut h = agreed();
    h.ok(request(kind, fen), DealerStaff, &t(1, "12:00"));
    h
}

fn filing_with(change: impl FnOnce(&mut Filed)) -> Filed {
    let mut filing = seed_004_filing();
    change(&mut filing);
    filing
}

fn note() -> ComplaintEvent {
    NoteAdded { text: text("note") }.into()
}

fn comp_id() -> CompensationId {
    CompensationId::parse("C1").expect("id")
}

fn request(kind: CompensationKind, fen: u64) -> ComplaintEvent {
    CompensationRequested {
        compensation_id: comp_id(),
        kind,
        amount: money(fen),
        reason: text("goodwill"),
    }
    .into()
}

fn approval(level: Level, fen: u64, signed: bool) -> ComplaintEvent {
    CompensationApproved {
        compensation_id: comp_id(),
        level,
        amount: money(fen),
        customer_signature: signed.then(|| DocumentRef::parse("sig://li").expect("ref")),
    }
    .into()
}

fn escalation(from: Level, to: Level) -> ComplaintEvent {
    Escalated {
        from,
        to,
        reason: EscalationReason::Manual,
        note: None,
    }
    .into()
}

fn action(step: u8) -> ComplaintEvent {
    let action_id = ActionId::parse("A1").expect("id");
    match step {
        0 => CorrectiveActionAssigned {
            action_id,
            department: Department::Service,
            description: text("tell customers when the car is ready"),
        }
        .into(),
        1 => CorrectiveActionDone {
            action_id,
            note: None,
        }
        .into(),
        _ => CorrectiveActionVerified {
            action_id,
            note: None,
        }
        .into(),
    }
}

fn missed(kind: DeadlineKind, started_by: u64) -> ComplaintEvent {
    DeadlineMissed {
        deadline: DeadlineKey {
            kind,
            started_by,
            generation: 0,
        },
        due_at: at(&t(1, "17:30")),
    }
    .into()
}

/// Three unanswered calls at three times of day on 2 September.
fn three_failed_calls(h: &mut Harness) {
    h.ok(call(false), DealerStaff, &t(2, "09:30"));
    h.ok(call(false), DealerStaff, &t(2, "14:00"));
    h.ok(call(false), DealerStaff, &t(2, "19:00"));
}

#[test]
fn not_filed() {
    assert_eq!(
        Harness::new().refused(accept("O1"), DealerStaff, &t(1, "10:00")),
        "not_filed"
    );
}

#[test]
fn already_filed() {
    assert_eq!(
        filed().refused(seed_004_filing(), DealerStaff, &t(1, "11:00")),
        "already_filed"
    );
}

#[test]
fn complaint_id_mismatch() {
    let other = filing_with(|f| f.complaint_id = ComplaintId::parse("OTHER-1").expect("id"));
    assert_eq!(
        Harness::new().refused(other, DealerStaff, &t(1, "10:00")),
        "complaint_id_mismatch"
    );
}

#[test]
fn occurred_in_future() {
    let h = filed();
    let mut ctx = h.context(DealerStaff, at(&t(1, "12:00")));
    ctx.now = at(&t(1, "11:00"));
    let result = check(h.state.as_ref(), &note(), &ctx, &h.policy);
    assert_eq!(result.map_err(|v| v.code()), Err("occurred_in_future"));
    // A few minutes of clock skew are tolerated.
    ctx.now = at(&t(1, "11:57"));
    assert_eq!(check(h.state.as_ref(), &note(), &ctx, &h.policy), Ok(()));
}

#[test]
fn occurred_before_filing() {
    assert_eq!(
        filed().refused(note(), DealerStaff, &t(1, "09:00")),
        "occurred_before_filing"
    );
}

#[test]
fn happened_after_filing() {
    let filing = filing_with(|f| f.happened_at = Some(at(&t(1, "11:00"))));
    assert_eq!(
        Harness::new().refused(filing, DealerStaff, &t(1, "10:00")),
        "happened_after_filing"
    );
}

#[test]
fn engine_only_event() {
    assert_eq!(
        filed().refused(
            missed(DeadlineKind::ReportToCac, 1),
            DealerStaff,
            &t(1, "18:00")
        ),
        "engine_only_event"
    );
}

#[test]
fn not_an_engine_event() {
    assert_eq!(
        filed().refused(note(), Engine, &t(1, "11:00")),
        "not_an_engine_event"
    );
}

#[test]
fn complaint_merged() {
    let mut h = filed();
    h.ok(
        MergedInto {
            target: ComplaintId::parse("CMP-1").expect("id"),
        },
        CacAgent,
        &t(1, "11:00"),
    );
    assert_eq!(
        h.refused(note(), DealerStaff, &t(1, "12:00")),
        "complaint_merged"
    );
    assert_eq!(
        h.refused(resolved(), DealerStaff, &t(1, "12:00")),
        "complaint_merged"
    );
}

#[test]
fn merge_target_unknown() {
    let target = ComplaintId::parse("CMP-1").expect("id");
    let err = check_reference(&target, None).unwrap_err();
    assert_eq!(err.code(), "merge_target_unknown");
}

#[test]
fn merge_target_not_live() {
    let target = ComplaintId::parse("CMP-1").expect("id");
    let mut h = filed();
    assert!(check_reference(&target, h.state.as_ref()).is_ok());
    h.ok(
        MergedInto {
            target: ComplaintId::parse("CMP-2").expect("id"),
        },
        CacAgent,
        &t(1, "11:00"),
    );
    let err = check_reference(&target, h.state.as_ref()).unwrap_err();
    assert_eq!(err.code(), "merge_target_not_live");
    let mut closed_case = resolved_case();
    closed_case.ok(satisfaction(5), DealerStaff, &t(3, "10:00"));
    closed_case.ok(closed(), DealerStaff, &t(3, "10:05"));
    assert!(
        check_reference(&target, closed_case.state.as_ref()).is_ok(),
        "a closed case carries on: it can be reopened"
    );
}

#[test]
fn complaint_closed() {
    let mut h = resolved_case();
    h.ok(satisfaction(5), DealerStaff, &t(3, "10:00"));
    h.ok(closed(), DealerStaff, &t(3, "10:05"));
    let progress = ProgressReported {
        summary: text("late"),
    };
    assert_eq!(
        h.refused(progress, DealerStaff, &t(3, "11:00")),
        "complaint_closed"
    );
    // Record keeping goes on after closing.
    h.ok(note(), DealerStaff, &t(3, "11:00"));
    h.ok(action(0), DealerStaff, &t(3, "11:05"));
}

#[test]
fn category_required() {
    let filing = filing_with(|f| f.categories.clear());
    assert_eq!(
        Harness::new().refused(filing, DealerStaff, &t(1, "10:00")),
        "category_required"
    );
}

#[test]
fn duplicate_category() {
    let filing = filing_with(|f| f.categories = vec![Category::SpareParts, Category::SpareParts]);
    assert_eq!(
        Harness::new().refused(filing, DealerStaff, &t(1, "10:00")),
        "duplicate_category"
    );
}

#[test]
fn emergency_severity_too_low() {
    let fire = filing_with(|f| f.emergency = Some(EmergencyKind::VehicleFire));
    assert_eq!(
        Harness::new().refused(fire.clone(), DealerStaff, &t(1, "10:00")),
        "emergency_severity_too_low"
    );
    let mut h = Harness::new();
    h.ok(
        filing_with(|f| {
            f.emergency = Some(EmergencyKind::VehicleFire);
            f.severity = Severity::Urgent;
        }),
        DealerStaff,
        &t(1, "10:00"),
    );
}

#[test]
fn already_reported_to_cac() {
    let mut h = filed();
    h.ok(reported_to_cac(), DealerStaff, &t(1, "11:00"));
    assert_eq!(
        h.refused(reported_to_cac(), DealerStaff, &t(1, "12:00")),
        "already_reported_to_cac"
    );
    // A case the CAC pushed: the dealer's report is its feedback on the handling,
    // owed once like any report (seed 002 五(4)).
    let mut by_cac = Harness::new();
    by_cac.ok(
        filing_with(|f| f.origin = Origin::ManufacturerCac),
        CacAgent,
        &t(1, "10:00"),
    );
    by_cac.ok(reported_to_cac(), DealerStaff, &t(1, "12:00"));
    assert_eq!(
        by_cac.refused(reported_to_cac(), DealerStaff, &t(1, "13:00")),
        "already_reported_to_cac"
    );
}

#[test]
fn customer_unreachable() {
    let mut h = resolved_case();
    three_failed_calls(&mut h);
    h.ok(
        CustomerUnreachable { failed_attempts: 3 },
        Engine,
        &t(2, "19:00"),
    );
    assert_eq!(
        h.refused(call(false), DealerStaff, &t(3, "10:00")),
        "customer_unreachable"
    );
    assert_eq!(
        h.refused(call(true), DealerStaff, &t(3, "10:00")),
        "customer_unreachable"
    );
    assert_eq!(
        h.refused(
            CustomerUnreachable { failed_attempts: 3 },
            Engine,
            &t(3, "10:00")
        ),
        "customer_unreachable"
    );
}

#[test]
fn outside_calling_hours() {
    assert_eq!(
        filed().refused(
            call_for(ContactPurpose::GatherInformation, true),
            DealerStaff,
            &t(1, "22:00")
        ),
        "outside_calling_hours"
    );
    assert_eq!(
        resolved_case().refused(call(true), DealerStaff, &t(2, "22:00")),
        "outside_calling_hours"
    );
}

fn fire_case() -> Harness {
    let mut h = Harness::new();
    h.ok(
        filing_with(|f| {
            f.emergency = Some(EmergencyKind::VehicleFire);
            f.severity = Severity::Major;
        }),
        DealerStaff,
        &t(1, "22:30"),
    );
    h
}

#[test]
fn the_emergency_flow_calls_the_owner_day_or_night() {
    let mut h = fire_case();
    // Telling the owner when the engineer arrives, at 23:40.
    h.ok(
        call_for(ContactPurpose::ProgressUpdate, true),
        DealerStaff,
        &t(1, "23:40"),
    );
    h.ok(
        call_for(ContactPurpose::GatherInformation, false),
        DealerStaff,
        &t(2, "02:10"),
    );
    assert_eq!(h.state().contacts.attempts, 2);
    // Calling hours still govern the satisfaction call-back, emergency or not.
    h.ok(
        proposal(&[("O1", at(&t(3, "17:00")))]),
        DealerStaff,
        &t(2, "09:00"),
    );
    h.ok(accept("O1"), DealerStaff, &t(2, "09:10"));
    h.ok(resolved(), DealerStaff, &t(2, "10:00"));
    assert_eq!(
        h.refused(call(true), DealerStaff, &t(2, "23:40")),
        "outside_calling_hours"
    );
}

#[test]
fn callback_requires_resolution() {
    let mut h = filed();
    assert_eq!(
        h.refused(call(false), DealerStaff, &t(1, "11:00")),
        "callback_requires_resolution"
    );
    assert_eq!(
        h.refused(call(true), DealerStaff, &t(1, "11:00")),
        "callback_requires_resolution"
    );
    // Calls before handling gather information or report progress; unanswered ones
    // are not call-back attempts and never make the customer unreachable.
    for (when, purpose) in [
        ("09:30", ContactPurpose::GatherInformation),
        ("14:00", ContactPurpose::ProgressUpdate),
        ("19:00", ContactPurpose::GatherInformation),
    ] {
        h.ok(call_for(purpose, false), DealerStaff, &t(2, when));
    }
    assert_eq!(h.state().contacts.attempts, 3);
    assert!(h.state().contacts.failed_streak.is_empty());
    assert_eq!(
        h.refused(
            CustomerUnreachable { failed_attempts: 3 },
            Engine,
            &t(2, "19:30")
        ),
        "unreachable_needs_failed_attempts"
    );
}

#[test]
fn callback_too_soon() {
    let mut h = resolved_case();
    h.ok(call(false), DealerStaff, &t(2, "11:00"));
    assert_eq!(
        h.refused(call(false), DealerStaff, &t(2, "12:30")),
        "callback_too_soon"
    );
    // An answered call is never too soon.
    h.ok(call(true), DealerStaff, &t(2, "12:30"));
}

#[test]
fn callback_needs_other_time_of_day() {
    let mut h = resolved_case();
    h.ok(call(false), DealerStaff, &t(3, "09:00"));
    assert_eq!(
        h.refused(call(false), DealerStaff, &t(3, "11:30")),
        "callback_needs_other_time_of_day"
    );
    assert_eq!(
        h.refused(call(false), DealerStaff, &t(4, "09:00")),
        "callback_needs_other_time_of_day"
    );
    h.ok(call(false), DealerStaff, &t(3, "13:00"));
}

#[test]
fn unreachable_needs_failed_attempts() {
    let mut h = resolved_case();
    h.ok(call(false), DealerStaff, &t(3, "09:30"));
    h.ok(call(false), DealerStaff, &t(3, "14:00"));
    let event = CustomerUnreachable { failed_attempts: 2 };
    assert_eq!(
        h.refused(event.clone(), Engine, &t(3, "16:00")),
        "unreachable_needs_failed_attempts"
    );
    // An answered call resets the run.
    h.ok(call(true), DealerStaff, &t(3, "19:00"));
    assert!(h.state().contacts.failed_streak.is_empty());
}

#[test]
fn solution_needs_options() {
    let empty = SolutionProposed { options: vec![] };
    assert_eq!(
        filed().refused(empty, DealerStaff, &t(1, "11:00")),
        "solution_needs_options"
    );
}

#[test]
fn duplicate_option_id() {
    let later = at(&t(3, "17:00"));
    let h = filed();
    assert_eq!(
        h.refused(
            proposal(&[("O1", later), ("O1", later)]),
            DealerStaff,
            &t(1, "11:00")
        ),
        "duplicate_option_id"
    );
    let mut h = filed();
    h.ok(proposal(&[("O1", later)]), DealerStaff, &t(1, "11:00"));
    assert_eq!(
        h.refused(proposal(&[("O1", later)]), DealerStaff, &t(1, "12:00")),
        "duplicate_option_id"
    );
}

#[test]
fn solution_already_agreed() {
    let h = agreed();
    assert_eq!(
        h.refused(accept("O2"), DealerStaff, &t(1, "12:00")),
        "solution_already_agreed"
    );
    assert_eq!(
        h.refused(
            proposal(&[("O3", at(&t(4, "10:00")))]),
            DealerStaff,
            &t(1, "12:00")
        ),
        "solution_already_agreed"
    );
}

#[test]
fn promise_in_past() {
    let h = filed();
    assert_eq!(
        h.refused(
            proposal(&[("O1", at(&t(1, "10:30")))]),
            DealerStaff,
            &t(1, "11:00")
        ),
        "promise_in_past"
    );
    let change = PromiseDateChanged {
        new_date: at(&t(1, "09:00")),
        reason: text("oops"),
    };
    assert_eq!(
        agreed().refused(change, DealerStaff, &t(1, "12:00")),
        "promise_in_past"
    );
}

#[test]
fn option_not_proposed() {
    assert_eq!(
        filed().refused(accept("O9"), DealerStaff, &t(1, "11:00")),
        "option_not_proposed"
    );
    let reject = OptionRejected {
        option_id: option_id("O9"),
        reason: text("no"),
    };
    assert_eq!(
        filed().refused(reject, DealerStaff, &t(1, "11:00")),
        "option_not_proposed"
    );
}

#[test]
fn option_already_decided() {
    let mut h = filed();
    h.ok(
        proposal(&[("O1", at(&t(3, "17:00"))), ("O2", at(&t(4, "17:00")))]),
        DealerStaff,
        &t(1, "11:00"),
    );
    h.ok(
        OptionRejected {
            option_id: option_id("O1"),
            reason: text("too slow"),
        },
        DealerStaff,
        &t(1, "11:05"),
    );
    assert_eq!(
        h.refused(accept("O1"), DealerStaff, &t(1, "11:10")),
        "option_already_decided"
    );
    h.ok(accept("O2"), DealerStaff, &t(1, "11:10"));
}

#[test]
fn no_promise_to_change() {
    let change = PromiseDateChanged {
        new_date: at(&t(5, "10:00")),
        reason: text("parts late"),
    };
    assert_eq!(
        filed().refused(change, DealerStaff, &t(1, "11:00")),
        "no_promise_to_change"
    );
}

#[test]
fn promise_date_unchanged() {
    let change = PromiseDateChanged {
        new_date: at(&t(3, "17:00")),
        reason: text("same"),
    };
    assert_eq!(
        agreed().refused(change, DealerStaff, &t(1, "12:00")),
        "promise_date_unchanged"
    );
}

#[test]
fn duplicate_compensation_id() {
    let h = requested(CompensationKind::Discount, 10_000);
    assert_eq!(
        h.refused(
            request(CompensationKind::Rework, 1),
            DealerStaff,
            &t(1, "12:05")
        ),
        "duplicate_compensation_id"
    );
}

#[test]
fn compensation_not_requested() {
    assert_eq!(
        agreed().refused(
            approval(Level::ServiceManager, 1, true),
            ServiceManager,
            &t(1, "12:00")
        ),
        "compensation_not_requested"
    );
}

#[test]
fn compensation_already_decided() {
    let mut h = requested(CompensationKind::Discount, 10_000);
    h.ok(
        approval(Level::ServiceManager, 10_000, true),
        ServiceManager,
        &t(1, "12:10"),
    );
    assert_eq!(
        h.refused(
            approval(Level::ServiceManager, 10_000, true),
            ServiceManager,
            &t(1, "12:20")
        ),
        "compensation_already_decided"
    );
    let reject = CompensationRejected {
        compensation_id: comp_id(),
        level: Level::ServiceManager,
        reason: text("no"),
    };
    assert_eq!(
        h.refused(reject, ServiceManager, &t(1, "12:20")),
        "compensation_already_decided"
    );
}

#[test]
fn approver_lacks_level() {
    let h = requested(CompensationKind::Discount, 10_000);
    // A desk clerk claiming to be the service manager.
    assert_eq!(
        h.refused(
            approval(Level::ServiceManager, 10_000, true),
            DealerStaff,
            &t(1, "12:10")
        ),
        "approver_lacks_level"
    );
    let reject = CompensationRejected {
        compensation_id: comp_id(),
        level: Level::ManufacturerCac,
        reason: text("no"),
    };
    assert_eq!(
        h.refused(reject, ServiceManager, &t(1, "12:10")),
        "approver_lacks_level"
    );
}

#[test]
fn compensation_beyond_authority() {
    let mut h = requested(CompensationKind::RentalCar, 30_000);
    // Rental cars are the CAC's to approve, not the dealer's.
    assert_eq!(
        h.refused(
            approval(Level::ServiceManager, 30_000, true),
            ServiceManager,
            &t(1, "12:10")
        ),
        "compensation_beyond_authority"
    );
    h.ok(
        approval(Level::ManufacturerCac, 30_000, true),
        CacAgent,
        &t(1, "12:10"),
    );

    let mut h = requested(CompensationKind::Discount, 600_000);
    assert_eq!(
        h.refused(
            approval(Level::ServiceManager, 600_000, true),
            ServiceManager,
            &t(1, "12:10")
        ),
        "compensation_beyond_authority"
    );
    // Approving less, within the limit, is fine.
    h.ok(
        approval(Level::ServiceManager, 500_000, true),
        ServiceManager,
        &t(1, "12:10"),
    );
}

#[test]
fn compensation_requires_signature() {
    let h = requested(CompensationKind::Discount, 10_000);
    assert_eq!(
        h.refused(
            approval(Level::ShiftSupervisor, 10_000, false),
            ShiftSupervisor,
            &t(1, "12:10")
        ),
        "compensation_requires_signature"
    );
}

#[test]
fn approval_exceeds_request() {
    let h = requested(CompensationKind::Discount, 10_000);
    assert_eq!(
        h.refused(
            approval(Level::ServiceManager, 10_001, true),
            ServiceManager,
            &t(1, "12:10")
        ),
        "approval_exceeds_request"
    );
}

#[test]
fn escalation_from_mismatch() {
    assert_eq!(
        filed().refused(
            escalation(Level::ManufacturerCac, Level::RegionalManager),
            DealerStaff,
            &t(1, "11:00")
        ),
        "escalation_from_mismatch"
    );
}

#[test]
fn escalation_must_go_up() {
    let mut h = filed();
    h.ok(
        escalation(Level::DealerDesk, Level::RegionalManager),
        DealerStaff,
        &t(1, "11:00"),
    );
    assert_eq!(h.state().level, Level::RegionalManager);
    assert_eq!(
        h.refused(
            escalation(Level::RegionalManager, Level::ManufacturerCac),
            CacAgent,
            &t(1, "12:00")
        ),
        "escalation_must_go_up"
    );
    assert_eq!(
        h.refused(
            escalation(Level::RegionalManager, Level::ServiceManager),
            CacAgent,
            &t(1, "12:00")
        ),
        "escalation_must_go_up"
    );
}

#[test]
fn deadline_missed_is_the_engines() {
    let mut h = filed();
    let claimed_miss = Escalated {
        from: Level::DealerDesk,
        to: Level::ManufacturerCac,
        reason: EscalationReason::DeadlineMissed,
        note: None,
    };
    for role in [DealerStaff, ServiceManager, CacAgent, RegionalManager] {
        assert_eq!(
            h.refused(claimed_miss.clone(), role, &t(1, "11:00")),
            "deadline_missed_is_the_engines",
            "{role:?}"
        );
    }
    h.ok(
        Escalated {
            reason: EscalationReason::CustomerRequest,
            ..claimed_miss
        },
        DealerStaff,
        &t(1, "11:00"),
    );
}

#[test]
fn progress_report_due_misstated() {
    let mut h = Harness::new();
    h.ok(
        filing_with(|f| f.severity = Severity::Major),
        DealerStaff,
        &t(1, "10:00"),
    );
    let report = open_deadlines(h.state(), &h.policy)
        .into_iter()
        .find(|d| d.kind == DeadlineKind::ProgressReport)
        .expect("progress report deadline");
    // Due Tuesday 10:00; by Thursday 09:00 two periods have gone by, not three.
    let due = |missed_periods, overdue_since| ProgressReportDue {
        deadline: report.key,
        missed_periods,
        overdue_since,
    };
    for claim in [due(3, Some(report.due_at)), due(0, Some(report.due_at))] {
        assert_eq!(
            h.refused(claim, Engine, &t(4, "09:00")),
            "progress_report_due_misstated"
        );
    }
    assert_eq!(
        h.refused(due(2, Some(at(&t(1, "10:00")))), Engine, &t(4, "09:00")),
        "progress_report_due_misstated"
    );
    h.ok(due(2, Some(report.due_at)), Engine, &t(4, "09:00"));
}

#[test]
fn arrival_before_dispatch() {
    let dispatch = EngineerDispatched {
        engineer: label("Zhao"),
        expected_arrival: at(&t(1, "10:30")),
    };
    assert_eq!(
        filed().refused(dispatch, RegionalEngineer, &t(1, "11:00")),
        "arrival_before_dispatch"
    );
}

#[test]
fn appraisal_requires_engineer() {
    let appraisal = OnSiteAppraisalRecorded {
        findings: text("burnt harness"),
    };
    assert_eq!(
        filed().refused(appraisal.clone(), RegionalEngineer, &t(1, "11:00")),
        "appraisal_requires_engineer"
    );
    let mut h = filed();
    h.ok(
        EngineerDispatched {
            engineer: label("Zhao"),
            expected_arrival: at(&t(1, "13:00")),
        },
        RegionalEngineer,
        &t(1, "11:00"),
    );
    h.ok(appraisal, RegionalEngineer, &t(1, "13:30"));
}

#[test]
fn already_paused() {
    let mut h = filed();
    h.ok(paused(WaitingFor::Parts), DealerStaff, &t(1, "11:00"));
    assert_eq!(
        h.refused(paused(WaitingFor::Customer), DealerStaff, &t(1, "12:00")),
        "already_paused"
    );
}

#[test]
fn resume_requires_pause() {
    let mut h = filed();
    assert_eq!(
        h.refused(resumed(), DealerStaff, &t(1, "11:00")),
        "resume_requires_pause"
    );
    h.ok(paused(WaitingFor::Parts), DealerStaff, &t(1, "11:00"));
    h.ok(resumed(), DealerStaff, &t(1, "12:00"));
    assert_eq!(
        h.refused(resumed(), DealerStaff, &t(1, "13:00")),
        "resume_requires_pause"
    );
}

#[test]
fn work_requires_accepted_solution() {
    let work = WorkCarriedOut {
        description: text("washed the car"),
    };
    assert_eq!(
        filed().refused(work.clone(), DealerStaff, &t(1, "11:00")),
        "work_requires_accepted_solution"
    );
    agreed().ok(work, DealerStaff, &t(1, "12:00"));
}

#[test]
fn resolve_requires_accepted_solution() {
    let mut h = filed();
    h.ok(
        proposal(&[("O1", at(&t(3, "17:00")))]),
        DealerStaff,
        &t(1, "11:00"),
    );
    assert_eq!(
        h.refused(resolved(), DealerStaff, &t(1, "12:00")),
        "resolve_requires_accepted_solution"
    );
}

#[test]
fn already_resolved() {
    let h = resolved_case();
    assert_eq!(
        h.refused(resolved(), DealerStaff, &t(2, "11:00")),
        "already_resolved"
    );
    let work = WorkCarriedOut {
        description: text("more"),
    };
    assert_eq!(
        h.refused(work, DealerStaff, &t(2, "11:00")),
        "already_resolved"
    );
}

#[test]
fn follow_up_requires_resolution() {
    assert_eq!(
        agreed().refused(satisfaction(5), DealerStaff, &t(1, "12:00")),
        "follow_up_requires_resolution"
    );
}

#[test]
fn already_followed_up() {
    let mut h = resolved_case();
    h.ok(satisfaction(5), DealerStaff, &t(3, "10:00"));
    assert_eq!(
        h.refused(satisfaction(4), DealerStaff, &t(3, "11:00")),
        "already_followed_up"
    );
}

#[test]
fn close_requires_follow_up() {
    assert_eq!(
        agreed().refused(closed(), DealerStaff, &t(1, "12:00")),
        "close_requires_follow_up"
    );
    let h = resolved_case();
    assert_eq!(
        h.refused(closed(), DealerStaff, &t(2, "11:00")),
        "close_requires_follow_up"
    );
    // An unreachable customer counts as followed up.
    let mut h = resolved_case();
    three_failed_calls(&mut h);
    h.ok(
        CustomerUnreachable { failed_attempts: 3 },
        Engine,
        &t(2, "19:00"),
    );
    h.ok(closed(), DealerStaff, &t(3, "10:00"));
}

#[test]
fn close_requires_satisfied_customer() {
    let mut h = resolved_case();
    h.ok(satisfaction(2), DealerStaff, &t(3, "10:00"));
    assert_eq!(
        h.refused(closed(), DealerStaff, &t(3, "10:05")),
        "close_requires_satisfied_customer"
    );
    h.ok(
        Reopened {
            reason: text("not satisfied"),
        },
        DealerStaff,
        &t(3, "10:10"),
    );
}

#[test]
fn reopen_requires_resolution() {
    assert_eq!(
        agreed().refused(
            Reopened {
                reason: text("why")
            },
            DealerStaff,
            &t(1, "12:00")
        ),
        "reopen_requires_resolution"
    );
}

#[test]
fn duplicate_corrective_action() {
    let mut h = filed();
    h.ok(action(0), DealerStaff, &t(1, "11:00"));
    assert_eq!(
        h.refused(action(0), DealerStaff, &t(1, "12:00")),
        "duplicate_corrective_action"
    );
}

#[test]
fn corrective_action_unknown() {
    assert_eq!(
        filed().refused(action(1), DealerStaff, &t(1, "11:00")),
        "corrective_action_unknown"
    );
}

#[test]
fn corrective_action_out_of_order() {
    let mut h = filed();
    h.ok(action(0), DealerStaff, &t(1, "11:00"));
    assert_eq!(
        h.refused(action(2), ServiceManager, &t(1, "12:00")),
        "corrective_action_out_of_order"
    );
    h.ok(action(1), DealerStaff, &t(1, "12:00"));
    assert_eq!(
        h.refused(action(1), DealerStaff, &t(1, "12:30")),
        "corrective_action_out_of_order"
    );
    h.ok(action(2), ServiceManager, &t(1, "13:00"));
}

#[test]
fn merge_into_self() {
    assert_eq!(
        filed().refused(
            MergedInto {
                target: complaint_id()
            },
            CacAgent,
            &t(1, "11:00")
        ),
        "merge_into_self"
    );
}

#[test]
fn deadline_not_open() {
    let h = filed();
    // No result deadline started by version 7 exists.
    assert_eq!(
        h.refused(missed(DeadlineKind::Result, 7), Engine, &t(9, "10:00")),
        "deadline_not_open"
    );
    // A call-back deadline cannot be reported as missed.
    let open = open_deadlines(h.state(), &h.policy);
    let report = open
        .iter()
        .find(|d| d.kind == DeadlineKind::ReportToCac)
        .expect("report deadline");
    let wrong_event = CallbackDue {
        deadline: report.key,
        attempt: 1,
    };
    assert_eq!(
        h.refused(wrong_event, Engine, &t(9, "10:00")),
        "deadline_not_open"
    );
}

#[test]
fn deadline_not_due() {
    let mut h = filed();
    assert_eq!(
        h.refused(missed(DeadlineKind::ReportToCac, 1), Engine, &t(1, "17:00")),
        "deadline_not_due"
    );
    h.ok(missed(DeadlineKind::ReportToCac, 1), Engine, &t(1, "17:30"));
    // Once fired, it is no longer open.
    assert_eq!(
        h.refused(missed(DeadlineKind::ReportToCac, 1), Engine, &t(1, "17:40")),
        "deadline_not_open"
    );
}

#[test]
fn engine_events_from_the_timers_pass_check() {
    let mut h = filed();
    let report = open_deadlines(h.state(), &h.policy)
        .into_iter()
        .find(|d| d.kind == DeadlineKind::ReportToCac)
        .expect("report deadline");
    let now = report.due_at;
    let events = on_deadline_due(h.state(), &report, DueStage::Due, &h.policy, now);
    assert_eq!(events.len(), 2, "missed + escalated: {events:?}");
    for event in events {
        h.try_at(event, Engine, now)
            .expect("engine event passes check");
    }
    assert_eq!(h.state().level, Level::ManufacturerCac);
}

/// The codes listed in `RuleViolation::code`, read from its source.
fn declared_codes() -> Vec<&'static str> {
    let source = include_str!("violation.rs");
    let body = source
        .split("pub fn code(&self)")
        .nth(1)
        .expect("code() in violation.rs");
    body.split("=> \"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .collect()
}

#[test]
fn every_code_is_unique_snake_case_and_has_its_own_test() {
    let codes = declared_codes();
    assert!(codes.len() >= 50, "found only {} codes", codes.len());
    let tests = include_str!("tests.rs");
    let mut seen = std::collections::BTreeSet::new();
    for code in codes {
        assert!(seen.insert(code), "duplicate code {code}");
        assert!(
            code.chars().all(|c| c.is_ascii_lowercase() || c == '_'),
            "{code}"
        );
        assert!(
            tests.contains(&format!("fn {code}()")),
            "rule {code} has no test named after it"
        );
    }
}

// Issue 13 §3–§4.

fn supplier_cause() -> ComplaintEvent {
    CauseFound {
        root_cause: RootCause::SupplierPart,
        responsible: ResponsibleParty::Supplier,
        summary: text("the pump from the supplier leaks"),
        within_dealer_authority: true,
    }
    .into()
}

fn dealer_cause() -> ComplaintEvent {
    CauseFound {
        root_cause: RootCause::DealerBrokenPromise,
        responsible: ResponsibleParty::Dealer(Department::Service),
        summary: text("nobody told her"),
        within_dealer_authority: true,
    }
    .into()
}

fn notified(supplier: &str) -> ComplaintEvent {
    SupplierNotified {
        supplier: label(supplier),
        part: Some(label("water pump")),
        note: None,
    }
    .into()
}

fn acknowledged(plan_by: Option<&str>) -> ComplaintEvent {
    Acknowledged {
        confirmed_facts: text("waited an hour"),
        plan_promised_by: plan_by.map(at),
    }
    .into()
}

fn renewal(new_date: &str) -> ComplaintEvent {
    PlanPromiseRenewed {
        new_date: at(new_date),
        progress: text("the workshop is still testing"),
    }
    .into()
}

fn result_report() -> ComplaintEvent {
    ResultReportedToCac {
        summary: text("repaired, customer satisfied"),
        cac_reference: None,
    }
    .into()
}

fn assessed(wants: &[CustomerWant]) -> ComplaintEvent {
    ComplaintAssessed {
        nature: ComplaintNature::GoodFaith,
        wants: wants.to_vec(),
        note: None,
    }
    .into()
}

fn three_changes(changes: &[ThreeChange], appointment: Option<&str>) -> ComplaintEvent {
    ThreeChangesMade {
        changes: changes.to_vec(),
        appointment_at: appointment.map(at),
        note: None,
    }
    .into()
}

fn merged_here(duplicate: &str) -> ComplaintEvent {
    DuplicateMerged {
        duplicate: ComplaintId::parse(duplicate).expect("id"),
        open_obligations: Vec::new(),
        pending_compensations: Vec::new(),
    }
    .into()
}

#[test]
fn duplicate_already_merged() {
    let mut h = filed();
    assert_eq!(
        h.refused(merged_here("CMP-DUP"), DealerStaff, &t(1, "11:00")),
        "engine_only_event"
    );
    assert_eq!(
        h.refused(merged_here(complaint_id().as_str()), Engine, &t(1, "11:00")),
        "merge_into_self"
    );
    h.ok(merged_here("CMP-DUP"), Engine, &t(1, "11:00"));
    assert_eq!(h.state().merged_duplicates.len(), 1);
    assert_eq!(
        h.refused(merged_here("CMP-DUP"), Engine, &t(1, "11:05")),
        "duplicate_already_merged"
    );
}

#[test]
fn no_plan_promise() {
    let mut h = filed();
    assert_eq!(
        h.refused(renewal(&t(3, "10:00")), DealerStaff, &t(1, "11:00")),
        "no_plan_promise"
    );
    assert_eq!(
        h.refused(
            acknowledged(Some(&t(1, "09:00"))),
            DealerStaff,
            &t(1, "10:30")
        ),
        "promise_in_past",
        "a plan date told at reception is ahead"
    );
    h.ok(
        acknowledged(Some(&t(2, "16:00"))),
        DealerStaff,
        &t(1, "10:30"),
    );
    assert_eq!(
        h.refused(renewal(&t(2, "16:00")), DealerStaff, &t(1, "11:00")),
        "promise_date_unchanged"
    );
    assert_eq!(
        h.refused(renewal(&t(1, "10:45")), DealerStaff, &t(1, "11:00")),
        "promise_in_past"
    );
    h.ok(renewal(&t(3, "16:00")), DealerStaff, &t(2, "15:00"));
    assert_eq!(h.state().plan_promise.as_ref().map(|p| p.changes), Some(1));
    h.ok(
        proposal(&[("O1", at(&t(4, "17:00")))]),
        DealerStaff,
        &t(3, "10:00"),
    );
    assert_eq!(
        h.refused(renewal(&t(5, "16:00")), DealerStaff, &t(3, "11:00")),
        "no_plan_promise",
        "the plan was put to the customer: the promise is kept"
    );
}

#[test]
fn result_report_requires_resolution() {
    let mut h = agreed();
    assert_eq!(
        h.refused(result_report(), DealerStaff, &t(1, "12:00")),
        "result_report_requires_resolution"
    );
    h.ok(resolved(), DealerStaff, &t(2, "10:00"));
    h.ok(result_report(), DealerStaff, &t(2, "11:00"));
}

#[test]
fn result_already_reported() {
    let mut h = resolved_case();
    h.ok(satisfaction(5), DealerStaff, &t(2, "11:00"));
    h.ok(closed(), DealerStaff, &t(2, "11:10"));
    // 七 "结案并回报 CAC": closed, then reported.
    h.ok(result_report(), DealerStaff, &t(2, "11:20"));
    assert_eq!(
        h.refused(result_report(), DealerStaff, &t(2, "11:30")),
        "result_already_reported"
    );
}

#[test]
fn supplier_not_responsible() {
    let mut h = filed();
    assert_eq!(
        h.refused(notified("Pump Co"), DealerStaff, &t(1, "11:00")),
        "supplier_not_responsible"
    );
    h.ok(dealer_cause(), DealerStaff, &t(1, "11:00"));
    assert_eq!(
        h.refused(notified("Pump Co"), DealerStaff, &t(1, "11:10")),
        "supplier_not_responsible"
    );
    h.ok(supplier_cause(), DealerStaff, &t(1, "11:20"));
    h.ok(notified("Pump Co"), DealerStaff, &t(1, "11:30"));
}

#[test]
fn supplier_already_notified() {
    let mut h = filed();
    h.ok(supplier_cause(), DealerStaff, &t(1, "11:00"));
    h.ok(notified("Pump Co"), DealerStaff, &t(1, "11:10"));
    assert_eq!(
        h.refused(notified("Pump Co"), DealerStaff, &t(1, "11:20")),
        "supplier_already_notified"
    );
    h.ok(notified("Seal Co"), DealerStaff, &t(1, "11:30"));
}

#[test]
fn supplier_not_notified() {
    let mut h = filed();
    h.ok(supplier_cause(), DealerStaff, &t(1, "11:00"));
    let charge_back = |supplier: &str| -> ComplaintEvent {
        SupplierChargedBack {
            supplier: label(supplier),
            amount: money(80_000),
            settlement_reference: None,
        }
        .into()
    };
    let improve: ComplaintEvent = SupplierImprovementRequested {
        supplier: label("Pump Co"),
        request: text("seal test on every pump"),
    }
    .into();
    assert_eq!(
        h.refused(charge_back("Pump Co"), DealerStaff, &t(1, "11:10")),
        "supplier_not_notified"
    );
    assert_eq!(
        h.refused(improve.clone(), DealerStaff, &t(1, "11:10")),
        "supplier_not_notified"
    );
    h.ok(notified("Pump Co"), DealerStaff, &t(1, "11:20"));
    h.ok(charge_back("Pump Co"), DealerStaff, &t(1, "11:30"));
    h.ok(charge_back("Pump Co"), DealerStaff, &t(1, "11:40"));
    h.ok(improve, DealerStaff, &t(1, "11:50"));
    let record = h.state().supplier(&label("Pump Co")).expect("supplier");
    assert_eq!(
        (record.charge_backs, record.charged_back),
        (2, money(160_000))
    );
    assert!(record.improvement_requested.is_some());
}

#[test]
fn assessment_needs_wants() {
    let mut h = filed();
    assert_eq!(
        h.refused(assessed(&[]), DealerStaff, &t(1, "11:00")),
        "assessment_needs_wants"
    );
    h.ok(
        assessed(&[CustomerWant::Vent, CustomerWant::Respect]),
        DealerStaff,
        &t(1, "11:00"),
    );
    let assessment = h.state().assessment.as_ref().expect("assessed");
    assert_eq!(assessment.nature, ComplaintNature::GoodFaith);
}

#[test]
fn duplicate_want() {
    let h = filed();
    assert_eq!(
        h.refused(
            assessed(&[CustomerWant::Vent, CustomerWant::Vent]),
            DealerStaff,
            &t(1, "11:00")
        ),
        "duplicate_want"
    );
}

#[test]
fn three_changes_need_a_change() {
    let mut h = filed();
    assert_eq!(
        h.refused(three_changes(&[], None), DealerStaff, &t(1, "11:00")),
        "three_changes_need_a_change"
    );
    h.ok(
        three_changes(&[ThreeChange::Place, ThreeChange::Person], None),
        DealerStaff,
        &t(1, "11:00"),
    );
    h.ok(
        three_changes(
            &[ThreeChange::Person, ThreeChange::Time],
            Some(&t(2, "10:00")),
        ),
        DealerStaff,
        &t(1, "11:30"),
    );
    assert_eq!(
        h.state().three_changes,
        vec![ThreeChange::Place, ThreeChange::Person, ThreeChange::Time]
    );
}

#[test]
fn duplicate_three_change() {
    let h = filed();
    assert_eq!(
        h.refused(
            three_changes(&[ThreeChange::Place, ThreeChange::Place], None),
            DealerStaff,
            &t(1, "11:00")
        ),
        "duplicate_three_change"
    );
}

#[test]
fn time_change_needs_appointment() {
    let h = filed();
    assert_eq!(
        h.refused(
            three_changes(&[ThreeChange::Time], None),
            DealerStaff,
            &t(1, "11:00")
        ),
        "time_change_needs_appointment"
    );
    assert_eq!(
        h.refused(
            three_changes(&[ThreeChange::Place], Some(&t(2, "10:00"))),
            DealerStaff,
            &t(1, "11:00")
        ),
        "time_change_needs_appointment"
    );
}

#[test]
fn appointment_in_past() {
    let h = filed();
    assert_eq!(
        h.refused(
            three_changes(&[ThreeChange::Time], Some(&t(1, "10:30"))),
            DealerStaff,
            &t(1, "11:00")
        ),
        "appointment_in_past"
    );
}

#[test]
fn prevention_requires_cause() {
    let mut h = filed();
    let plan: ComplaintEvent = PreventionPlanned {
        department: Department::Service,
        plan: text("call the customer when the car is ready"),
    }
    .into();
    assert_eq!(
        h.refused(plan.clone(), DealerStaff, &t(1, "11:00")),
        "prevention_requires_cause"
    );
    h.ok(dealer_cause(), DealerStaff, &t(1, "11:00"));
    h.ok(plan, DealerStaff, &t(1, "11:10"));
    h.ok(
        CaseShared {
            audience: label("service team morning meeting"),
            lessons: text("tell waiting customers when their car is ready"),
        },
        DealerStaff,
        &t(1, "11:20"),
    );
    assert_eq!(
        (h.state().prevention_plans.len(), h.state().times_shared),
        (1, 1)
    );
}

/// A vehicle replacement: the CAC and the region each approve once, the same amount.
#[test]
fn joint_approval_outside_sides() {
    let h = requested(CompensationKind::VehicleReplacement, 15_000_000);
    assert_eq!(
        h.refused(
            approval(Level::ServiceManager, 15_000_000, true),
            ServiceManager,
            &t(1, "13:00")
        ),
        "joint_approval_outside_sides"
    );
}

#[test]
fn joint_approval_side_already_given() {
    let mut h = requested(CompensationKind::VehicleReturn, 15_000_000);
    h.ok(
        approval(Level::RegionalManager, 15_000_000, true),
        RegionalManager,
        &t(1, "13:00"),
    );
    let record = h.state().compensation(&comp_id()).expect("requested");
    assert_eq!(
        record.decision,
        crate::state::CompensationDecision::Pending,
        "one side's approval does not approve a vehicle return"
    );
    assert_eq!(
        h.refused(
            approval(Level::RegionalEngineer, 15_000_000, true),
            RegionalEngineer,
            &t(1, "13:10")
        ),
        "joint_approval_side_already_given",
        "the manager and the engineer are one side"
    );
    h.ok(
        approval(Level::ManufacturerCac, 15_000_000, true),
        CacAgent,
        &t(1, "13:20"),
    );
    let record = h.state().compensation(&comp_id()).expect("requested");
    assert!(matches!(
        record.decision,
        crate::state::CompensationDecision::Approved { .. }
    ));
    assert_eq!(record.approvals.len(), 2);
}

#[test]
fn joint_approval_amount_mismatch() {
    let mut h = requested(CompensationKind::VehicleReplacement, 15_000_000);
    h.ok(
        approval(Level::ManufacturerCac, 15_000_000, true),
        CacAgent,
        &t(1, "13:00"),
    );
    assert_eq!(
        h.refused(
            approval(Level::RegionalManager, 14_000_000, true),
            RegionalManager,
            &t(1, "13:10")
        ),
        "joint_approval_amount_mismatch"
    );
}
