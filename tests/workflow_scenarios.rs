//! The complaint process end to end on a manual clock: the engine checks every rule,
//! the projections follow the log, and the scheduler fires deadlines as the clock moves.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test or benchmark stops at the first surprise"
)]

mod support;

use complaintflow_domain::events::{ContactAttempted, Escalated};
use complaintflow_domain::testkit;
use complaintflow_domain::testkit::*;
use complaintflow_domain::vocabulary::*;
use complaintflow_domain::{ComplaintEvent, DeadlineKind, DueStage, Role, Status};
use complaintflow_log::EventStore;
use complaintflow_log::LogReader;
use complaintflow_server::engine::DomainEvent;
use complaintflow_server::engine::codec::domain_event;
use jiff::SignedDuration;
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
    world.ok(world
        .submit(Role::DealerStaff, c, reported_to_cac_with_reference())
        .await);
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
            proposal(&[("O1", at("2026-11-24T17:00:00+08:00"))]),
        )
        .await);
    world.clock.advance(minutes(10));
    world.ok(world.submit(Role::DealerStaff, c, accept("O1")).await);
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
        world
            .refused(Role::DealerStaff, c, closed_with_summary())
            .await,
        "close_requires_follow_up"
    );

    // The satisfaction call-back, well within 3 business days.
    world.at("2026-11-25T10:00:00+08:00").await;
    world.ok(world
        .submit(Role::DealerStaff, c, recorded_call(true))
        .await);
    world.ok(world.submit(Role::DealerStaff, c, satisfaction(5)).await);
    world.ok(world.submit(Role::DealerStaff, c, action_done("A1")).await);
    world.ok(world
        .submit(Role::ServiceManager, c, action_verified("A1"))
        .await);
    world.ok(world
        .submit(Role::DealerStaff, c, closed_with_summary())
        .await);

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
    world.ok(world
        .submit(Role::DealerStaff, c, reported_to_cac_with_reference())
        .await);
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
            proposal(&[("O1", world.now() + hours(30))]),
        )
        .await);
    world.ok(world.submit(Role::DealerStaff, c, accept("O1")).await);
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
    world.ok(world
        .submit(Role::DealerStaff, c, recorded_call(false))
        .await);
    world.clock.advance(minutes(120)); // 11:30, still morning
    assert_eq!(
        world
            .refused(Role::DealerStaff, c, recorded_call(false))
            .await,
        "callback_needs_other_time_of_day"
    );
    world.at("2026-11-24T14:00:00+08:00").await;
    world.ok(world
        .submit(Role::DealerStaff, c, recorded_call(false))
        .await);
    world.clock.advance(minutes(30));
    assert_eq!(
        world
            .refused(Role::DealerStaff, c, recorded_call(false))
            .await,
        "callback_too_soon"
    );
    world.at("2026-11-24T19:00:00+08:00").await;
    world.ok(world
        .submit(Role::DealerStaff, c, recorded_call(false))
        .await);

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
        world
            .refused(Role::DealerStaff, c, recorded_call(false))
            .await,
        "customer_unreachable"
    );
    let record = world.record(c).await;
    assert_eq!(record.state.status, Status::FollowedUp);
    world.ok(world
        .submit(Role::DealerStaff, c, closed_with_summary())
        .await);
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
    world.ok(world
        .submit(Role::DealerStaff, c, recorded_call(true))
        .await);
    world.ok(world.submit(Role::DealerStaff, c, satisfaction(4)).await);
    world.ok(world
        .submit(Role::DealerStaff, c, closed_with_summary())
        .await);
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
        .map(|e| domain_event(e).expect("decodes"))
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
        [
            (DeadlineKind::ReportToCac, at("2026-11-23T17:30:00+08:00")),
            (DeadlineKind::ResultReport, at("2026-11-26T10:00:00+08:00")),
        ],
        "the same-day report was due Monday evening, the result report to the CAC three \
         business days after receipt; the result's clock went to the CAC with the case"
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
    world.ok(world
        .submit(Role::DealerStaff, c, reported_to_cac_with_reference())
        .await);
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
            .map(|e| domain_event(e).expect("decodes"))
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
        // in 3 business days), missed and escalated once; the result report to the CAC,
        // due at the same moment, missed (it does not escalate). Nothing else was
        // running for an appraised emergency.
        assert_eq!(
            types,
            [
                "complaint.progress_report_due",
                "complaint.deadline_missed",
                "complaint.escalated",
                "complaint.deadline_missed",
            ],
            "{c}"
        );
        let record = world.record(c).await;
        assert!(record.is_overdue(), "{c}");
        assert_eq!(record.state.level, Level::ManufacturerCac, "{c}");
    }
    // The normal case: its same-day report missed and escalated, once (the result's
    // clock restarts with the new owner); its result report to the CAC missed.
    assert_eq!(world.count(normal, "complaint.deadline_missed").await, 2);
    assert_eq!(world.count(normal, "complaint.escalated").await, 1);
    assert!(filed_at < at("2026-03-03T00:00:00Z"));
    assert_eq!(report.events, 3 * 4 + 3, "{report:?}");

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
            &complaintflow_server::engine::Trusted,
        )
        .await);
    let overdue: Vec<DeadlineKind> = world
        .record(c)
        .await
        .deadlines
        .iter()
        .filter(|d| d.is_overdue())
        .map(|d| d.deadline.kind)
        .collect();
    assert_eq!(
        overdue,
        [DeadlineKind::ResultReport],
        "the progress report is made; the result report to the CAC is still owed"
    );
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
    world.ok(world
        .submit(Role::DealerStaff, c, reported_to_cac_with_reference())
        .await);
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
        world
            .refused(Role::DealerStaff, c, recorded_call(false))
            .await,
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
            &complaintflow_server::engine::Trusted,
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

