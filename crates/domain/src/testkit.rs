//! Test helpers: sample payloads and a harness that runs `check` + `apply`
//! the way the engine does.

use jiff::Timestamp;

use super::actor::{Actor, EventMeta, Role};
use super::events::{self, ComplaintEvent};
use super::policy::Policy;
use super::rules::{CheckContext, RuleViolation, check};
use super::state::{ComplaintState, apply};
use super::values::*;
use super::vocabulary::*;

pub(crate) const COMPLAINT: &str = "CMP-2025-0004";

pub(crate) fn at(s: &str) -> Timestamp {
    s.parse().expect("test timestamp")
}

pub(crate) fn text(s: &str) -> Text {
    Text::parse(s).expect("test text")
}

pub(crate) fn label(s: &str) -> Label {
    Label::parse(s).expect("test label")
}

pub(crate) fn complaint_id() -> ComplaintId {
    ComplaintId::parse(COMPLAINT).expect("test id")
}

pub(crate) fn option_id(s: &str) -> OptionId {
    OptionId::parse(s).expect("test option id")
}

pub(crate) fn money(fen: u64) -> Money {
    Money::new(fen).expect("test amount")
}

pub(crate) fn actor(role: Role) -> Actor {
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
pub(crate) fn seed_004_filing() -> events::Filed {
    events::Filed {
        complaint_id: complaint_id(),
        origin: Origin::Dealer,
        channel: Channel::WalkIn,
        dealer: DealerCode::parse("D-14001").expect("dealer"),
        region: RegionCode::parse("CN-NORTH").expect("region"),
        received_by: label("Service advisor Wang"),
        customer: events::Customer {
            name: label("Ms Li"),
            phone: PhoneNumber::parse("+86 138 0013 8000").expect("phone"),
        },
        vehicle: events::Vehicle {
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

pub(crate) fn option(id: &str, promised_by: Timestamp) -> events::SolutionOption {
    events::SolutionOption {
        option_id: option_id(id),
        summary: text("Free car wash and a written apology"),
        pros: text("Quick"),
        cons: text("Does not address the process"),
        cost: money(5_000),
        promised_by,
    }
}

pub(crate) fn proposal(options: &[(&str, Timestamp)]) -> ComplaintEvent {
    events::SolutionProposed {
        options: options.iter().map(|(id, by)| option(id, *by)).collect(),
    }
    .into()
}

pub(crate) fn accept(id: &str) -> ComplaintEvent {
    events::OptionAccepted {
        option_id: option_id(id),
    }
    .into()
}

pub(crate) fn resolved() -> ComplaintEvent {
    events::Resolved {
        summary: text("Apologized, explained, new pick-up notification process"),
    }
    .into()
}

pub(crate) fn satisfaction(score: u8) -> ComplaintEvent {
    events::SatisfactionRecorded {
        score: SatisfactionScore::new(score).expect("score"),
        customer_words: Some(text("OK")),
    }
    .into()
}

/// A satisfaction call-back.
pub(crate) fn call(answered: bool) -> ComplaintEvent {
    call_for(ContactPurpose::SatisfactionCallback, answered)
}

pub(crate) fn call_for(purpose: ContactPurpose, answered: bool) -> ComplaintEvent {
    events::ContactAttempted {
        purpose,
        answered,
        recording: None,
        note: None,
    }
    .into()
}

pub(crate) fn paused(waiting_for: WaitingFor) -> ComplaintEvent {
    events::Paused {
        waiting_for,
        reason: text("waiting"),
    }
    .into()
}

pub(crate) fn resumed() -> ComplaintEvent {
    events::Resumed { note: None }.into()
}

pub(crate) fn reported_to_cac() -> ComplaintEvent {
    events::ReportedToCac {
        cac_reference: None,
    }
    .into()
}

pub(crate) fn closed() -> ComplaintEvent {
    events::Closed { summary: None }.into()
}

/// Runs events through `check` and `apply` like the engine: each event is
/// checked against the state so far, dated `at`, with the engine clock at `at`.
pub(crate) struct Harness {
    pub policy: Policy,
    pub state: Option<ComplaintState>,
    pub version: u64,
    pub log: Vec<(ComplaintEvent, EventMeta)>,
}

impl Harness {
    pub(crate) fn new() -> Self {
        Self::with_policy(Policy::builtin())
    }

    pub(crate) fn with_policy(policy: Policy) -> Self {
        Self {
            policy,
            state: None,
            version: 0,
            log: Vec::new(),
        }
    }

    /// A harness with the seed-004 complaint filed at `filed_at`.
    pub(crate) fn filed_at(filed_at: &str) -> Self {
        let mut harness = Self::new();
        harness.ok(seed_004_filing(), Role::DealerStaff, filed_at);
        harness
    }

    pub(crate) fn state(&self) -> &ComplaintState {
        self.state.as_ref().expect("complaint filed")
    }

    #[allow(
        clippy::unused_self,
        reason = "read as a step of the test world, like its neighbours"
    )]
    pub(crate) fn context(&self, role: Role, when: Timestamp) -> CheckContext {
        CheckContext {
            complaint_id: complaint_id(),
            actor: actor(role),
            occurred_at: when,
            now: when,
        }
    }

    pub(crate) fn try_event(
        &mut self,
        event: impl Into<ComplaintEvent>,
        role: Role,
        when: &str,
    ) -> Result<(), RuleViolation> {
        self.try_at(event.into(), role, at(when))
    }

    pub(crate) fn try_at(
        &mut self,
        event: ComplaintEvent,
        role: Role,
        when: Timestamp,
    ) -> Result<(), RuleViolation> {
        check(
            self.state.as_ref(),
            &event,
            &self.context(role, when),
            &self.policy,
        )?;
        self.append(event, role, when);
        Ok(())
    }

    /// Applies without checking (for building states the rules test against).
    pub(crate) fn append(&mut self, event: ComplaintEvent, role: Role, when: Timestamp) {
        self.version += 1;
        let meta = EventMeta {
            version: self.version,
            occurred_at: when,
            recorded_at: when,
            actor: actor(role),
        };
        apply(&mut self.state, &event, &meta);
        self.log.push((event, meta));
    }

    #[track_caller]
    pub(crate) fn ok(&mut self, event: impl Into<ComplaintEvent>, role: Role, when: &str) {
        let event = event.into();
        let event_type = event.event_type();
        if let Err(violation) = self.try_event(event, role, when) {
            panic!("{event_type} refused: {} ({violation})", violation.code());
        }
    }

    /// The code of the rule that refuses `event`; the state is left unchanged.
    #[track_caller]
    pub(crate) fn refused(
        &self,
        event: impl Into<ComplaintEvent>,
        role: Role,
        when: &str,
    ) -> &'static str {
        let event = event.into();
        let ctx = self.context(role, at(when));
        match check(self.state.as_ref(), &event, &ctx, &self.policy) {
            Err(violation) => violation.code(),
            Ok(()) => panic!("{} was accepted", event.event_type()),
        }
    }
}
