use std::collections::BTreeSet;
use std::sync::Arc;

use super::*;
use complaintflow_domain::ComplaintEvent;
use complaintflow_log::LogReader;
use complaintflow_server::node::DataDir;
use complaintflow_store_sled::{SledOptions, SledStore};

fn config(complaints: usize, seed: u64) -> DemoConfig {
    DemoConfig {
        complaints,
        seed,
        days: 28,
        ..DemoConfig::default()
    }
}

/// Every plan of a sample, made without any store.
fn plans(config: &DemoConfig) -> Vec<Plan> {
    let policy = Policy::builtin();
    let planner = Planner::new(config, &policy).expect("planner");
    planner
        .filing_times()
        .into_iter()
        .enumerate()
        .map(|(number, at)| {
            planner
                .plan(number, at)
                .unwrap_or_else(|err| panic!("{err}"))
        })
        .collect()
}

#[test]
fn the_same_seed_gives_the_same_events() {
    let first = plans(&config(60, 7));
    let again = plans(&config(60, 7));
    let other = plans(&config(60, 8));
    let events =
        |plans: &[Plan]| -> Vec<_> { plans.iter().flat_map(|p| p.events.clone()).collect() };
    assert_eq!(events(&first), events(&again));
    assert_ne!(events(&first), events(&other));
}

#[test]
fn a_sample_of_500_takes_every_path_and_every_event_type() {
    let plans = plans(&config(500, 42));
    let paths: BTreeSet<Path> = plans.iter().map(|p| p.path).collect();
    assert_eq!(paths.len(), Path::ALL.len(), "paths seen: {paths:?}");
    let types: BTreeSet<&str> = plans
        .iter()
        .flat_map(|p| p.events.iter().map(|e| e.submission.event.event_type()))
        .collect();
    // A merge's record on its survivor is the engine's, written when the demo runs
    // (`generate`), not part of any complaint's plan; the demo's statistics test counts it.
    let missing: Vec<_> = ComplaintEvent::TYPES
        .iter()
        .filter(|t| !types.contains(*t) && **t != "complaint.duplicate_merged")
        .collect();
    assert!(missing.is_empty(), "never generated: {missing:?}");
    let statuses: BTreeSet<Status> = plans
        .iter()
        .filter_map(|p| p.state.as_ref().map(|s| s.status))
        .collect();
    assert!(
        statuses.len() >= 6,
        "too few stages left open: {statuses:?}"
    );
}

/// People act in time order. Timer events are dated at their moment, which for the
/// warning of a late progress report can lie before the previous due moment (see
/// `deadlines::progress_report_clock`), so only human events are compared.
#[test]
fn histories_keep_time_order_and_start_with_the_filing() {
    for plan in plans(&config(300, 3)) {
        assert!(matches!(
            plan.events[0].submission.event,
            ComplaintEvent::Filed(_)
        ));
        let human: Vec<_> = plan
            .events
            .iter()
            .filter(|e| e.actor.role != complaintflow_domain::Role::Engine)
            .collect();
        for pair in human.windows(2) {
            assert!(
                pair[0].at() <= pair[1].at(),
                "{}: time goes back at {}",
                plan.id,
                pair[1].version
            );
        }
    }
}

#[test]
fn a_backlog_files_complaints_and_fires_no_timers() {
    let config = DemoConfig {
        mix: Mix::Backlog,
        ..config(200, 5)
    };
    for plan in plans(&config) {
        assert!(plan.events.len() <= 2);
        assert!(
            plan.events
                .iter()
                .all(|e| e.actor.role != complaintflow_domain::Role::Engine)
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_engine_accepts_every_generated_event() {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = config(150, 11);
    let clock = ManualClock::new(config.start);
    let options = SledOptions {
        clock: Arc::new(clock.clone()),
        ..SledOptions::default()
    };
    let store = Arc::new(SledStore::open(dir.path(), options).expect("store"));
    let engine = Engine::new(
        store.clone(),
        Arc::new(Policy::builtin()),
        Arc::new(clock.clone()),
    );
    let mut heard = Vec::new();
    let summary = generate(&engine, &clock, &config, |n| heard.push(n))
        .await
        .unwrap_or_else(|err| panic!("{err}"));
    assert_eq!(summary.complaints, 150);
    assert_eq!(store.head(), summary.events as u64);
    assert_eq!(heard.last(), Some(&150));
    assert_eq!(summary.by_status.values().sum::<usize>(), 150);
    assert!(summary.engine_events > 0);
    assert_eq!(clock.now(), config.end());
}

/// A demo is where a new user learns what the statistics mean: every deadline rule it
/// exercises must show up both met and missed, or the sample hides half the story.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_demo_meets_and_misses_every_deadline_it_exercises() {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = config(400, 42);
    let clock = ManualClock::new(config.start);
    let options = SledOptions {
        clock: Arc::new(clock.clone()),
        ..SledOptions::default()
    };
    let store =
        Arc::new(SledStore::open(DataDir::new(dir.path()).events(), options).expect("store"));
    let policy = Arc::new(Policy::builtin());
    let engine = Engine::new(store.clone(), policy.clone(), Arc::new(clock.clone()));
    generate(&engine, &clock, &config, |_| {})
        .await
        .unwrap_or_else(|err| panic!("{err}"));
    let projections =
        complaintflow_server::projections::Projections::open(dir.path().join("read"), policy)
            .expect("open");
    projections
        .catch_up(store.as_ref(), |_, _| {})
        .await
        .expect("catch up");
    let stats = projections
        .statistics(&Default::default(), &|_, _| true)
        .expect("statistics");
    let one_sided: Vec<_> = stats
        .deadlines
        .iter()
        .filter(|(_, (met, missed))| *met == 0 || *missed == 0)
        .collect();
    assert!(
        one_sided.is_empty(),
        "deadlines only met or only missed: {one_sided:?} (all: {:?})",
        stats.deadlines
    );
    assert!(
        stats.deadlines.contains_key("engineer_arrival"),
        "{:?}",
        stats.deadlines
    );
    assert!(
        stats.handling.duplicates_merged > 0,
        "merges recorded on their survivors"
    );
    // The follow-up calls: made in time and missed, turned into complaints and not.
    let follow_ups = projections.follow_up_statistics(&Default::default(), &|_, _| true);
    assert!(follow_ups.deadline_met > 0, "{follow_ups:?}");
    assert!(follow_ups.deadline_missed > 0, "{follow_ups:?}");
    assert!(follow_ups.became_complaints > 0, "{follow_ups:?}");
    assert!(follow_ups.closed_without_complaint > 0, "{follow_ups:?}");
    assert!(
        follow_ups.unhappy > follow_ups.became_complaints,
        "{follow_ups:?}"
    );
}
