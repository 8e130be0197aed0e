use jiff::Timestamp;

use super::*;
use crate::testkit::{actor, at, label, seed_004_filing, text};
use crate::values::{ComplaintId, DealerCode, RegionCode, SatisfactionScore};
use crate::{EventMeta, Policy, Role};

const ID: &str = "FU-2026-0001";

fn id() -> FollowUpId {
    FollowUpId::parse(ID).expect("id")
}

/// A repair handed back on Friday 2026-11-27 at 16:00 in Shanghai (08:00 UTC).
fn opened(delivered_at: &str) -> Opened {
    let filing = seed_004_filing();
    Opened {
        follow_up_id: id(),
        occasion: Occasion::Repair,
        dealer: DealerCode::parse("SH-0042").expect("dealer"),
        region: RegionCode::parse("EAST").expect("region"),
        customer: filing.customer,
        vehicle: filing.vehicle,
        delivered_at: at(delivered_at),
        reference: Some(label("RO-88123")),
    }
}

/// Runs check + apply as the engine will.
struct Harness {
    policy: Policy,
    state: Option<FollowUpState>,
    version: u64,
}

impl Harness {
    fn new() -> Self {
        Self {
            policy: Policy::builtin(),
            state: None,
            version: 0,
        }
    }

    fn opened_at(delivered_at: &str, when: &str) -> Self {
        let mut h = Self::new();
        h.ok(opened(delivered_at), Role::DealerStaff, when);
        h
    }

    fn try_event(
        &self,
        event: impl Into<FollowUpEvent>,
        role: Role,
        when: &str,
    ) -> Result<FollowUpEvent, FollowUpViolation> {
        let event = event.into();
        let context = FollowUpContext {
            follow_up_id: id(),
            actor: actor(role),
            occurred_at: at(when),
            now: at(when),
        };
        check(self.state.as_ref(), &event, &context, &self.policy).map(|()| event)
    }

    fn ok(&mut self, event: impl Into<FollowUpEvent>, role: Role, when: &str) {
        let event = self
            .try_event(event, role, when)
            .unwrap_or_else(|v| panic!("refused: {} ({v})", v.code()));
        let meta = EventMeta {
            version: self.version,
            occurred_at: at(when),
            recorded_at: at(when),
            actor: actor(role),
        };
        apply(&mut self.state, &event, &meta, &self.policy);
        self.version += 1;
    }

    fn refused(&self, event: impl Into<FollowUpEvent>, role: Role, when: &str) -> &'static str {
        match self.try_event(event, role, when) {
            Ok(event) => panic!("{} accepted", event.event_type()),
            Err(violation) => violation.code(),
        }
    }

    fn state(&self) -> &FollowUpState {
        self.state.as_ref().expect("opened")
    }
}

fn answered(score: u8, concern: Option<&str>) -> Answered {
    Answered {
        score: SatisfactionScore::new(score).expect("score"),
        concern: concern.map(text),
    }
}

fn became(complaint: &str) -> BecameComplaint {
    BecameComplaint {
        complaint_id: ComplaintId::parse(complaint).expect("complaint id"),
    }
}

#[test]
fn the_call_is_due_three_business_days_after_the_delivery() {
    // Friday 16:00 local: Friday's last 1.5 h, Monday, Tuesday, and 7.5 h of Wednesday.
    let h = Harness::opened_at("2026-11-27T08:00:00Z", "2026-11-27T08:05:00Z");
    assert_eq!(h.state().due_at, at("2026-12-02T08:00:00Z"));
    assert_eq!(h.state().status, FollowUpStatus::Open);
}

#[test]
fn the_policy_sets_the_follow_up_days() {
    let policy = Policy::builtin();
    assert_eq!(policy.document().quality_follow_up.business_days, 3);
    let one_day = {
        let mut doc = policy.document().clone();
        doc.quality_follow_up.business_days = 1;
        Policy::from_document(doc).expect("valid")
    };
    assert_eq!(
        due_at(&opened("2026-11-27T08:00:00Z"), &one_day).expect("due"),
        at("2026-11-30T08:00:00Z")
    );
}

