//! The requests a dealer system sends over a complaint's life, as protobuf messages.
//!
//! Every complaint follows the same always-valid path (filed, apologized, reported to
//! the CAC, facts gathered, notes, cause found, a solution proposed, accepted, carried
//! out, resolved), so that the engine's rules accept every event whatever the time of
//! day: no call attempts (calling hours), no dates in the past or the future beyond
//! the promise. What varies is the dealer, the category and how many notes are taken,
//! so that the streams are not all alike.

use rand::RngExt;
use rand::rngs::StdRng;
use uuid::Uuid;

use complaintflow_server::api::proto::{self, workflow_event::Kind};

/// Dealers of the generated complaints. All in one region, so a CAC token for `EAST`
/// sees them as well as an admin token does.
pub const REGION: &str = "EAST";
const DEALERS: u32 = 40;
/// The option every generated proposal offers and the customer accepts.
const OPTION_ID: &str = "O1";

/// A complaint as a dealer's service advisor takes it at the counter.
pub fn filing(rng: &mut StdRng) -> proto::Filed {
    let dealer = rng.random_range(1..=DEALERS);
    let category = match rng.random_range(0..4) {
        0 => proto::Category::ReceptionAttitude,
        1 => proto::Category::RepairWorkmanship,
        2 => proto::Category::RepairCost,
        _ => proto::Category::SpareParts,
    };
    proto::Filed {
        origin: proto::Origin::Dealer as i32,
        channel: proto::Channel::WalkIn as i32,
        dealer_code: format!("SH-{dealer:04}"),
        region_code: REGION.to_owned(),
        received_by: "Service advisor Wang".to_owned(),
        customer: Some(proto::Customer {
            name: "Ms Li".to_owned(),
            phone: format!("+86 138 {:04} {:04}", rng.random_range(0..10_000), rng.random_range(0..10_000)),
        }),
        vehicle: Some(proto::Vehicle {
            vin: format!("LSVAG2180E2{:06}", rng.random_range(0..1_000_000)),
            plate: String::new(),
            model: "Sedan 1.6".to_owned(),
            mileage_km: rng.random_range(0..200_000),
            purchase_date: String::new(),
        }),
        categories: vec![category as i32],
        severity: proto::Severity::Normal as i32,
        emergency: proto::EmergencyKind::Unspecified as i32,
        description: "Waited an hour in the showroom; the repaired car stood in the car park and nobody told her."
            .to_owned(),
        customer_request: "An apology, and to be told when the car is ready.".to_owned(),
        happened_at: None,
    }
}

pub fn file_request(
    request_id: Uuid,
    complaint_id: &str,
    filed: proto::Filed,
) -> proto::FileComplaintRequest {
    proto::FileComplaintRequest {
        request_id: request_id.to_string(),
        complaint_id: complaint_id.to_owned(),
        occur_time: None,
        filed: Some(filed),
        correlation_id: String::new(),
        backfill: false,
    }
}

pub fn append_request(
    complaint_id: &str,
    request_id: Uuid,
    expected_version: Option<u64>,
    events: Vec<proto::EventSubmission>,
) -> proto::AppendEventsRequest {
    proto::AppendEventsRequest {
        name: complaint_name(complaint_id),
        request_id: request_id.to_string(),
        expected_version,
        events,
        backfill: false,
    }
}

pub fn complaint_name(complaint_id: &str) -> String {
    format!("complaints/{complaint_id}")
}

/// One event at the server's time. `event_id` empty lets the server derive it from the
/// request id, which is what makes a retried request idempotent without client ids.
pub fn submission(event_id: Option<Uuid>, kind: Kind) -> proto::EventSubmission {
    proto::EventSubmission {
        event_id: event_id.map(|id| id.to_string()).unwrap_or_default(),
        occur_time: None,
        correlation_id: String::new(),
        causation_id: String::new(),
        event: Some(proto::WorkflowEvent { kind: Some(kind) }),
    }
}

pub fn note(text: impl Into<String>) -> Kind {
    Kind::NoteAdded(proto::NoteAdded { text: text.into() })
}

/// The events after filing, in the appends a dealer system would send them: what
/// happens at the first contact, what the investigation finds, and the outcome. About
/// ten events in three calls.
pub fn life_after_filing(rng: &mut StdRng) -> Vec<Vec<Kind>> {
    let first_contact = vec![
        Kind::Apologized(proto::Apologized {
            note: "Apologized in person".to_owned(),
        }),
        Kind::ReportedToCac(proto::ReportedToCac {
            cac_reference: String::new(),
        }),
        Kind::InformationGathered(proto::InformationGathered {
            facts: "The car was ready at 10:00; the advisor was told at 11:00.".to_owned(),
        }),
    ];
    let mut investigation: Vec<Kind> = (0..rng.random_range(1..=2))
        .map(|i| note(format!("Spoke to the workshop foreman ({})", i + 1)))
        .collect();
    investigation.push(Kind::CauseFound(proto::CauseFound {
        root_cause: proto::RootCause::DealerBrokenPromise as i32,
        responsible: Some(proto::ResponsibleParty {
            kind: proto::ResponsiblePartyKind::Dealer as i32,
            department: proto::Department::Service as i32,
        }),
        summary: "Nobody told the advisor the car was ready".to_owned(),
        within_dealer_authority: true,
    }));
    investigation.push(Kind::SolutionProposed(proto::SolutionProposed {
        options: vec![proto::SolutionOption {
            option_id: OPTION_ID.to_owned(),
            summary: "Apology, explanation, and a call when the car is ready from now on"
                .to_owned(),
            pros: "Quick".to_owned(),
            cons: "Nothing material".to_owned(),
            cost_minor_units: 0,
            promised_by: Some(days_from_now(7)),
        }],
    }));
    let outcome = vec![
        Kind::OptionAccepted(proto::OptionAccepted {
            option_id: OPTION_ID.to_owned(),
        }),
        Kind::WorkCarriedOut(proto::WorkCarriedOut {
            description: "Done as agreed".to_owned(),
        }),
        Kind::Resolved(proto::Resolved {
            summary: "Resolved as agreed".to_owned(),
        }),
    ];
    vec![first_contact, investigation, outcome]
}

fn days_from_now(days: i64) -> prost_types::Timestamp {
    let at = jiff::Timestamp::now() + jiff::SignedDuration::from_hours(24 * days);
    prost_types::Timestamp {
        seconds: at.as_second(),
        nanos: 0,
    }
}
