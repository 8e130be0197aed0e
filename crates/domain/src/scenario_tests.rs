//! Seed 004 end to end: a customer waited an hour in the showroom while
//! her repaired car stood in the car park and nobody told her. Every event
//! goes through `check` and `apply`, as in the engine.

use super::actor::Role::*;
use super::deadlines::{DeadlineKind, DueStage, on_deadline_due, open_deadlines};
use super::events::*;
use super::state::{ActionStatus, CompensationDecision, Status, replay};
use super::testkit::*;
use super::values::*;
use super::vocabulary::*;

fn t(day: u8, hm: &str) -> String {
    format!("2025-09-{day:02}T{hm}:00+08:00")
}

#[test]
fn seed_004_the_waiting_customer_from_complaint_to_prevention() {
    // Step 1, receive: record, apologize, confirm, say when a plan comes.
    let mut h = Harness::filed_at(&t(1, "10:05"));
    assert_eq!(h.state().status, Status::Received);
    h.ok(
        Apologized {
            note: Some(text("Apologized in the quiet room (change the place)")),
        },
        DealerStaff,
        &t(1, "10:06"),
    );
    h.ok(
        Acknowledged {
            confirmed_facts: text("Car finished 09:05, customer not told, waited until 10:00"),
            plan_promised_by: Some(at(&t(1, "16:00"))),
        },
        DealerStaff,
        &t(1, "10:10"),
    );
    h.ok(
        ReportedToCac {
            cac_reference: Some(label("CAC-2025-0901-17")),
        },
        DealerStaff,
        &t(1, "11:00"),
    );
    let open: Vec<DeadlineKind> = open_deadlines(h.state(), &h.policy)
        .iter()
        .map(|d| d.kind)
        .collect();
    // The plan promised for 16:00, the result, and the result report to the CAC.
    assert_eq!(
        open,
        vec![
            DeadlineKind::PlanPromise,
            DeadlineKind::Result,
            DeadlineKind::ResultReport
        ]
    );

    // Step 2, cause and plan: a broken promise by the service department.
    h.ok(
        InformationGathered {
            facts: text("Advisor went on lunch break without handing over"),
        },
        DealerStaff,
        &t(1, "11:30"),
    );
    h.ok(
        CauseFound {
            root_cause: RootCause::DealerBrokenPromise,
            responsible: ResponsibleParty::Dealer(Department::Service),
            summary: text("No hand-over between advisors; no pick-up notification"),
            within_dealer_authority: true,
        },
        ServiceManager,
        &t(1, "13:00"),
    );
    assert_eq!(h.state().status, Status::Investigating);
    h.ok(
        proposal(&[
            ("WASH", at(&t(1, "17:00"))),
            ("VOUCHER", at(&t(2, "17:00"))),
        ]),
        ServiceManager,
        &t(1, "14:00"),
    );
    h.ok(
        OptionRejected {
            option_id: option_id("WASH"),
            reason: text("Does not make up for the lost hour"),
        },
        DealerStaff,
        &t(1, "14:30"),
    );

    // Step 3, agree and carry out: a maintenance discount, signed.
    h.ok(accept("VOUCHER"), DealerStaff, &t(1, "14:40"));
    assert_eq!(h.state().status, Status::SolutionAgreed);
    let compensation = CompensationId::parse("VOUCHER-1").expect("id");
    h.ok(
        CompensationRequested {
            compensation_id: compensation.clone(),
            kind: CompensationKind::Discount,
            amount: money(20_000),
            reason: text("Next maintenance 200 yuan off"),
        },
        DealerStaff,
        &t(1, "14:45"),
    );
    h.ok(
        CompensationApproved {
            compensation_id: compensation.clone(),
            level: Level::ServiceManager,
            amount: money(20_000),
            customer_signature: Some(
                DocumentRef::parse("dms://signatures/2025/0901/li").expect("ref"),
            ),
        },
        ServiceManager,
        &t(1, "15:00"),
    );
    assert!(matches!(
        h.state().compensation(&compensation).map(|c| &c.decision),
        Some(CompensationDecision::Approved { .. })
    ));
    h.ok(
        WorkCarriedOut {
            description: text("Voucher issued; customer walked to her car"),
        },
        DealerStaff,
        &t(2, "09:00"),
    );
    h.ok(resolved(), DealerStaff, &t(2, "09:30"));
    assert_eq!(h.state().status, Status::Resolved);

    // Step 4, follow up: first call unanswered, the timer asks for another try.
    h.ok(call(false), DealerStaff, &t(3, "10:00"));
    let retry = open_deadlines(h.state(), &h.policy)
        .into_iter()
        .find(|d| d.kind == DeadlineKind::CallbackRetry)
        .expect("retry deadline");
    for event in on_deadline_due(h.state(), &retry, DueStage::Due, &h.policy, retry.due_at) {
        h.try_at(event, Engine, retry.due_at)
            .expect("callback due passes check");
    }
    assert_eq!(
        h.refused(closed(), DealerStaff, &t(3, "12:30")),
        "close_requires_follow_up"
    );
    h.ok(call(true), DealerStaff, &t(3, "14:00"));
    h.ok(
        SatisfactionRecorded {
            score: SatisfactionScore::new(4).expect("score"),
            customer_words: Some(text("Fine now, just tell me next time")),
        },
        DealerStaff,
        &t(3, "14:05"),
    );
    h.ok(closed(), DealerStaff, &t(3, "14:10"));
    assert_eq!(h.state().status, Status::Closed);
    assert!(open_deadlines(h.state(), &h.policy).is_empty());

    // Closed, and the result reported to the CAC (七 "结案并回报 CAC").
    h.ok(
        ResultReportedToCac {
            summary: text("Voucher issued, customer satisfied (4/5)"),
            cac_reference: Some(label("CAC-2025-0901-17")),
        },
        DealerStaff,
        &t(3, "14:20"),
    );

    // Prevention continues after closing: shared with the team, planned, carried out.
    h.ok(
        CaseShared {
            audience: label("Service advisors' morning meeting"),
            lessons: text("Hand over waiting customers before a break"),
        },
        ServiceManager,
        &t(4, "08:45"),
    );
    h.ok(
        PreventionPlanned {
            department: Department::Service,
            plan: text("A ready-call for every car; a hand-over list at the desk"),
        },
        ServiceManager,
        &t(4, "08:50"),
    );
    let action = ActionId::parse("NOTIFY-READY").expect("id");
    h.ok(
        CorrectiveActionAssigned {
            action_id: action.clone(),
            department: Department::Service,
            description: text("Text the customer when the car is ready; hand over on breaks"),
        },
        ServiceManager,
        &t(4, "09:00"),
    );
    h.ok(
        CorrectiveActionDone {
            action_id: action.clone(),
            note: None,
        },
        DealerStaff,
        &t(8, "09:00"),
    );
    h.ok(
        CorrectiveActionVerified {
            action_id: action.clone(),
            note: None,
        },
        ServiceManager,
        &t(15, "09:00"),
    );
    assert_eq!(
        h.state().corrective_action(&action).map(|a| a.status),
        Some(ActionStatus::Verified)
    );

    // Replaying the stream (through the codec) rebuilds the same state.
    let decoded: Vec<_> = h
        .log
        .iter()
        .map(|(event, meta)| {
            let bytes = event.encode_payload();
            let again = ComplaintEvent::decode(event.event_type(), event.schema_version(), &bytes)
                .expect("decodes");
            (again, meta.clone())
        })
        .collect();
    let replayed = replay(decoded.iter().map(|(event, meta)| (event, meta))).expect("state");
    assert_eq!(&replayed, h.state());
    assert_eq!(replayed.version, 24, "one version per event");
}