// Issue 13 §3–§4: the merge's survivor, the promises and reports the seeds name.

/// The deadline kinds of the engine's `event_type` events (warnings or misses) on `c`.
async fn engine_kinds(world: &World, c: &str, event_type: &str) -> Vec<DeadlineKind> {
    world
        .timeline(c)
        .await
        .iter()
        .filter(|e| e.event_type == event_type)
        .filter_map(|e| match domain_event(e).expect("decodes").event {
            ComplaintEvent::DeadlineWarning(w) => Some(w.deadline.kind),
            ComplaintEvent::DeadlineMissed(m) => Some(m.deadline.kind),
            _ => None,
        })
        .collect()
}

fn statistics(world: &World) -> complaintflow_server::projections::Statistics {
    world
        .projections
        .statistics(&Default::default(), &|_, _| true)
        .unwrap()
}

/// What `AppendEvents` does with a merge: submit it, then have the survivor record it.
async fn merge_as_the_api_does(
    world: &World,
    duplicate: &str,
    merge: &complaintflow_server::engine::Submission,
) -> complaintflow_log::AppendOutcome {
    let dealer = support::actor(Role::DealerStaff);
    let complaint = support::id(duplicate);
    let submissions = std::slice::from_ref(merge);
    let outcome = world.ok(world
        .engine
        .submit(
            &dealer,
            &complaint,
            complaintflow_log::ExpectedVersion::Any,
            submissions,
            &complaintflow_server::engine::Trusted,
        )
        .await);
    world
        .engine
        .carry_merges(&complaint, submissions, &outcome)
        .await
        .expect("the survivor records the merge");
    outcome
}

