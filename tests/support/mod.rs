//! A whole engine on a manual clock, for scenario tests: log, engine, projections
//! following the live tail, and the timer scheduler.
#![allow(dead_code)] // each test binary uses a different part

pub(crate) mod cli;
pub(crate) mod server;

use complaintflow_log::LogReader;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use complaintflow_domain::values::ComplaintId;
use complaintflow_domain::{ComplaintEvent, Policy, Role};
use complaintflow_log::clock::ManualClock;
use complaintflow_log::{AppendOutcome, Direction, ExpectedVersion, RecordedEvent};
use complaintflow_server::engine::{Engine, EngineError, Submission, Trusted};
use complaintflow_server::projections::{ComplaintRecord, Projections};
use complaintflow_server::timers::{FireReport, Scheduler};
use complaintflow_store_sled::{SledOptions, SledStore};
use jiff::{SignedDuration, Timestamp};
use tokio::task::JoinHandle;
use uuid::Uuid;

// The kit's own, so that scenarios read their times and actors as every other test does.
#[allow(unused_imports, reason = "each test binary uses a different part")]
pub(crate) use complaintflow_domain::testkit::{actor, at};

pub(crate) fn id(text: &str) -> ComplaintId {
    ComplaintId::parse(text).expect("test complaint id")
}

pub(crate) struct World {
    pub dir: PathBuf,
    scratch: Option<tempfile::TempDir>,
    pub clock: ManualClock,
    pub store: Arc<SledStore>,
    pub engine: Arc<Engine>,
    pub projections: Arc<Projections>,
    pub scheduler: Scheduler,
    follower: JoinHandle<()>,
    next_id: AtomicU64,
}

impl World {
    /// A fresh engine with the built-in policy, its clock at `start`.
    pub(crate) async fn start(start: &str) -> Self {
        let temp = tempfile::tempdir().expect("tempdir");
        let dir = temp.path().to_path_buf();
        let mut world = Self::open(&dir, ManualClock::new(at(start)));
        world.scratch = Some(temp);
        world
    }

    /// Opens the engine on an existing data directory (a restart).
    pub(crate) fn open(dir: &Path, clock: ManualClock) -> Self {
        let (store, projections) = Self::open_log(dir, &clock);
        Self::assemble(dir, clock, store, projections)
    }

    /// Opens the engine on an existing data directory as the server starts: the read
    /// models catch up with the log before they follow it (needs a multi-thread runtime).
    pub(crate) async fn open_caught_up(dir: &Path, clock: ManualClock) -> Self {
        let (store, projections) = Self::open_log(dir, &clock);
        projections
            .catch_up(store.as_ref(), |_, _| {})
            .await
            .expect("projections catch up");
        Self::assemble(dir, clock, store, projections)
    }

    fn open_log(dir: &Path, clock: &ManualClock) -> (Arc<SledStore>, Arc<Projections>) {
        let options = SledOptions {
            clock: Arc::new(clock.clone()),
            ..SledOptions::default()
        };
        let store = Arc::new(SledStore::open(dir.join("events"), options).expect("store"));
        let projections = Arc::new(
            Projections::open(dir.join("projections"), Arc::new(Policy::builtin()))
                .expect("projections"),
        );
        (store, projections)
    }

    fn assemble(
        dir: &Path,
        clock: ManualClock,
        store: Arc<SledStore>,
        projections: Arc<Projections>,
    ) -> Self {
        let engine = Arc::new(Engine::new(
            store.clone(),
            projections.policy().clone(),
            Arc::new(clock.clone()),
        ));
        let follower = tokio::spawn({
            let (projections, store) = (projections.clone(), store.clone());
            async move {
                projections
                    .follow(store)
                    .await
                    .expect("projections follow the log");
            }
        });
        let scheduler = Scheduler::new(engine.clone(), projections.clone());
        Self {
            dir: dir.to_path_buf(),
            scratch: None,
            clock,
            store,
            engine,
            projections,
            scheduler,
            follower,
            next_id: AtomicU64::new(1),
        }
    }

    /// Stops everything as a shutdown would, keeping the data directory.
    pub(crate) async fn stop(self) -> (Option<tempfile::TempDir>, PathBuf, ManualClock) {
        self.follower.abort();
        let _ = self.follower.await;
        self.store.close().await.expect("close");
        self.projections.flush().await.expect("flush projections");
        (self.scratch, self.dir, self.clock)
    }

    pub(crate) fn now(&self) -> Timestamp {
        self.clock.now_ts()
    }

