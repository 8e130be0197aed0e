//! Timers fire from the node that holds the scheduler's lease, on the in-memory store
//! whose handles share one log (and one lease) as nodes share a database: a node without
//! the lease fires nothing, another takes over when the holder goes, a holder that loses
//! the lease stops, and two nodes firing the same deadlines at once store each firing
//! once (the deterministic firing ids make the second a replay).
//!
//! Scheduler passes run on the wall clock's pace (at most 250 ms apart); the checks that
//! something does *not* fire give it several passes' worth of time, and the checks that
//! it does wait generously.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test or benchmark stops at the first surprise"
)]

mod support;

use complaintflow_log::LogReader;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use complaintflow_domain::testkit::filing;
use complaintflow_domain::{Policy, Role};
use complaintflow_log::clock::ManualClock;
use complaintflow_log::memory::MemStore;
use complaintflow_log::{Direction, EventStore, ExpectedVersion, Lease, StoreLimits};
use complaintflow_server::engine::{Engine, Submission, Trusted, complaint_stream};
use complaintflow_server::projections::Projections;
use complaintflow_server::timers::Scheduler;
use support::{actor, at, id};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use uuid::Uuid;

// A Monday; the built-in calendar's business day ends at 17:30 in Shanghai.
const MONDAY_10: &str = "2026-11-23T10:00:00+08:00";
/// 75 % of the business day: the same-day report's warning is due.
const WARNING_DUE: &str = "2026-11-23T16:00:00+08:00";
/// Past the business day: the report is missed and the case escalated.
const REPORT_MISSED: &str = "2026-11-23T17:31:00+08:00";

/// Several scheduler passes: long enough for a node that may fire to have fired.
const PASSES: Duration = Duration::from_millis(1500);
/// What a check that something happens waits at most.
const PATIENCE: Duration = Duration::from_secs(30);

/// One node on the shared in-memory log: its engine and its own read models.
struct Node {
    store: Arc<MemStore>,
    engine: Arc<Engine>,
    projections: Arc<Projections>,
    follower: JoinHandle<()>,
    _dir: tempfile::TempDir,
}