/// §3: the duplicate's merge puts a record of it, and of what it still owed, on the
/// complaint that carries on; a retry writes it once, and completes a merge whose
/// record is missing (the engine stopped between the two appends).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_merged_duplicate_hands_its_open_obligations_to_the_survivor() {
    use complaintflow_log::{ExpectedVersion, NewEvent};
    use complaintflow_server::engine::{Submission, actor_to_string, complaint_stream};

    let world = World::start(MONDAY_10).await;
    let survivor = "CMP-SURVIVOR";
    let duplicate = "CMP-DUPLICATE";
    file_seed_004(&world, survivor).await;
    file_seed_004(&world, duplicate).await;
    world.ok(world
        .submit(
            Role::DealerStaff,
            duplicate,
            testkit::acknowledged(at("2026-11-24T12:00:00+08:00")),
        )
        .await);
    world.ok(world
        .submit(
            Role::DealerStaff,
            duplicate,
            compensation("RENTAL", CompensationKind::RentalCar, 60_000),
        )
        .await);
    world.clock.advance(minutes(30));

    let dealer = support::actor(Role::DealerStaff);
    let merge = Submission::new(
        uuid::Uuid::from_u128(0x3e46e),
        testkit::merged_into(survivor),
    );
    assert!(
        !merge_as_the_api_does(&world, duplicate, &merge)
            .await
            .replayed
    );
    let record = world.record(survivor).await;
    let merged = &record.state.merged_duplicates;
    assert_eq!(merged.len(), 1);
    assert_eq!(merged[0].duplicate.as_str(), duplicate);
    let owed: Vec<DeadlineKind> = merged[0]
        .open_obligations
        .iter()
        .map(|open| open.deadline.kind)
        .collect();
    assert_eq!(
        owed,
        [
            DeadlineKind::ReportToCac,
            DeadlineKind::PlanPromise,
            DeadlineKind::Result,
            DeadlineKind::ResultReport
        ],
        "what the duplicate still owed, soonest first"
    );
    assert_eq!(merged[0].pending_compensations[0].as_str(), "RENTAL");
    let types = world.types(survivor).await;
    assert_eq!(
        types.last().map(String::as_str),
        Some("complaint.duplicate_merged")
    );
    // The survivor's own clocks are untouched.
    assert_eq!(
        world.record(survivor).await.deadlines.len(),
        3,
        "{:?}",
        world.record(survivor).await.deadlines
    );

    // A retry is answered from the log and writes nothing.
    let head = world.store.head();
    assert!(
        merge_as_the_api_does(&world, duplicate, &merge)
            .await
            .replayed
    );
    assert_eq!(world.store.head(), head);
    assert_eq!(world.count(survivor, "complaint.duplicate_merged").await, 1);
    assert_eq!(statistics(&world).handling.duplicates_merged, 1);

    // A merge stored without its record (the engine stopped in between): the client's
    // retry finds the merge stored and writes the record.
    let other = "CMP-DUPLICATE-2";
    file_seed_004(&world, other).await;
    let merge = Submission::new(
        uuid::Uuid::from_u128(0x3e46f),
        testkit::merged_into(survivor),
    );
    let stored = NewEvent {
        event_id: merge.event_id,
        event_type: merge.event.event_type().to_owned(),
        schema_version: merge.event.schema_version(),
        occurred_at: world.now(),
        correlation_id: None,
        causation_id: None,
        actor: actor_to_string(&dealer),
        payload: merge.event.encode_payload(),
    };
    let stream = complaint_stream(&support::id(other)).unwrap();
    world
        .store
        .append(&stream, ExpectedVersion::Any, vec![stored])
        .await
        .unwrap();
    assert_eq!(world.count(survivor, "complaint.duplicate_merged").await, 1);
    let retried = merge_as_the_api_does(&world, other, &merge).await;
    assert!(retried.replayed);
    assert_eq!(world.count(survivor, "complaint.duplicate_merged").await, 2);
    assert_eq!(
        world.record(survivor).await.state.merged_duplicates.len(),
        2
    );
}

/// Seed 002 step 1, seed 001: the date promised for a plan warns, falls due, is renewed
/// by a call with the progress and a new date, and is kept by the plan.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plan_promised_at_reception_warns_is_missed_renewed_by_a_call_and_kept() {
    let world = World::start(MONDAY_10).await;
    let c = "CMP-PLAN";
    file_seed_004(&world, c).await;
    world.ok(world
        .submit(
            Role::DealerStaff,
            c,
            testkit::acknowledged(at("2026-11-23T16:00:00+08:00")),
        )
        .await);
    world.ok(world
        .submit(Role::DealerStaff, c, reported_to_cac_with_reference())
        .await);
    // 75 % of the six hours promised.
    world.at("2026-11-23T14:31:00+08:00").await;
    assert_eq!(
        engine_kinds(&world, c, "complaint.deadline_warning").await,
        [DeadlineKind::PlanPromise]
    );
    world.at("2026-11-23T16:01:00+08:00").await;
    assert_eq!(
        engine_kinds(&world, c, "complaint.deadline_missed").await,
        [DeadlineKind::PlanPromise]
    );
    assert!(world.record(c).await.is_overdue());
    assert_eq!(
        world.count(c, "complaint.escalated").await,
        0,
        "a missed plan date calls for a call, not an escalation"
    );

    world.at("2026-11-23T16:30:00+08:00").await;
    world.ok(world
        .submit(
            Role::DealerStaff,
            c,
            testkit::renewal(at("2026-11-24T12:00:00+08:00")),
        )
        .await);
    let record = world.record(c).await;
    assert!(!record.is_overdue(), "a new date, a new promise");
    let promise = record
        .deadlines
        .iter()
        .find(|d| d.deadline.kind == DeadlineKind::PlanPromise)
        .expect("the new promise");
    assert_eq!(promise.deadline.due_at, at("2026-11-24T12:00:00+08:00"));

    world.at("2026-11-24T11:00:00+08:00").await;
    world.ok(world
        .submit(
            Role::DealerStaff,
            c,
            proposal(&[("O1", at("2026-11-25T17:00:00+08:00"))]),
        )
        .await);
    let record = world.record(c).await;
    assert!(
        record
            .deadlines
            .iter()
            .all(|d| d.deadline.kind != DeadlineKind::PlanPromise)
    );
    let stats = statistics(&world);
    assert_eq!(stats.deadlines.get("plan_promise"), Some(&(1, 1)));
    assert_eq!(stats.handling.plan_promises_renewed, 1);
}