#[test]
fn the_deadline_follows_the_holidays_of_the_calendar() {
    // Delivered on the eve of the National Day week (2026-09-30, 16:00 local): the
    // calendar's days off push the call past the holiday.
    let h = Harness::opened_at("2026-09-30T08:00:00Z", "2026-09-30T08:00:00Z");
    assert!(
        h.state().due_at > at("2026-10-08T00:00:00Z"),
        "{}",
        h.state().due_at
    );
}

#[test]
fn opening_checks_its_stream_and_dates() {
    let h = Harness::new();
    let mut other = opened("2026-11-27T08:00:00Z");
    other.follow_up_id = FollowUpId::parse("FU-OTHER").expect("id");
    assert_eq!(
        h.refused(other, Role::DealerStaff, "2026-11-27T09:00:00Z"),
        "follow_up_id_mismatch"
    );
    assert_eq!(
        h.refused(
            opened("2026-11-28T08:00:00Z"),
            Role::DealerStaff,
            "2026-11-27T09:00:00Z"
        ),
        "follow_up_delivered_in_future"
    );
    assert_eq!(
        h.refused(answered(5, None), Role::DealerStaff, "2026-11-27T09:00:00Z"),
        "follow_up_not_opened"
    );
    let h = Harness::opened_at("2026-11-27T08:00:00Z", "2026-11-27T08:05:00Z");
    assert_eq!(
        h.refused(
            opened("2026-11-27T08:00:00Z"),
            Role::DealerStaff,
            "2026-11-27T09:00:00Z"
        ),
        "follow_up_already_opened"
    );
}

#[test]
fn a_call_in_time_meets_the_deadline_and_a_late_one_misses_it() {
    let mut h = Harness::opened_at("2026-11-27T08:00:00Z", "2026-11-27T08:05:00Z");
    h.ok(CallUnanswered {}, Role::DealerStaff, "2026-11-30T02:00:00Z");
    h.ok(answered(5, None), Role::DealerStaff, "2026-11-30T07:00:00Z");
    assert_eq!(h.state().met_deadline(), Some(true));
    assert_eq!(h.state().unanswered_calls, 1);

    let mut late = Harness::opened_at("2026-11-27T08:00:00Z", "2026-11-27T08:05:00Z");
    late.ok(answered(4, None), Role::DealerStaff, "2026-12-02T09:00:00Z");
    assert_eq!(late.state().met_deadline(), Some(false));
}

#[test]
fn the_engine_records_a_missed_call_once_and_only_when_due() {
    let mut h = Harness::opened_at("2026-11-27T08:00:00Z", "2026-11-27T08:05:00Z");
    let due = h.state().due_at;
    assert_eq!(on_deadline_due(h.state(), at("2026-12-02T07:59:00Z")), None);
    assert_eq!(
        h.refused(
            DeadlineMissed { due_at: due },
            Role::Engine,
            "2026-12-02T07:59:00Z"
        ),
        "follow_up_not_yet_due"
    );
    assert_eq!(
        h.refused(
            DeadlineMissed { due_at: due },
            Role::DealerStaff,
            "2026-12-02T09:00:00Z"
        ),
        "engine_only_event"
    );
    let fired = on_deadline_due(h.state(), at("2026-12-02T09:00:00Z")).expect("due");
    assert_eq!(fired, DeadlineMissed { due_at: due }.into());
    h.ok(fired, Role::Engine, "2026-12-02T09:00:00Z");
    assert_eq!(h.state().met_deadline(), Some(false));
    // Months of downtime later, still one miss: nothing more is owed by the timer.
    assert_eq!(on_deadline_due(h.state(), at("2027-03-01T00:00:00Z")), None);
    assert_eq!(
        h.refused(
            DeadlineMissed { due_at: due },
            Role::Engine,
            "2026-12-03T09:00:00Z"
        ),
        "follow_up_nothing_missed"
    );
    // The call made late is still recorded, and stays a miss.
    h.ok(answered(5, None), Role::DealerStaff, "2026-12-03T02:00:00Z");
    assert_eq!(h.state().met_deadline(), Some(false));
}

