//! Sample values and events for tests: the domain's own, the server's and the
//! integration tests'. Kept in one place so that a change to an event's shape is
//! made once, and every crate's tests describe the same complaint.
//!
//! Built for the domain's tests and, through the `testkit` feature, for the tests
//! of the crates that enable it in their dev-dependencies; never for a release.
//! Builders return the event's own payload type, so a test can adjust a field
//! before `.into()` makes it a `ComplaintEvent`.

// A sample that does not parse is a broken test, and should stop it at once.
#![allow(clippy::expect_used, reason = "samples are literals the tests own")]

#[cfg(test)]
mod harness;

use jiff::Timestamp;

use crate::actor::{Actor, Role};
use crate::events as ev;
use crate::values::{
    ActionId, ActorId, CompensationId, ComplaintId, DealerCode, DocumentRef, Label, Mileage, Money,
    OptionId, PhoneNumber, Plate, RegionCode, SatisfactionScore, Text, Vin,
};
use crate::vocabulary::{
    Category, Channel, CompensationKind, ComplaintNature, ContactPurpose, CustomerWant, Department,
    EmergencyKind, Level, Origin, ResponsibleParty, RootCause, Severity, ThreeChange, WaitingFor,
};

#[cfg(test)]
pub(crate) use harness::Harness;

/// The id of the complaint the domain's and the conversions' tests work on.
pub(crate) const COMPLAINT: &str = "CMP-2025-0004";

pub fn at(s: &str) -> Timestamp {
    s.parse().expect("test timestamp")
}

pub fn text(s: &str) -> Text {
    Text::parse(s).expect("test text")
}

pub fn label(s: &str) -> Label {
    Label::parse(s).expect("test label")
}

pub fn complaint_id() -> ComplaintId {
    ComplaintId::parse(COMPLAINT).expect("test id")
}

pub fn option_id(s: &str) -> OptionId {
    OptionId::parse(s).expect("test option id")
}

pub fn money(fen: u64) -> Money {
    Money::new(fen).expect("test amount")
}

/// The first user of `role`, or the engine itself.
pub fn actor(role: Role) -> Actor {
    match role {
        Role::Engine => Actor::engine(),
        _ => Actor::new(
            ActorId::parse(format!("{role}-1")).expect("test actor"),
            role,
        ),
    }
}

/// Seed 004: a customer waited an hour in the showroom while her repaired
/// car stood in the car park and nobody told her.
pub(crate) fn seed_004_filing() -> ev::Filed {
    ev::Filed {
        complaint_id: complaint_id(),
        origin: Origin::Dealer,
        channel: Channel::WalkIn,
        dealer: DealerCode::parse("D-14001").expect("dealer"),
        region: RegionCode::parse("CN-NORTH").expect("region"),
        received_by: label("Service advisor Wang"),
        customer: ev::Customer {
            name: label("Ms Li"),
            phone: PhoneNumber::parse("+86 138 0013 8000").expect("phone"),
        },
        vehicle: ev::Vehicle {
            vin: Vin::parse("LSVAG2180E2100001").expect("vin"),
            plate: Some(Plate::parse("晋A12345").expect("plate")),
            model: label("Sedan 1.6"),
            mileage: Mileage::new(23_500).expect("mileage"),
            purchased_on: Some(jiff::civil::date(2023, 5, 20)),
        },
        categories: vec![Category::ReceptionAttitude, Category::RepairWorkmanship],
        severity: Severity::Normal,
        emergency: None,
        description: text(
            "Waited an hour in the showroom; the repaired car stood in the car park and nobody told her.",
        ),
        customer_request: text(
            "An apology and an explanation; wants to be told when the car is ready.",
        ),
        happened_at: Some(at("2025-09-01T09:00:00+08:00")),
    }
}

/// Seed 004 with every optional field set, as a major emergency that happened at a
/// sub-second instant: a conversion that drops a field or rounds a time shows.
pub fn major_flood_filing() -> ev::Filed {
    ev::Filed {
        severity: Severity::Major,
        emergency: Some(EmergencyKind::Flood),
        happened_at: Some(at("2025-09-01T01:00:00.25Z")),
        ..seed_004_filing()
    }
}