/// Seed 002 五(2)–(4), 七: a complaint the CAC pushes to a dealer is fed back the same
/// day, and its result is reported to the CAC, as its own event, within 3 business days.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_complaint_pushed_by_the_cac_gets_same_day_feedback_and_its_result_reported() {
    let world = World::start(MONDAY_10).await;
    let c = "CMP-CAC-PUSHED";
    let pushed = filing(c, |f| {
        f.origin = Origin::ManufacturerCac;
        f.channel = Channel::ManufacturerHotline;
    });
    world.ok(world.submit(Role::CacAgent, c, pushed).await);
    let record = world.record(c).await;
    let kinds: Vec<DeadlineKind> = record.deadlines.iter().map(|d| d.deadline.kind).collect();
    assert_eq!(
        kinds,
        [
            DeadlineKind::CacFeedback,
            DeadlineKind::Result,
            DeadlineKind::ResultReport
        ]
    );
    assert_eq!(
        record.deadlines[0].deadline.due_at,
        at("2026-11-23T17:30:00+08:00"),
        "the same business day"
    );
    world.at("2026-11-23T16:00:00+08:00").await;
    assert_eq!(
        engine_kinds(&world, c, "complaint.deadline_warning").await,
        [DeadlineKind::CacFeedback]
    );
    world.ok(world
        .submit(Role::DealerStaff, c, reported_to_cac_with_reference())
        .await);
    assert_eq!(
        world
            .refused(Role::DealerStaff, c, reported_to_cac_with_reference())
            .await,
        "already_reported_to_cac"
    );

    let dealer_process = ResponsibleParty::Dealer(Department::Service);
    world.at("2026-11-24T10:00:00+08:00").await;
    world.ok(world
        .submit(
            Role::DealerStaff,
            c,
            cause(RootCause::DealerBrokenPromise, dealer_process),
        )
        .await);
    world.ok(world
        .submit(
            Role::DealerStaff,
            c,
            proposal(&[("O1", at("2026-11-25T12:00:00+08:00"))]),
        )
        .await);
    world.ok(world.submit(Role::DealerStaff, c, accept("O1")).await);
    assert_eq!(
        world
            .refused(Role::DealerStaff, c, testkit::result_report())
            .await,
        "result_report_requires_resolution"
    );
    world.at("2026-11-25T10:00:00+08:00").await;
    world.ok(world.submit(Role::DealerStaff, c, work()).await);
    world.ok(world.submit(Role::DealerStaff, c, resolved()).await);
    world.ok(world
        .submit(Role::DealerStaff, c, testkit::result_report())
        .await);
    let record = world.record(c).await;
    assert!(
        record
            .deadlines
            .iter()
            .all(|d| d.deadline.kind != DeadlineKind::ResultReport)
    );
    assert!(record.state.result_reported.is_some());
    let stats = statistics(&world);
    for kind in [
        DeadlineKind::CacFeedback,
        DeadlineKind::Result,
        DeadlineKind::ResultReport,
    ] {
        assert_eq!(stats.deadlines.get(kind.as_str()), Some(&(1, 0)), "{kind}");
    }
    assert_eq!(stats.handling.results_reported, 1);
}