#[test]
fn the_engine_appends_nothing_else() {
    let h = Harness::opened_at("2026-11-27T08:00:00Z", "2026-11-27T08:05:00Z");
    assert_eq!(
        h.refused(answered(5, None), Role::Engine, "2026-11-30T02:00:00Z"),
        "not_an_engine_event"
    );
}

#[test]
fn calls_come_after_the_delivery_and_not_from_the_future() {
    let h = Harness::opened_at("2026-11-27T08:00:00Z", "2026-11-27T08:05:00Z");
    assert_eq!(
        h.refused(CallUnanswered {}, Role::DealerStaff, "2026-11-27T07:00:00Z"),
        "follow_up_call_before_delivery"
    );
    let event = FollowUpEvent::from(answered(5, None));
    let context = FollowUpContext {
        follow_up_id: id(),
        actor: actor(Role::DealerStaff),
        occurred_at: at("2026-11-30T02:00:00Z"),
        now: at("2026-11-30T01:00:00Z"),
    };
    let refused = check(Some(h.state()), &event, &context, &h.policy).expect_err("future");
    assert_eq!(refused.code(), "occurred_in_future");
}

#[test]
fn an_unhappy_answer_becomes_a_complaint_that_the_follow_up_names() {
    let mut h = Harness::opened_at("2026-11-27T08:00:00Z", "2026-11-27T08:05:00Z");
    h.ok(
        answered(2, Some("Rattle from the door since the repair")),
        Role::DealerStaff,
        "2026-11-30T02:00:00Z",
    );
    assert!(h.state().is_unhappy(&h.policy));
    h.ok(
        became("CMP-FU-2026-0001"),
        Role::DealerStaff,
        "2026-11-30T02:10:00Z",
    );
    assert_eq!(h.state().status, FollowUpStatus::BecameComplaint);
    assert_eq!(
        h.state()
            .complaint
            .as_ref()
            .map(super::super::values::ComplaintId::as_str),
        Some("CMP-FU-2026-0001")
    );
    assert_eq!(
        h.refused(
            Closed { note: None },
            Role::DealerStaff,
            "2026-11-30T03:00:00Z"
        ),
        "follow_up_finished"
    );
}

#[test]
fn a_concern_alone_makes_an_answer_unhappy() {
    let mut h = Harness::opened_at("2026-11-27T08:00:00Z", "2026-11-27T08:05:00Z");
    h.ok(
        answered(4, Some("The invoice was not explained")),
        Role::DealerStaff,
        "2026-11-30T02:00:00Z",
    );
    h.ok(
        became("CMP-FU-2"),
        Role::DealerStaff,
        "2026-11-30T02:10:00Z",
    );
}

#[test]
fn a_satisfied_answer_does_not_become_a_complaint() {
    let mut h = Harness::opened_at("2026-11-27T08:00:00Z", "2026-11-27T08:05:00Z");
    assert_eq!(
        h.refused(
            became("CMP-FU-3"),
            Role::DealerStaff,
            "2026-11-30T02:00:00Z"
        ),
        "follow_up_complaint_needs_unhappy_answer"
    );
    h.ok(answered(5, None), Role::DealerStaff, "2026-11-30T02:00:00Z");
    assert_eq!(
        h.refused(
            became("CMP-FU-3"),
            Role::DealerStaff,
            "2026-11-30T02:10:00Z"
        ),
        "follow_up_complaint_needs_unhappy_answer"
    );
    assert_eq!(
        h.refused(answered(4, None), Role::DealerStaff, "2026-11-30T02:20:00Z"),
        "follow_up_already_answered"
    );
    h.ok(
        Closed { note: None },
        Role::DealerStaff,
        "2026-11-30T02:30:00Z",
    );
    assert_eq!(h.state().status, FollowUpStatus::Closed);
}

