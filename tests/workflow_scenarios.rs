//! The complaint process end to end on a manual clock: the engine checks every rule,
//! the projections follow the log, and the scheduler fires deadlines as the clock moves.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test or benchmark stops at the first surprise"
)]

mod support;

use complaintflow_domain::events::{ContactAttempted, Escalated};
use complaintflow_domain::vocabulary::*;
use complaintflow_domain::{ComplaintEvent, DeadlineKind, DueStage, Role, Status};
use complaintflow_log::EventStore;
use complaintflow_server::engine::DomainEvent;
use complaintflow_server::engine::codec::decode;
use jiff::SignedDuration;
use support::events::*;
use support::{World, at};

// 2026-11-23 is a Monday; the built-in calendar is Asia/Shanghai, 08:30-17:30.
const MONDAY_10: &str = "2026-11-23T10:00:00+08:00";

fn hours(h: i64) -> SignedDuration {
    SignedDuration::from_hours(h)
}

fn minutes(m: i64) -> SignedDuration {
    SignedDuration::from_mins(m)
}

async fn file_seed_004(world: &World, complaint: &str) {
    world.ok(world
        .submit(Role::DealerStaff, complaint, filing(complaint, |_| {}))
        .await);
}

/// Seed 004 from filing to resolution, all in time.
async fn resolve_seed_004(world: &World, c: &str) {
    file_seed_004(world, c).await;
    world.clock.advance(minutes(5));
    world.ok(world.submit(Role::DealerStaff, c, apologized()).await);
    world.clock.advance(minutes(25));
    world.ok(world.submit(Role::DealerStaff, c, reported()).await);
    world.clock.advance(minutes(30));
    let dealer_process = ResponsibleParty::Dealer(Department::Service);
    world.ok(world
        .submit(
            Role::DealerStaff,
            c,
            cause(RootCause::DealerBrokenPromise, dealer_process),
        )
        .await);
    world.ok(world
        .submit(Role::DealerStaff, c, action("A1", Department::Service))
        .await);
    assert_eq!(
        world.refused(Role::DealerStaff, c, resolved()).await,
        "resolve_requires_accepted_solution"
    );
    world.clock.advance(minutes(10));
    world.ok(world
        .submit(
            Role::DealerStaff,
            c,
            proposal("O1", at("2026-11-24T17:00:00+08:00")),
        )
        .await);
    world.clock.advance(minutes(10));
    world.ok(world.submit(Role::DealerStaff, c, accepted("O1")).await);
    world.at("2026-11-23T14:00:00+08:00").await;
    world.ok(world.submit(Role::DealerStaff, c, work()).await);
    world.ok(world.submit(Role::DealerStaff, c, resolved()).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seed_004_the_waiting_customer_is_handled_in_time_and_closed_satisfied() {
    let world = World::start(MONDAY_10).await;
    let c = "CMP-SEED-004";
    resolve_seed_004(&world, c).await;
    assert_eq!(
        world.refused(Role::DealerStaff, c, closed()).await,
        "close_requires_follow_up"
    );

    // The satisfaction call-back, well within 3 business days.
    world.at("2026-11-25T10:00:00+08:00").await;
    world.ok(world.submit(Role::DealerStaff, c, call(true)).await);
    world.ok(world.submit(Role::DealerStaff, c, satisfied(5)).await);
    world.ok(world.submit(Role::DealerStaff, c, action_done("A1")).await);
    world.ok(world
        .submit(Role::ServiceManager, c, action_verified("A1"))
        .await);
    world.ok(world.submit(Role::DealerStaff, c, closed()).await);

    let record = world.record(c).await;
    assert_eq!(record.state.status, Status::Closed);
    assert!(record.deadlines.is_empty());
    assert_eq!(world.count(c, "complaint.deadline_missed").await, 0);
    assert_eq!(world.count(c, "complaint.escalated").await, 0);

    let stats = world
        .projections
        .statistics(&Default::default(), &|_, _| true)
        .unwrap();
    assert_eq!(stats.complaints, 1);
    for kind in [
        DeadlineKind::ReportToCac,
        DeadlineKind::Result,
        DeadlineKind::SatisfactionCallback,
    ] {
        assert_eq!(
            stats.deadlines.get(kind.as_str()),
            Some(&(1, 0)),
            "{kind} met in time: {stats:?}"
        );
    }
    assert_eq!(stats.average_satisfaction, 5.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_vehicle_fire_goes_to_the_cac_at_once_and_owes_progress_reports_until_resolved() {
    let world = World::start("2026-11-23T22:00:00+08:00").await; // at night
    let c = "CMP-FIRE-1";
    let fire = filing(c, |f| {
        f.categories = vec![Category::ProductQuality];
        f.severity = Severity::Major;
        f.emergency = Some(EmergencyKind::VehicleFire);
        f.channel = Channel::ManufacturerHotline;
    });
    world.ok(world.submit(Role::DealerStaff, c, fire).await);
    let record = world.record(c).await;
    let report = record
        .deadlines
        .iter()
        .find(|d| d.deadline.kind == DeadlineKind::ReportToCac)
        .unwrap();
    assert_eq!(
        report.deadline.due_at,
        world.now() + hours(1),
        "major cases go to the CAC within the hour, day or night"
    );
    assert!(
        record
            .deadlines
            .iter()
            .any(|d| d.deadline.kind == DeadlineKind::EngineerDispatch)
    );

    world.advance(minutes(20)).await;
    world.ok(world.submit(Role::DealerStaff, c, reported()).await);
    world.advance(minutes(20)).await;
    world.ok(world
        .submit(Role::CacAgent, c, engineer(at("2026-11-23T23:30:00+08:00")))
        .await);
    world.at("2026-11-23T23:25:00+08:00").await; // on site before the announced arrival
    world.ok(world.submit(Role::RegionalEngineer, c, appraisal()).await);

    // Every 24 hours a progress report falls due until the case is resolved.
    world.advance(hours(24)).await;
    assert_eq!(world.count(c, "complaint.progress_report_due").await, 1);
    world.ok(world.submit(Role::DealerStaff, c, progress()).await);
    world.advance(hours(24)).await;
    assert_eq!(world.count(c, "complaint.progress_report_due").await, 2);
    world.ok(world.submit(Role::DealerStaff, c, progress()).await);
    assert_eq!(
        world.count(c, "complaint.deadline_missed").await,
        0,
        "{:?}",
        world.types(c).await
    );

    world.ok(world
        .submit(
            Role::DealerStaff,
            c,
            proposal("O1", world.now() + hours(30)),
        )
        .await);
    world.ok(world.submit(Role::DealerStaff, c, accepted("O1")).await);
    world.ok(world.submit(Role::DealerStaff, c, work()).await);
    world.ok(world.submit(Role::DealerStaff, c, resolved()).await);
    let due_before = world.count(c, "complaint.progress_report_due").await;
    world.advance(hours(48)).await;
    assert_eq!(
        world.count(c, "complaint.progress_report_due").await,
        due_before,
        "no progress reports after resolution"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_unanswered_callbacks_at_different_times_of_day_make_the_customer_unreachable() {
    let world = World::start(MONDAY_10).await;
    let c = "CMP-CALLBACK";
    resolve_seed_004(&world, c).await;
    world.at("2026-11-24T09:30:00+08:00").await;
    world.ok(world.submit(Role::DealerStaff, c, call(false)).await);
    world.clock.advance(minutes(120)); // 11:30, still morning
    assert_eq!(
        world.refused(Role::DealerStaff, c, call(false)).await,
        "callback_needs_other_time_of_day"
    );
    world.at("2026-11-24T14:00:00+08:00").await;
    world.ok(world.submit(Role::DealerStaff, c, call(false)).await);
    world.clock.advance(minutes(30));
    assert_eq!(
        world.refused(Role::DealerStaff, c, call(false)).await,
        "callback_too_soon"
    );
    world.at("2026-11-24T19:00:00+08:00").await;
    world.ok(world.submit(Role::DealerStaff, c, call(false)).await);

    // The engine marks the customer unreachable; nobody has to remember to.
    world.advance(hours(1)).await;
    assert_eq!(
        world.count(c, "complaint.customer_unreachable").await,
        1,
        "{:?}",
        world.types(c).await
    );
    world.at("2026-11-25T10:00:00+08:00").await;
    assert_eq!(
        world.refused(Role::DealerStaff, c, call(false)).await,
        "customer_unreachable"
    );
    let record = world.record(c).await;
    assert_eq!(record.state.status, Status::FollowedUp);
    world.ok(world.submit(Role::DealerStaff, c, closed()).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compensation_beyond_the_dealers_authority_needs_the_cac_and_the_customers_signature() {
    let world = World::start(MONDAY_10).await;
    let c = "CMP-RENTAL";
    file_seed_004(&world, c).await;
    world.ok(world
        .submit(
            Role::DealerStaff,
            c,
            compensation("K1", CompensationKind::RentalCar, 300_000),
        )
        .await);
    assert_eq!(
        world
            .refused(
                Role::DealerStaff,
                c,
                approval("K1", Level::ServiceManager, 300_000, Some("sig://K1"))
            )
            .await,
        "approver_lacks_level"
    );
    assert_eq!(
        world
            .refused(
                Role::ServiceManager,
                c,
                approval("K1", Level::ServiceManager, 300_000, Some("sig://K1"))
            )
            .await,
        "compensation_beyond_authority"
    );
    assert_eq!(
        world
            .refused(
                Role::CacAgent,
                c,
                approval("K1", Level::ManufacturerCac, 300_000, None)
            )
            .await,
        "compensation_requires_signature"
    );
    world.ok(world
        .submit(
            Role::CacAgent,
            c,
            approval("K1", Level::ManufacturerCac, 300_000, Some("sig://K1")),
        )
        .await);
    assert_eq!(
        world
            .refused(
                Role::CacAgent,
                c,
                approval("K1", Level::ManufacturerCac, 300_000, Some("sig://K1"))
            )
            .await,
        "compensation_already_decided"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dealer_that_does_not_report_is_escalated_to_the_cac_then_to_the_regional_manager() {
    let world = World::start(MONDAY_10).await;
    let c = "CMP-SILENT";
    file_seed_004(&world, c).await;

    // 75 % of the business day: a warning first.
    world.at("2026-11-23T16:00:00+08:00").await;
    assert_eq!(
        world.count(c, "complaint.deadline_warning").await,
        1,
        "{:?}",
        world.types(c).await
    );
    assert!(world.record(c).await.is_at_risk());
    world.at("2026-11-23T17:31:00+08:00").await;
    let record = world.record(c).await;
    assert_eq!(record.state.level, Level::ManufacturerCac);
    assert!(record.is_overdue());
    let listed = world.projections.list(
        &complaintflow_server::projections::ListQuery {
            overdue_only: true,
            ..Default::default()
        },
        &|_| true,
        10,
        None,
    );
    assert_eq!(listed.unwrap().records.len(), 1);

    // The result is not there within 3 business days of the escalation either.
    world.at("2026-11-26T17:31:00+08:00").await;
    let record = world.record(c).await;
    assert_eq!(
        record.state.level,
        Level::RegionalManager,
        "{:?}",
        world.types(c).await
    );
    let escalations: Vec<_> = world
        .timeline(c)
        .await
        .into_iter()
        .filter(|e| e.event_type == "complaint.escalated")
        .map(|e| e.actor)
        .collect();
    assert_eq!(escalations, ["engine:engine", "engine:engine"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reopened_complaint_restarts_its_clocks() {
    let world = World::start(MONDAY_10).await;
    let c = "CMP-REOPEN";
    resolve_seed_004(&world, c).await;
    world.at("2026-11-24T10:00:00+08:00").await;
    world.ok(world.submit(Role::DealerStaff, c, call(true)).await);
    world.ok(world.submit(Role::DealerStaff, c, satisfied(4)).await);
    world.ok(world.submit(Role::DealerStaff, c, closed()).await);
    assert!(world.record(c).await.deadlines.is_empty());

    world.at("2026-12-01T09:00:00+08:00").await;
    let reopen = world.ok(world.submit(Role::DealerStaff, c, reopened()).await);
    let record = world.record(c).await;
    assert_eq!(record.state.reopen_count, 1);
    let kinds: Vec<_> = record
        .deadlines
        .iter()
        .map(|d| (d.deadline.kind, d.deadline.key.started_by))
        .collect();
    let reopen_version = reopen.last_version();
    assert!(
        kinds.contains(&(DeadlineKind::ReportToCac, reopen_version)),
        "{kinds:?}"
    );
    assert!(
        kinds.contains(&(DeadlineKind::Result, reopen_version)),
        "{kinds:?}"
    );
    let result = record
        .deadlines
        .iter()
        .find(|d| d.deadline.kind == DeadlineKind::Result)
        .unwrap();
    assert_eq!(
        result.deadline.due_at,
        at("2026-12-04T09:00:00+08:00"),
        "3 business days from the reopening"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_complaint_filed_four_days_late_fires_its_overdue_deadlines_at_once_in_order() {
    let world = World::start("2026-11-27T10:00:00+08:00").await; // Friday
    let c = "CMP-LATE";
    let monday = at(MONDAY_10);
    world.ok(world
        .submit_dated(Role::DealerStaff, c, filing(c, |_| {}), monday)
        .await);
    let report = world.fire().await;
    assert!(report.fired >= 1, "{report:?}");
    let engine_events: Vec<DomainEvent> = world
        .timeline(c)
        .await
        .iter()
        .filter(|e| e.actor == "engine:engine")
        .map(|e| decode(e).expect("decodes"))
        .collect();
    let missed: Vec<_> = engine_events
        .iter()
        .filter_map(|e| match &e.event {
            ComplaintEvent::DeadlineMissed(missed) => Some((missed.deadline.kind, missed.due_at)),
            _ => None,
        })
        .collect();
    assert_eq!(
        missed,
        [(DeadlineKind::ReportToCac, at("2026-11-23T17:30:00+08:00"))],
        "the same-day report was due Monday evening; the result's clock went to the CAC with the case"
    );
    // Found late, so recorded when the engine found it: no warning for what is already
    // missed, and the escalation hands the case to the CAC now, with a fresh result clock.
    assert!(
        engine_events
            .iter()
            .all(|e| e.meta.occurred_at == world.now()),
        "{engine_events:?}"
    );
    assert_eq!(world.count(c, "complaint.deadline_warning").await, 0);
    let record = world.record(c).await;
    assert_eq!(record.state.level, Level::ManufacturerCac);
    let result = record
        .deadlines
        .iter()
        .find(|d| d.deadline.kind == DeadlineKind::Result)
        .expect("result clock");
    assert_eq!(result.deadline.due_at, at("2026-12-02T10:00:00+08:00"));
    // Nothing more is due now: firing again does nothing.
    assert_eq!(world.fire().await.fired, 0);
}

/// Files the vehicle fire of `c` at the clock's now and handles the emergency flow up to
/// the engineer's appraisal, in time; the case stays open.
async fn fire_appraised(world: &World, c: &str) {
    let fire = filing(c, |f| {
        f.categories = vec![Category::ProductQuality];
        f.severity = Severity::Major;
        f.emergency = Some(EmergencyKind::VehicleFire);
        f.channel = Channel::ManufacturerHotline;
    });
    world.ok(world.submit(Role::DealerStaff, c, fire).await);
    world.advance(minutes(20)).await;
    world.ok(world.submit(Role::DealerStaff, c, reported()).await);
    world.ok(world
        .submit(Role::CacAgent, c, engineer(world.now() + minutes(70)))
        .await);
    world.advance(minutes(60)).await;
    world.ok(world.submit(Role::RegionalEngineer, c, appraisal()).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn months_of_downtime_make_one_overdue_progress_report_and_a_bounded_catch_up() {
    let world = World::start("2026-03-02T10:00:00+08:00").await; // a Monday in March
    let fires: Vec<String> = (1..=3).map(|i| format!("CMP-DOWN-FIRE-{i}")).collect();
    for c in &fires {
        fire_appraised(&world, c).await;
    }
    let normal = "CMP-DOWN-NORMAL";
    file_seed_004(&world, normal).await;
    let filed_at = world.now();
    let (temp, dir, clock) = world.stop().await;

    // Nine months later the engine starts again.
    clock.set(at("2026-12-02T10:00:00+08:00"));
    let world = World::open(&dir, clock);
    let due_before = world.projections.due_timers(world.now(), 1000).unwrap();
    let head = world.store.head();
    let report = world.fire().await;
    let appended = world.store.head() - head;
    assert_eq!(report.events as u64, appended);

    // Each fire is filed 80 minutes after the one before; its first progress report was
    // due a day after filing. From 03-03 10:00 Beijing to 12-02 10:00 are 274 whole days
    // after the first due moment, so 275 periods went by without a report; from 11:20 and
    // 12:40, 273 whole days and a part, so 274.
    let expected = [
        ("2026-03-03T10:00:00+08:00", 275),
        ("2026-03-03T11:20:00+08:00", 274),
        ("2026-03-03T12:40:00+08:00", 274),
    ];
    for (c, (since, periods)) in fires.iter().zip(expected) {
        let engine_events: Vec<DomainEvent> = world
            .timeline(c)
            .await
            .iter()
            .filter(|e| e.actor == "engine:engine" && e.recorded_at >= at("2026-12-02T00:00:00Z"))
            .map(|e| decode(e).expect("decodes"))
            .collect();
        let types: Vec<&str> = engine_events.iter().map(|e| e.event.event_type()).collect();
        let progress: Vec<_> = engine_events
            .iter()
            .filter_map(|e| match &e.event {
                ComplaintEvent::ProgressReportDue(due) => Some(due),
                _ => None,
            })
            .collect();
        assert_eq!(progress.len(), 1, "{c}: {types:?}");
        assert_eq!(progress[0].missed_periods, periods, "{c}");
        assert_eq!(progress[0].overdue_since, Some(at(since)), "{c}");
        // In due order: the progress report (due the next day), once; the result (due
        // in 3 business days), missed and escalated once. Nothing else was running for
        // an appraised emergency.
        assert_eq!(
            types,
            [
                "complaint.progress_report_due",
                "complaint.deadline_missed",
                "complaint.escalated",
            ],
            "{c}"
        );
        let record = world.record(c).await;
        assert!(record.is_overdue(), "{c}");
        assert_eq!(record.state.level, Level::ManufacturerCac, "{c}");
    }
    // The normal case: its same-day report missed and escalated, once.
    assert_eq!(world.count(normal, "complaint.deadline_missed").await, 1);
    assert_eq!(world.count(normal, "complaint.escalated").await, 1);
    assert!(filed_at < at("2026-03-03T00:00:00Z"));
    assert_eq!(report.events, 3 * 3 + 2, "{report:?}");

    // Exactly once: another pass fires nothing, and firings repeated after a crash
    // (appended, not yet projected) write nothing.
    assert_eq!(world.fire().await.fired, 0, "nothing fires twice");
    let head = world.store.head();
    for timer in due_before {
        let now = world.now();
        world.scheduler.fire(&timer, now).await.unwrap();
    }
    assert_eq!(world.store.head(), head, "repeated firings wrote nothing");

    // A progress report ends the overdue obligation and starts the next period.
    let c = &fires[0];
    // The reopened world numbers its submissions from 1 again: take an id of its own.
    let report = complaintflow_server::engine::Submission::new(uuid::Uuid::new_v4(), progress());
    world.ok(world
        .engine
        .submit(
            &support::actor(Role::DealerStaff),
            &support::id(c),
            complaintflow_log::ExpectedVersion::Any,
            &[report],
            &complaintflow_server::engine::allow_all,
        )
        .await);
    assert!(!world.record(c).await.is_overdue());
    world.advance(hours(24)).await;
    assert_eq!(world.count(c, "complaint.progress_report_due").await, 2);
    drop(temp);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_warning_found_after_its_deadline_passed_fires_the_deadline_instead() {
    let world = World::start(MONDAY_10).await;
    let c = "CMP-STALE-WARNING";
    file_seed_004(&world, c).await;
    // Tuesday morning: the same-day report warned at 16:00 and fell due at 17:30.
    world.clock.set(at("2026-11-24T09:00:00+08:00"));
    world.record(c).await; // the projections have seen the filing
    let due = world.projections.due_timers(world.now(), 100).unwrap();
    let warning = due
        .iter()
        .find(|t| t.moment.stage == DueStage::Warning)
        .expect("the warning timer comes first");
    let now = world.now();
    // Fired alone (as when a batch holds nothing else), it appends the miss.
    assert_eq!(world.scheduler.fire(warning, now).await.unwrap(), 2);
    assert_eq!(
        world.types(c).await[1..],
        ["complaint.deadline_missed", "complaint.escalated"]
    );
    // The due timer is then stale, and a repeat of the warning writes nothing.
    let head = world.store.head();
    for timer in &due {
        assert_eq!(world.scheduler.fire(timer, now).await.unwrap(), 0);
    }
    assert_eq!(world.store.head(), head);
    assert_eq!(world.fire().await.fired, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_emergency_flow_calls_at_night_and_the_satisfaction_call_back_waits_for_handling() {
    let world = World::start("2026-11-23T23:00:00+08:00").await; // at night
    let c = "CMP-NIGHT-FIRE";
    let fire = filing(c, |f| {
        f.severity = Severity::Urgent;
        f.emergency = Some(EmergencyKind::VehicleFire);
    });
    world.ok(world.submit(Role::DealerStaff, c, fire).await);
    world.advance(minutes(20)).await;
    world.ok(world.submit(Role::DealerStaff, c, reported()).await);
    world.ok(world
        .submit(Role::CacAgent, c, engineer(at("2026-11-24T00:30:00+08:00")))
        .await);
    // 23:40: the owner is told when the engineer arrives.
    world.advance(minutes(20)).await;
    let tell_arrival = ContactAttempted {
        purpose: ContactPurpose::ProgressUpdate,
        ..call(true)
    };
    world.ok(world.submit(Role::DealerStaff, c, tell_arrival).await);
    // A call that is not answered before handling is no call-back attempt.
    world.at("2026-11-24T09:30:00+08:00").await;
    assert_eq!(
        world.refused(Role::DealerStaff, c, call(false)).await,
        "callback_requires_resolution"
    );
    let asking = ContactAttempted {
        purpose: ContactPurpose::GatherInformation,
        ..call(false)
    };
    world.ok(world.submit(Role::DealerStaff, c, asking).await);
    let record = world.record(c).await;
    assert_eq!(record.state.contacts.attempts, 2);
    assert!(record.state.contacts.failed_streak.is_empty());

    // Only the engine records that a deadline was missed; a person gives another reason,
    // and escalation statistics count only real misses.
    let claimed = Escalated {
        from: Level::DealerDesk,
        to: Level::ManufacturerCac,
        reason: EscalationReason::DeadlineMissed,
        note: None,
    };
    for role in [Role::DealerStaff, Role::CacAgent] {
        assert_eq!(
            world.refused(role, c, claimed.clone()).await,
            "deadline_missed_is_the_engines"
        );
    }
    let stats = world
        .projections
        .statistics(&Default::default(), &|_, _| true)
        .unwrap();
    assert_eq!(stats.escalation_rate, 0.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deadlines_pending_across_a_restart_fire_once_each() {
    let world = World::start(MONDAY_10).await;
    let complaints: Vec<String> = (1..=5).map(|i| format!("CMP-RESTART-{i}")).collect();
    for c in &complaints {
        file_seed_004(&world, c).await;
    }
    assert_eq!(
        world.record(&complaints[4]).await.state.status,
        Status::Received
    );
    let (temp, dir, clock) = world.stop().await;

    // Down overnight: the same-day reports all fell due meanwhile.
    clock.set(at("2026-11-24T09:00:00+08:00"));
    let world = World::open(&dir, clock);
    let due_before = world.projections.due_timers(world.now(), 100).unwrap();
    world.fire().await;
    for c in &complaints {
        assert_eq!(world.count(c, "complaint.deadline_missed").await, 1, "{c}");
        assert_eq!(world.count(c, "complaint.escalated").await, 1, "{c}");
    }
    assert_eq!(world.fire().await.fired, 0, "nothing fires twice");

    // A firing repeated after a crash (appended, not yet projected) takes effect once.
    let head = world.store.head();
    for timer in due_before {
        let now = world.now();
        world.scheduler.fire(&timer, now).await.unwrap();
    }
    assert_eq!(world.store.head(), head, "repeated firings wrote nothing");
    drop(temp);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_engine_sees_events_stored_after_it_last_read_a_complaint() {
    let world = World::start(MONDAY_10).await;
    let c = "CMP-CACHE";
    file_seed_004(&world, c).await;
    let engine = &world.engine;
    let before = engine
        .load(&support::id(c), complaintflow_server::engine::AsOf::Now)
        .await
        .unwrap();
    // Another engine instance on the same log (the CLI's import, say) appends.
    let other = complaintflow_server::engine::Engine::new(
        world.store.clone(),
        engine.policy().clone(),
        engine.clock().clone(),
    );
    let submission =
        complaintflow_server::engine::Submission::new(uuid::Uuid::new_v4(), apologized());
    other
        .submit(
            &support::actor(Role::DealerStaff),
            &support::id(c),
            complaintflow_log::ExpectedVersion::Any,
            &[submission],
            &complaintflow_server::engine::allow_all,
        )
        .await
        .unwrap();
    let after = engine
        .load(&support::id(c), complaintflow_server::engine::AsOf::Now)
        .await
        .unwrap();
    assert_eq!((before.version, after.version), (0, 1));
    assert!(after.apologized.is_some());
    let then = engine
        .load(
            &support::id(c),
            complaintflow_server::engine::AsOf::Version(0),
        )
        .await
        .unwrap();
    assert!(
        then.apologized.is_none(),
        "the past is replayed, not taken from the cache"
    );
}