/// Seed 004 under any complaint id, filed at SH-0042 in region EAST: the dealer and
/// region the integration tests' servers and tokens are set up for. `customise`
/// changes what a scenario needs.
pub fn filing(complaint: &str, customise: impl FnOnce(&mut ev::Filed)) -> ev::Filed {
    let mut filed = ev::Filed {
        complaint_id: ComplaintId::parse(complaint).expect("test complaint id"),
        dealer: DealerCode::parse("SH-0042").expect("dealer"),
        region: RegionCode::parse("EAST").expect("region"),
        categories: vec![Category::ReceptionAttitude],
        happened_at: None,
        ..seed_004_filing()
    };
    filed.vehicle.plate = Some(Plate::parse("沪A12345").expect("plate"));
    filed.vehicle.purchased_on = Some(jiff::civil::date(2024, 5, 20));
    customise(&mut filed);
    filed
}

pub fn apologized() -> ev::Apologized {
    ev::Apologized {
        note: Some(text("Apologized in person")),
    }
}

pub fn reported_to_cac() -> ev::ReportedToCac {
    ev::ReportedToCac {
        cac_reference: None,
    }
}

/// With the optional reference set, so that it travels through the API as well.
pub fn reported_to_cac_with_reference() -> ev::ReportedToCac {
    ev::ReportedToCac {
        cac_reference: Some(label("CAC-2026-118")),
    }
}

pub fn cause(root_cause: RootCause, responsible: ResponsibleParty) -> ev::CauseFound {
    ev::CauseFound {
        root_cause,
        responsible,
        summary: text("Root cause established"),
        within_dealer_authority: true,
    }
}

pub fn option(id: &str, promised_by: Timestamp) -> ev::SolutionOption {
    ev::SolutionOption {
        option_id: option_id(id),
        summary: text("Free car wash and a written apology"),
        pros: text("Quick"),
        cons: text("Does not address the process"),
        cost: money(5_000),
        promised_by,
    }
}

/// One `option` for each id and promised time.
pub fn proposal(options: &[(&str, Timestamp)]) -> ev::SolutionProposed {
    ev::SolutionProposed {
        options: options.iter().map(|(id, by)| option(id, *by)).collect(),
    }
}

pub fn accept(id: &str) -> ev::OptionAccepted {
    ev::OptionAccepted {
        option_id: option_id(id),
    }
}

pub fn work() -> ev::WorkCarriedOut {
    ev::WorkCarriedOut {
        description: text("Done as agreed"),
    }
}

pub fn resolved() -> ev::Resolved {
    ev::Resolved {
        summary: text("Apologized, explained, new pick-up notification process"),
    }
}

/// A satisfaction call-back.
pub fn call(answered: bool) -> ev::ContactAttempted {
    call_for(ContactPurpose::SatisfactionCallback, answered)
}

pub fn call_for(purpose: ContactPurpose, answered: bool) -> ev::ContactAttempted {
    ev::ContactAttempted {
        purpose,
        answered,
        recording: None,
        note: None,
    }
}

/// A satisfaction call-back with its recording, so that the optional reference
/// travels through the API as well.
pub fn recorded_call(answered: bool) -> ev::ContactAttempted {
    ev::ContactAttempted {
        recording: Some(DocumentRef::parse("rec://calls/0001").expect("recording")),
        ..call(answered)
    }
}

pub fn satisfaction(score: u8) -> ev::SatisfactionRecorded {
    ev::SatisfactionRecorded {
        score: SatisfactionScore::new(score).expect("score"),
        customer_words: Some(text("OK")),
    }
}

pub fn paused(waiting_for: WaitingFor) -> ev::Paused {
    ev::Paused {
        waiting_for,
        reason: text("waiting"),
    }
}

pub fn resumed() -> ev::Resumed {
    ev::Resumed { note: None }
}

pub fn closed() -> ev::Closed {
    ev::Closed { summary: None }
}

/// With the optional summary set, so that it travels through the API as well.
pub fn closed_with_summary() -> ev::Closed {
    ev::Closed {
        summary: Some(text("Closed, customer satisfied")),
    }
}

pub fn reopened() -> ev::Reopened {
    ev::Reopened {
        reason: text("The customer called again: the problem is back"),
    }
}

pub fn action(action: &str, department: Department) -> ev::CorrectiveActionAssigned {
    ev::CorrectiveActionAssigned {
        action_id: ActionId::parse(action).expect("action"),
        department,
        description: text("Add a step: tell the customer as soon as the car is ready"),
    }
}