#[test]
fn an_unanswered_follow_up_closes_only_after_the_policys_attempts() {
    let mut h = Harness::opened_at("2026-11-27T08:00:00Z", "2026-11-27T08:05:00Z");
    for (n, when) in [
        "2026-11-30T01:30:00Z",
        "2026-11-30T05:00:00Z",
        "2026-11-30T11:00:00Z",
    ]
    .into_iter()
    .enumerate()
    {
        if n > 0 {
            assert_eq!(
                h.refused(Closed { note: None }, Role::DealerStaff, when),
                "follow_up_close_needs_answer_or_attempts"
            );
        }
        h.ok(CallUnanswered {}, Role::DealerStaff, when);
    }
    h.ok(
        Closed {
            note: Some(text("Unreachable after three calls")),
        },
        Role::DealerStaff,
        "2026-11-30T11:10:00Z",
    );
}

#[test]
fn events_round_trip_through_their_codec_and_unknown_types_are_refused() {
    let events: Vec<FollowUpEvent> = vec![
        opened("2026-11-27T08:00:00Z").into(),
        CallUnanswered {}.into(),
        answered(2, Some("Noise")).into(),
        became("CMP-FU-9").into(),
        Closed { note: None }.into(),
        DeadlineMissed {
            due_at: Timestamp::UNIX_EPOCH,
        }
        .into(),
    ];
    let types: Vec<_> = events.iter().map(FollowUpEvent::event_type).collect();
    assert_eq!(types, FollowUpEvent::TYPES);
    for event in events {
        let bytes = event.encode_payload();
        let again = FollowUpEvent::decode(event.event_type(), event.schema_version(), &bytes)
            .expect("decodes");
        assert_eq!(again, event);
    }
    assert!(FollowUpEvent::decode("complaint.filed", 1, &[]).is_err());
    assert!(FollowUpEvent::decode("follow_up.opened", 2, &[]).is_err());
}

#[test]
fn follow_up_streams_and_complaint_ids_never_share_a_name() {
    assert_eq!(stream_name(&id()), "follow-up:FU-2026-0001");
    assert_eq!(of_stream("follow-up:FU-2026-0001"), Some(id()));
    assert_eq!(of_stream("CMP-2026-0001"), None);
    assert!(ComplaintId::parse("follow-up:FU-2026-0001").is_err());
}

#[test]
fn statistics_count_met_missed_and_what_became_complaints() {
    let policy = Policy::builtin();
    let mut stats = FollowUpStatistics::default();
    let mut in_time = Harness::opened_at("2026-11-27T08:00:00Z", "2026-11-27T08:05:00Z");
    in_time.ok(answered(5, None), Role::DealerStaff, "2026-11-30T02:00:00Z");
    in_time.ok(
        Closed { note: None },
        Role::DealerStaff,
        "2026-11-30T02:05:00Z",
    );
    let mut unhappy = Harness::opened_at("2026-11-27T08:00:00Z", "2026-11-27T08:05:00Z");
    unhappy.ok(
        answered(1, Some("Leak")),
        Role::DealerStaff,
        "2026-11-30T02:00:00Z",
    );
    unhappy.ok(
        became("CMP-FU-7"),
        Role::DealerStaff,
        "2026-11-30T02:05:00Z",
    );
    let mut missed = Harness::opened_at("2026-11-27T08:00:00Z", "2026-11-27T08:05:00Z");
    let fired = on_deadline_due(missed.state(), at("2026-12-02T09:00:00Z")).expect("due");
    missed.ok(fired, Role::Engine, "2026-12-02T09:00:00Z");
    let open = Harness::opened_at("2026-11-27T08:00:00Z", "2026-11-27T08:05:00Z");
    for h in [&in_time, &unhappy, &missed, &open] {
        stats.add(h.state(), &policy);
    }
    assert_eq!(stats.follow_ups, 4);
    assert_eq!(stats.by_occasion.get("repair"), Some(&4));
    assert_eq!((stats.deadline_met, stats.deadline_missed), (2, 1));
    assert_eq!((stats.answered, stats.unhappy), (2, 1));
    assert_eq!(stats.became_complaints, 1);
    assert_eq!(stats.closed_without_complaint, 1);
    assert_eq!(stats.average_satisfaction(), 3.0);
}