/// Seeds 000, 001, 003, 004 and step 4: the supplier notified, charged back and asked to
/// improve; the complaint assessed (and reassessed); the three changes; the case shared
/// and prevention planned: events in the log, shown in the state, counted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn supplier_handling_assessment_three_changes_and_prevention_are_recorded_and_counted() {
    let world = World::start(MONDAY_10).await;
    let c = "CMP-PUMP";
    file_seed_004(&world, c).await;
    world.ok(world
        .submit(
            Role::DealerStaff,
            c,
            testkit::assessed(ComplaintNature::Malicious, &[CustomerWant::Compensation]),
        )
        .await);
    world.ok(world
        .submit(
            Role::DealerStaff,
            c,
            testkit::assessed(
                ComplaintNature::GoodFaith,
                &[CustomerWant::Vent, CustomerWant::Respect],
            ),
        )
        .await);
    world.ok(world
        .submit(
            Role::DealerStaff,
            c,
            testkit::three_changes(&[ThreeChange::Place, ThreeChange::Person], None),
        )
        .await);
    world.ok(world
        .submit(
            Role::ServiceManager,
            c,
            testkit::three_changes(&[ThreeChange::Time], Some(at("2026-11-26T09:30:00+08:00"))),
        )
        .await);
    assert_eq!(
        world
            .refused(Role::DealerStaff, c, testkit::supplier_notified())
            .await,
        "supplier_not_responsible"
    );
    world.ok(world
        .submit(
            Role::DealerStaff,
            c,
            cause(RootCause::SupplierPart, ResponsibleParty::Supplier),
        )
        .await);
    world.ok(world
        .submit(Role::DealerStaff, c, testkit::supplier_notified())
        .await);
    for _ in 0..2 {
        world.ok(world
            .submit(Role::DealerStaff, c, testkit::charged_back(80_000))
            .await);
    }
    world.ok(world
        .submit(Role::ServiceManager, c, testkit::improvement())
        .await);
    for _ in 0..2 {
        world.ok(world
            .submit(Role::ServiceManager, c, testkit::shared())
            .await);
    }
    world.ok(world
        .submit(Role::ServiceManager, c, testkit::prevention())
        .await);

    let state = world.record(c).await.state;
    let assessment = state.assessment.as_ref().expect("assessed");
    assert_eq!(assessment.nature, ComplaintNature::GoodFaith);
    assert_eq!(
        state.three_changes,
        [ThreeChange::Place, ThreeChange::Person, ThreeChange::Time]
    );
    assert_eq!(state.suppliers.len(), 1);
    assert_eq!(state.suppliers[0].charge_backs, 2);
    assert_eq!((state.times_shared, state.prevention_plans.len()), (2, 1));

    let stats = statistics(&world);
    let names = |pairs: &[(&str, u64)]| -> std::collections::BTreeMap<String, u64> {
        pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
    };
    assert_eq!(
        stats.by_nature,
        names(&[("good_faith", 1)]),
        "a reassessment moves the count"
    );
    assert_eq!(
        stats.by_customer_want,
        names(&[("respect", 1), ("vent", 1)])
    );
    assert_eq!(
        stats.by_three_change,
        names(&[("person", 1), ("place", 1), ("time", 1)])
    );
    let h = stats.handling;
    assert_eq!(
        (
            h.suppliers_notified,
            h.supplier_charge_backs,
            h.supplier_charged_back_fen,
            h.supplier_improvements_requested
        ),
        (1, 2, 160_000, 1)
    );
    assert_eq!((h.cases_shared, h.prevention_plans), (1, 1));
}

/// Seed 002's table: a vehicle replacement is approved by the CAC and the region
/// together; one side alone leaves it pending.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_vehicle_replacement_needs_the_cac_and_the_region_to_approve_it() {
    use complaintflow_domain::state::CompensationDecision;

    let world = World::start(MONDAY_10).await;
    let c = "CMP-REPLACE";
    file_seed_004(&world, c).await;
    let price = 15_000_000;
    world.ok(world
        .submit(
            Role::DealerStaff,
            c,
            compensation("CAR", CompensationKind::VehicleReplacement, price),
        )
        .await);
    let signed = Some("dms://signatures/replacement");
    world.ok(world
        .submit(
            Role::RegionalManager,
            c,
            approval("CAR", Level::RegionalManager, price, signed),
        )
        .await);
    let pending = |state: &complaintflow_domain::ComplaintState| {
        state.compensations[0].decision == CompensationDecision::Pending
    };
    assert!(
        pending(&world.record(c).await.state),
        "one side is not enough"
    );
    assert_eq!(
        world
            .refused(
                Role::RegionalEngineer,
                c,
                approval("CAR", Level::RegionalEngineer, price, signed)
            )
            .await,
        "joint_approval_side_already_given"
    );
    world.ok(world
        .submit(
            Role::CacAgent,
            c,
            approval("CAR", Level::ManufacturerCac, price, signed),
        )
        .await);
    let state = world.record(c).await.state;
    assert!(!pending(&state));
    assert_eq!(
        state.compensations[0]
            .approvals
            .iter()
            .map(|(level, _)| *level)
            .collect::<Vec<_>>(),
        [Level::RegionalManager, Level::ManufacturerCac]
    );
    assert_eq!(statistics(&world).handling.joint_approvals, 1);
}