impl Node {
    fn on(log: &MemStore, clock: &ManualClock) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(log.another());
        let policy = Arc::new(Policy::builtin());
        let projections = Arc::new(Projections::open(dir.path(), policy.clone()).unwrap());
        let engine = Arc::new(Engine::new(store.clone(), policy, Arc::new(clock.clone())));
        let follower = tokio::spawn({
            let (projections, store) = (projections.clone(), store.clone());
            async move {
                projections.follow(store).await.unwrap();
            }
        });
        Self {
            store,
            engine,
            projections,
            follower,
            _dir: dir,
        }
    }

    fn scheduler(&self) -> Scheduler {
        Scheduler::new(self.engine.clone(), self.projections.clone())
    }

    /// Runs this node's scheduler under `lease` until the returned handle is aborted
    /// (the node dies: its claim goes with it) or `stop` turns true.
    fn run(&self, lease: Box<dyn Lease>, stop: watch::Receiver<bool>) -> JoinHandle<()> {
        let scheduler = self.scheduler();
        tokio::spawn(async move { scheduler.run_leased(lease.as_ref(), stop).await })
    }

    async fn file(&self, complaint: &str) {
        self.engine
            .submit(
                &actor(Role::DealerStaff),
                &id(complaint),
                ExpectedVersion::NoStream,
                &[Submission::new(Uuid::new_v4(), filing(complaint, |_| {}))],
                &Trusted,
            )
            .await
            .unwrap();
    }

    /// How many events of each engine type the complaint has.
    async fn engine_events(&self, complaint: &str) -> BTreeMap<String, usize> {
        let mut counts = BTreeMap::new();
        for event in self.timeline(complaint).await {
            if event.actor.starts_with("engine:") {
                *counts.entry(event.event_type).or_default() += 1;
            }
        }
        counts
    }

    async fn timeline(&self, complaint: &str) -> Vec<complaintflow_log::RecordedEvent> {
        self.store
            .read_stream(
                &complaint_stream(&id(complaint)).unwrap(),
                0,
                Direction::Forwards,
                10_000,
            )
            .await
            .unwrap()
    }

    /// Waits until the complaint has `count` events of `event_type` from the engine.
    async fn until_fired(&self, complaint: &str, event_type: &str, count: usize) {
        let fired = tokio::time::timeout(PATIENCE, async {
            loop {
                if self.engine_events(complaint).await.get(event_type).copied() >= Some(count) {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
        .await;
        assert!(
            fired.is_ok(),
            "{complaint}: no {event_type} within {PATIENCE:?}: {:?}",
            self.engine_events(complaint).await
        );
    }

    async fn stop(self) {
        self.follower.abort();
        let _ = self.follower.await;
    }
}

fn shared_log(clock: &ManualClock) -> MemStore {
    MemStore::with_clock(Arc::new(clock.clone()), StoreLimits::default())
}

/// A lease the test hands out and takes back.
struct Switch(Arc<watch::Sender<bool>>);

impl Lease for Switch {
    fn holding(&self) -> watch::Receiver<bool> {
        self.0.subscribe()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_without_the_lease_fires_nothing_and_takes_over_when_the_holder_dies() {
    let clock = ManualClock::new(at(MONDAY_10));
    let log = shared_log(&clock);
    let (a, b) = (Node::on(&log, &clock), Node::on(&log, &clock));
    let (_stop, stop) = watch::channel(false);
    // Node a claims first and holds the lease; node b queues behind it.
    let a_runs = a.run(a.store.scheduler_lease(), stop.clone());
    let b_runs = b.run(b.store.scheduler_lease(), stop.clone());
    let c = "CMP-LEASE-1";
    a.file(c).await;

    clock.set(at(WARNING_DUE));
    a.until_fired(c, "complaint.deadline_warning", 1).await;

    // Node a dies: its claim goes with it, and node b fires what falls due next.
    a_runs.abort();
    assert!(a_runs.await.unwrap_err().is_cancelled());
    clock.set(at(REPORT_MISSED));
    b.until_fired(c, "complaint.deadline_missed", 1).await;
    tokio::time::sleep(PASSES).await;
    let fired = b.engine_events(c).await;
    assert_eq!(
        fired.get("complaint.deadline_warning"),
        Some(&1),
        "{fired:?}"
    );
    assert_eq!(
        fired.get("complaint.deadline_missed"),
        Some(&1),
        "{fired:?}"
    );
    assert_eq!(fired.get("complaint.escalated"), Some(&1), "{fired:?}");

    b_runs.abort();
    a.stop().await;
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scheduler_fires_only_while_it_holds_the_lease() {
    let clock = ManualClock::new(at(MONDAY_10));
    let log = shared_log(&clock);
    let node = Node::on(&log, &clock);
    let (_stop, stop) = watch::channel(false);
    let held = Arc::new(watch::Sender::new(false));
    let runs = node.run(Box::new(Switch(held.clone())), stop);
    let c = "CMP-LEASE-2";
    node.file(c).await;

    // Not held: the warning falls due and nothing fires.
    clock.set(at(WARNING_DUE));
    tokio::time::sleep(PASSES).await;
    assert_eq!(node.engine_events(c).await, BTreeMap::new());

    // Held: it fires.
    held.send_replace(true);
    node.until_fired(c, "complaint.deadline_warning", 1).await;

    // Lost again: what falls due next waits for whoever holds it.
    held.send_replace(false);
    clock.set(at(REPORT_MISSED));
    tokio::time::sleep(PASSES).await;
    assert_eq!(
        node.engine_events(c).await.get("complaint.deadline_missed"),
        None
    );
    held.send_replace(true);
    node.until_fired(c, "complaint.deadline_missed", 1).await;

    runs.abort();
    node.stop().await;
}

/// Files `complaints` through the first node, moves the clock past the warning and the
/// missed report at once (a catch-up: two moments due per complaint), fires through
/// every node at the same time, and returns each complaint's engine events as (event
/// id, type).
async fn file_and_fire(
    clock: &ManualClock,
    nodes: &[&Node],
    complaints: &[String],
) -> Vec<Vec<(Uuid, String)>> {
    let first = nodes[0];
    for c in complaints {
        first.file(c).await;
    }
    for node in nodes {
        node.projections.wait_for(first.store.head()).await;
    }
    clock.set(at(REPORT_MISSED));
    let schedulers: Vec<Scheduler> = nodes.iter().map(|node| node.scheduler()).collect();
    let reports = futures::future::join_all(schedulers.iter().map(Scheduler::fire_due)).await;
    for report in reports {
        report.unwrap();
    }
    let mut fired = Vec::new();
    for c in complaints {
        fired.push(
            first
                .timeline(c)
                .await
                .into_iter()
                .filter(|e| e.actor.starts_with("engine:"))
                .map(|e| (e.event_id, e.event_type))
                .collect(),
        );
    }
    fired
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_firing_the_same_deadlines_at_once_store_each_firing_once() {
    let complaints: Vec<String> = (0..40).map(|i| format!("CMP-TWICE-{i:03}")).collect();
    let alone = {
        let clock = ManualClock::new(at(MONDAY_10));
        let node = Node::on(&shared_log(&clock), &clock);
        let fired = file_and_fire(&clock, &[&node], &complaints).await;
        node.stop().await;
        fired
    };
    assert!(
        alone
            .iter()
            .all(|events| events.iter().any(|(_, t)| t == "complaint.deadline_missed")),
        "every complaint's report was missed: {alone:?}"
    );

    let clock = ManualClock::new(at(MONDAY_10));
    let log = shared_log(&clock);
    let (a, b) = (Node::on(&log, &clock), Node::on(&log, &clock));
    let together = file_and_fire(&clock, &[&a, &b], &complaints).await;
    assert_eq!(
        together, alone,
        "two nodes firing at once store what one node alone does, once"
    );
    a.stop().await;
    b.stop().await;
}