    /// Moves the clock and fires whatever fell due.
    pub(crate) async fn advance(&self, by: SignedDuration) -> FireReport {
        self.clock.advance(by);
        self.fire().await
    }

    /// Sets the clock (forward) and fires whatever fell due.
    pub(crate) async fn at(&self, when: &str) -> FireReport {
        let when = at(when);
        assert!(
            when >= self.now(),
            "the clock only moves forward in these tests"
        );
        self.clock.set(when);
        self.fire().await
    }

    pub(crate) async fn fire(&self) -> FireReport {
        self.scheduler.fire_due().await.expect("timers fire")
    }

    /// Submits an event happening now.
    pub(crate) async fn submit(
        &self,
        role: Role,
        complaint: &str,
        event: impl Into<ComplaintEvent>,
    ) -> Result<AppendOutcome, EngineError> {
        self.send(role, complaint, Submission::new(self.fresh_id(), event))
            .await
    }

    /// Submits an event dated `occurred_at` (e.g. sent late by a dealer system).
    pub(crate) async fn submit_dated(
        &self,
        role: Role,
        complaint: &str,
        event: impl Into<ComplaintEvent>,
        occurred_at: Timestamp,
    ) -> Result<AppendOutcome, EngineError> {
        let submission = Submission::new(self.fresh_id(), event).at(occurred_at);
        self.send(role, complaint, submission).await
    }

    async fn send(
        &self,
        role: Role,
        complaint: &str,
        submission: Submission,
    ) -> Result<AppendOutcome, EngineError> {
        self.engine
            .submit(
                &actor(role),
                &id(complaint),
                ExpectedVersion::Any,
                &[submission],
                &Trusted,
            )
            .await
    }

    #[track_caller]
    #[allow(
        clippy::unused_self,
        reason = "read as a step of the test world, like its neighbours"
    )]
    pub(crate) fn ok(&self, result: Result<AppendOutcome, EngineError>) -> AppendOutcome {
        result.unwrap_or_else(|err| panic!("refused: {err}"))
    }

    /// The rule code an event is refused with (panics if it is accepted).
    pub(crate) async fn refused(
        &self,
        role: Role,
        complaint: &str,
        event: impl Into<ComplaintEvent>,
    ) -> &'static str {
        let head = self.store.head();
        match self.submit(role, complaint, event).await {
            Err(EngineError::Rule { violation, .. }) => {
                assert_eq!(self.store.head(), head, "a refused event writes nothing");
                violation.code()
            }
            other => panic!("expected a rule violation, got {other:?}"),
        }
    }

    /// Numbers the ids of later submissions from `next`: a world reopened on a log that
    /// another one wrote must not reuse that one's ids.
    pub(crate) fn ids_from(self, next: u64) -> Self {
        self.next_id.store(next, Ordering::Relaxed);
        self
    }

    fn fresh_id(&self) -> Uuid {
        Uuid::from_u128(
            0x7e57_0000_0000_0000_0000_0000_0000_0000
                | u128::from(self.next_id.fetch_add(1, Ordering::Relaxed)),
        )
    }

    /// The projected record, once the projections have seen everything.
    pub(crate) async fn record(&self, complaint: &str) -> ComplaintRecord {
        self.projections.wait_for(self.store.head()).await;
        self.projections
            .get(&id(complaint))
            .expect("read")
            .expect("projected")
    }

    pub(crate) async fn timeline(&self, complaint: &str) -> Vec<RecordedEvent> {
        let stream =
            complaintflow_server::engine::complaint_stream(&id(complaint)).expect("stream");
        self.store
            .read_stream(&stream, 0, Direction::Forwards, 10_000)
            .await
            .expect("timeline")
    }

    /// The event types of a complaint's timeline, in order.
    pub(crate) async fn types(&self, complaint: &str) -> Vec<String> {
        self.timeline(complaint)
            .await
            .into_iter()
            .map(|e| e.event_type)
            .collect()
    }

    /// How many events of `event_type` the complaint has.
    pub(crate) async fn count(&self, complaint: &str, event_type: &str) -> usize {
        self.types(complaint)
            .await
            .iter()
            .filter(|t| *t == event_type)
            .count()
    }
}

/// `ManualClock::now` through the `Clock` trait, without importing it everywhere.
pub(crate) trait NowExt {
    fn now_ts(&self) -> Timestamp;
}

impl NowExt for ManualClock {
    fn now_ts(&self) -> Timestamp {
        complaintflow_log::clock::Clock::now(self)
    }
}
