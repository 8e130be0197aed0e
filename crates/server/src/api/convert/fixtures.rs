//! Small domain values for the tests of this module (the domain's own test kit is
//! private to it).

use jiff::Timestamp;

use complaintflow_domain::deadlines::{DeadlineKey, DeadlineKind};
use complaintflow_domain::events as ev;
use complaintflow_domain::values::*;
use complaintflow_domain::vocabulary::*;

pub(crate) fn id() -> ComplaintId {
    ComplaintId::parse("CMP-2025-0004").expect("test id")
}

pub(crate) fn at(s: &str) -> Timestamp {
    s.parse().expect("test instant")
}

/// Any checked string newtype from a literal.
pub(crate) fn v<T: TryFrom<String, Error = InvalidValue>>(s: &str) -> T {
    T::try_from(s.to_owned()).expect("test value")
}

pub(crate) fn money(fen: u64) -> Money {
    Money::new(fen).expect("test amount")
}

pub(crate) fn key(kind: DeadlineKind, started_by: u64, generation: u32) -> DeadlineKey {
    DeadlineKey {
        kind,
        started_by,
        generation,
    }
}

pub(crate) fn filing() -> ev::Filed {
    ev::Filed {
        complaint_id: id(),
        origin: Origin::Dealer,
        channel: Channel::WalkIn,
        dealer: v("D-14001"),
        region: v("CN-NORTH"),
        received_by: v("Service advisor Wang"),
        customer: ev::Customer {
            name: v("Ms Li"),
            phone: v("+86 138 0013 8000"),
        },
        vehicle: ev::Vehicle {
            vin: v("LSVAG2180E2100001"),
            plate: Some(v("晋A12345")),
            model: v("Sedan 1.6"),
            mileage: Mileage::new(23_500).expect("mileage"),
            purchased_on: Some(jiff::civil::date(2023, 5, 20)),
        },
        categories: vec![Category::ReceptionAttitude, Category::RepairWorkmanship],
        severity: Severity::Major,
        emergency: Some(EmergencyKind::Flood),
        description: v("Waited an hour; nobody told her the car was ready."),
        customer_request: v("An apology and an explanation."),
        happened_at: Some(at("2025-09-01T01:00:00.25Z")),
    }
}

/// The dealer's service department broke a promise.
pub(crate) fn dealer_cause() -> ev::CauseFound {
    ev::CauseFound {
        root_cause: RootCause::DealerBrokenPromise,
        responsible: ResponsibleParty::Dealer(Department::Service),
        summary: v("Nobody called"),
        within_dealer_authority: true,
    }
}

/// A cheap option, promised by 2025-09-03T10:00Z.
pub(crate) fn car_wash_option() -> ev::SolutionOption {
    ev::SolutionOption {
        option_id: v("opt-1"),
        summary: v("Car wash"),
        pros: v("Quick"),
        cons: v("Small"),
        cost: money(5_000),
        promised_by: at("2025-09-03T10:00:00Z"),
    }
}
