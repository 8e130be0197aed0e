//! Valid sample events, small enough to read in a scenario.

use complaintflow_domain::events::*;
use complaintflow_domain::values::*;
use complaintflow_domain::vocabulary::*;
use jiff::Timestamp;

use super::id;

pub(crate) fn text(s: &str) -> Text {
    Text::parse(s).expect("text")
}

fn label(s: &str) -> Label {
    Label::parse(s).expect("label")
}

/// A complaint as a dealer files it; `customise` changes what a scenario needs.
pub(crate) fn filing(complaint: &str, customise: impl FnOnce(&mut Filed)) -> Filed {
    let mut filed = Filed {
        complaint_id: id(complaint),
        origin: Origin::Dealer,
        channel: Channel::WalkIn,
        dealer: DealerCode::parse("SH-0042").expect("dealer"),
        region: RegionCode::parse("EAST").expect("region"),
        received_by: label("Service advisor Wang"),
        customer: Customer {
            name: label("Ms Li"),
            phone: PhoneNumber::parse("+86 138 0013 8000").expect("phone"),
        },
        vehicle: Vehicle {
            vin: Vin::parse("LSVAG2180E2100001").expect("vin"),
            plate: Some(Plate::parse("沪A12345").expect("plate")),
            model: label("Sedan 1.6"),
            mileage: Mileage::new(23_500).expect("mileage"),
            purchased_on: Some(jiff::civil::date(2024, 5, 20)),
        },
        categories: vec![Category::ReceptionAttitude],
        severity: Severity::Normal,
        emergency: None,
        description: text(
            "Waited an hour in the showroom; the repaired car stood in the car park and nobody told her.",
        ),
        customer_request: text("An apology, and to be told when the car is ready."),
        happened_at: None,
    };
    customise(&mut filed);
    filed
}

pub(crate) fn apologized() -> Apologized {
    Apologized {
        note: Some(text("Apologized in person")),
    }
}

pub(crate) fn reported() -> ReportedToCac {
    ReportedToCac {
        cac_reference: Some(label("CAC-2026-118")),
    }
}

pub(crate) fn cause(root_cause: RootCause, responsible: ResponsibleParty) -> CauseFound {
    CauseFound {
        root_cause,
        responsible,
        summary: text("Root cause established"),
        within_dealer_authority: true,
    }
}

pub(crate) fn proposal(option: &str, promised_by: Timestamp) -> SolutionProposed {
    SolutionProposed {
        options: vec![SolutionOption {
            option_id: OptionId::parse(option).expect("option"),
            summary: text("Apology, explanation, and a call when the car is ready from now on"),
            pros: text("Quick"),
            cons: text("Nothing material"),
            cost: Money::new(0).expect("money"),
            promised_by,
        }],
    }
}

pub(crate) fn accepted(option: &str) -> OptionAccepted {
    OptionAccepted {
        option_id: OptionId::parse(option).expect("option"),
    }
}

pub(crate) fn work() -> WorkCarriedOut {
    WorkCarriedOut {
        description: text("Done as agreed"),
    }
}

pub(crate) fn resolved() -> Resolved {
    Resolved {
        summary: text("Resolved as agreed"),
    }
}

pub(crate) fn call(answered: bool) -> ContactAttempted {
    ContactAttempted {
        purpose: ContactPurpose::SatisfactionCallback,
        answered,
        recording: Some(DocumentRef::parse("rec://calls/0001").expect("recording")),
        note: None,
    }
}

pub(crate) fn satisfied(score: u8) -> SatisfactionRecorded {
    SatisfactionRecorded {
        score: SatisfactionScore::new(score).expect("score"),
        customer_words: Some(text("Thank you for calling back")),
    }
}

pub(crate) fn closed() -> Closed {
    Closed {
        summary: Some(text("Closed, customer satisfied")),
    }
}

pub(crate) fn reopened() -> Reopened {
    Reopened {
        reason: text("The customer called again: the problem is back"),
    }
}

pub(crate) fn action(action: &str, department: Department) -> CorrectiveActionAssigned {
    CorrectiveActionAssigned {
        action_id: ActionId::parse(action).expect("action"),
        department,
        description: text("Add a step: tell the customer as soon as the car is ready"),
    }
}

pub(crate) fn action_done(action: &str) -> CorrectiveActionDone {
    CorrectiveActionDone {
        action_id: ActionId::parse(action).expect("action"),
        note: None,
    }
}

pub(crate) fn action_verified(action: &str) -> CorrectiveActionVerified {
    CorrectiveActionVerified {
        action_id: ActionId::parse(action).expect("action"),
        note: None,
    }
}

pub(crate) fn compensation(
    compensation: &str,
    kind: CompensationKind,
    fen: u64,
) -> CompensationRequested {
    CompensationRequested {
        compensation_id: CompensationId::parse(compensation).expect("compensation"),
        kind,
        amount: Money::new(fen).expect("money"),
        reason: text("Car off the road for a week"),
    }
}

pub(crate) fn approval(
    compensation: &str,
    level: Level,
    fen: u64,
    signature: Option<&str>,
) -> CompensationApproved {
    CompensationApproved {
        compensation_id: CompensationId::parse(compensation).expect("compensation"),
        level,
        amount: Money::new(fen).expect("money"),
        customer_signature: signature.map(|s| DocumentRef::parse(s).expect("signature")),
    }
}

pub(crate) fn engineer(arrival: Timestamp) -> EngineerDispatched {
    EngineerDispatched {
        engineer: label("Regional engineer Zhao"),
        expected_arrival: arrival,
    }
}

pub(crate) fn appraisal() -> OnSiteAppraisalRecorded {
    OnSiteAppraisalRecorded {
        findings: text("Fire started at an aftermarket wiring harness"),
    }
}

pub(crate) fn progress() -> ProgressReported {
    ProgressReported {
        summary: text("Vehicle at the workshop, parts ordered"),
    }
}
