//! Idempotency when retries race the original: a dealer system that leaves the event time
//! to the server sends copies of one request at once; every copy is answered as the one
//! append it is.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test or benchmark stops at the first surprise"
)]

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use complaintflow_domain::testkit::{apologized, filing, reported_to_cac_with_reference};
use complaintflow_domain::{Policy, Role};
use complaintflow_log::ExpectedVersion;
use complaintflow_log::clock::Clock;
use complaintflow_server::engine::{Engine, Submission, Trusted};
use complaintflow_store_sled::{SledOptions, SledStore};
use jiff::Timestamp;
use support::{actor, at, id};
use uuid::Uuid;

/// A clock that moves one millisecond every time it is read, so that no two readings
/// agree, as on a real server, yet deterministically.
#[derive(Debug)]
struct TickingClock(AtomicI64);

impl Clock for TickingClock {
    fn now(&self) -> Timestamp {
        let micros = self.0.fetch_add(1_000, Ordering::SeqCst);
        Timestamp::from_microsecond(micros).expect("test time")
    }
}

fn engine(dir: &std::path::Path) -> Arc<Engine> {
    nodes(dir, 1).remove(0)
}

/// `count` engines on one log, each taking its own turns, as nodes on one database do.
fn nodes(dir: &std::path::Path, count: usize) -> Vec<Arc<Engine>> {
    let clock = Arc::new(TickingClock(AtomicI64::new(
        at("2026-11-23T10:00:00+08:00").as_microsecond(),
    )));
    let options = SledOptions {
        clock: clock.clone(),
        ..SledOptions::default()
    };
    let store = Arc::new(SledStore::open(dir.join("events"), options).expect("store"));
    (0..count)
        .map(|_| {
            Arc::new(Engine::new(
                store.clone(),
                Arc::new(Policy::builtin()),
                clock.clone(),
            ))
        })
        .collect()
}

/// Sends `copies` copies of one submission at once, spread over `engines`; returns
/// every answer.
async fn race(
    engines: &[Arc<Engine>],
    complaint: &str,
    expected: ExpectedVersion,
    submissions: Vec<Submission>,
    copies: usize,
) -> Vec<complaintflow_log::AppendOutcome> {
    let tasks: Vec<_> = (0..copies)
        .map(|copy| {
            let engine = engines[copy % engines.len()].clone();
            let submissions = submissions.clone();
            let complaint = id(complaint);
            tokio::spawn(async move {
                engine
                    .submit(
                        &actor(Role::DealerStaff),
                        &complaint,
                        expected,
                        &submissions,
                        &Trusted,
                    )
                    .await
            })
        })
        .collect();
    let mut outcomes = Vec::new();
    for task in tasks {
        outcomes.push(
            task.await
                .expect("task")
                .expect("every copy is answered OK"),
        );
    }
    outcomes
}

fn assert_one_append(outcomes: &[complaintflow_log::AppendOutcome]) {
    let originals = outcomes.iter().filter(|o| !o.replayed).count();
    assert_eq!(originals, 1, "exactly one copy appends: {outcomes:?}");
    for outcome in outcomes {
        assert_eq!(
            outcome.slots, outcomes[0].slots,
            "every copy has the same slots"
        );
    }
}

/// Ten complaints, each filed and then appended to by copies of one request racing
/// over `engines`: every copy is answered as the one append it is.
async fn copies_race(engines: &[Arc<Engine>], prefix: &str) {
    for round in 0..10 {
        let complaint = format!("{prefix}-{round}");
        let filing = Submission::new(Uuid::new_v4(), filing(&complaint, |_| {}));
        let filed = race(
            engines,
            &complaint,
            ExpectedVersion::NoStream,
            vec![filing],
            12,
        )
        .await;
        assert_one_append(&filed);

        let appends = vec![
            Submission::new(Uuid::new_v4(), apologized()),
            Submission::new(Uuid::new_v4(), reported_to_cac_with_reference()),
        ];
        let appended = race(engines, &complaint, ExpectedVersion::Any, appends, 12).await;
        assert_one_append(&appended);
        assert_eq!(appended[0].last_version(), 2);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn copies_racing_the_original_without_a_time_are_all_replays() {
    let dir = tempfile::tempdir().unwrap();
    copies_race(&[engine(dir.path())], "CMP-RACE").await;
}

/// A dealer system behind a load balancer retries on another node while the first still
/// works on the request: the nodes do not share turns, so the copies meet only in the
/// log, and each must still be answered as the one append it is.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn copies_racing_on_different_nodes_are_all_replays() {
    let dir = tempfile::tempdir().unwrap();
    copies_race(&nodes(dir.path(), 3), "CMP-NODES").await;
}