pub fn action_done(action: &str) -> ev::CorrectiveActionDone {
    ev::CorrectiveActionDone {
        action_id: ActionId::parse(action).expect("action"),
        note: None,
    }
}

pub fn action_verified(action: &str) -> ev::CorrectiveActionVerified {
    ev::CorrectiveActionVerified {
        action_id: ActionId::parse(action).expect("action"),
        note: None,
    }
}

pub fn compensation(
    compensation: &str,
    kind: CompensationKind,
    fen: u64,
) -> ev::CompensationRequested {
    ev::CompensationRequested {
        compensation_id: CompensationId::parse(compensation).expect("compensation"),
        kind,
        amount: money(fen),
        reason: text("Car off the road for a week"),
    }
}

pub fn approval(
    compensation: &str,
    level: Level,
    fen: u64,
    signature: Option<&str>,
) -> ev::CompensationApproved {
    ev::CompensationApproved {
        compensation_id: CompensationId::parse(compensation).expect("compensation"),
        level,
        amount: money(fen),
        customer_signature: signature.map(|s| DocumentRef::parse(s).expect("signature")),
    }
}

pub fn engineer(arrival: Timestamp) -> ev::EngineerDispatched {
    ev::EngineerDispatched {
        engineer: label("Regional engineer Zhao"),
        expected_arrival: arrival,
    }
}

pub fn appraisal() -> ev::OnSiteAppraisalRecorded {
    ev::OnSiteAppraisalRecorded {
        findings: text("Fire started at an aftermarket wiring harness"),
    }
}

pub fn progress() -> ev::ProgressReported {
    ev::ProgressReported {
        summary: text("Vehicle at the workshop, parts ordered"),
    }
}

pub fn acknowledged(plan_by: Timestamp) -> ev::Acknowledged {
    ev::Acknowledged {
        confirmed_facts: text("Waited an hour; nobody said the car was ready"),
        plan_promised_by: Some(plan_by),
    }
}

pub fn renewal(new_date: Timestamp) -> ev::PlanPromiseRenewed {
    ev::PlanPromiseRenewed {
        new_date,
        progress: text("The workshop is still testing the pump"),
    }
}

pub fn result_report() -> ev::ResultReportedToCac {
    ev::ResultReportedToCac {
        summary: text("Repaired; the customer is satisfied"),
        cac_reference: Some(label("CAC-2026-1123-9")),
    }
}

pub fn merged_into(target: &str) -> ev::MergedInto {
    ev::MergedInto {
        target: ComplaintId::parse(target).expect("id"),
    }
}

pub fn assessed(nature: ComplaintNature, wants: &[CustomerWant]) -> ev::ComplaintAssessed {
    ev::ComplaintAssessed {
        nature,
        wants: wants.to_vec(),
        note: None,
    }
}

pub fn three_changes(changes: &[ThreeChange], at: Option<Timestamp>) -> ev::ThreeChangesMade {
    ev::ThreeChangesMade {
        changes: changes.to_vec(),
        appointment_at: at,
        note: Some(text("Quiet room, the service manager, Thursday morning")),
    }
}

pub fn supplier_notified() -> ev::SupplierNotified {
    ev::SupplierNotified {
        supplier: label("Pump Co"),
        part: Some(label("water pump")),
        note: None,
    }
}

pub fn charged_back(fen: u64) -> ev::SupplierChargedBack {
    ev::SupplierChargedBack {
        supplier: label("Pump Co"),
        amount: Money::new(fen).expect("money"),
        settlement_reference: Some(label("SETTLE-2026-11")),
    }
}

pub fn improvement() -> ev::SupplierImprovementRequested {
    ev::SupplierImprovementRequested {
        supplier: label("Pump Co"),
        request: text("A seal test on every pump before delivery"),
    }
}

pub fn shared() -> ev::CaseShared {
    ev::CaseShared {
        audience: label("Service advisors' morning meeting"),
        lessons: text("Tell a waiting customer when the car is ready"),
    }
}

pub fn prevention() -> ev::PreventionPlanned {
    ev::PreventionPlanned {
        department: Department::Service,
        plan: text("A ready-call for every car; a hand-over list at the desk"),
    }
}
