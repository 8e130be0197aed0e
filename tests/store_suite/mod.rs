//! One test per behaviour scenario per backend, as `store_test_suite!(Backend)` generates
//! them: the scenarios of `conformance` (a fresh store each), and those here that also
//! need a second store on the same log or the clock.
//!
//! A backend that needs a server (PostgreSQL) opens to `None` when none is configured,
//! and its tests say that they were skipped.
#![allow(dead_code)] // each test binary uses a different part of the suite

pub(crate) mod postgres;

use std::sync::Arc;

use async_trait::async_trait;
use complaintflow_log::clock::ManualClock;
use complaintflow_log::memory::MemStore;
use complaintflow_log::{Direction, EventStore, ExpectedVersion, StoreLimits};
use complaintflow_store_sled::{SledOptions, SledStore};
use jiff::{SignedDuration, Timestamp};

use crate::conformance::{events, stream};

/// A place a backend keeps one log, for one test.
#[async_trait]
pub(crate) trait Backend: Sized + Send + Sync {
    /// A fresh, empty log whose recorded times come from `clock`; `None` (after saying
    /// so) when the backend cannot be tested here.
    async fn open(clock: ManualClock) -> Option<Self>;

    /// The store on the log.
    fn store(&self) -> Arc<dyn EventStore>;

    /// The same log through another store: the embedded one closes and reopens it (a
    /// restart), a database is joined by a second node. The caller drops the stores it
    /// got before.
    async fn another(&mut self) -> Arc<dyn EventStore>;

    /// Removes the log.
    async fn finish(self);
}

/// The clock every suite test starts from.
pub(crate) fn start_clock() -> ManualClock {
    ManualClock::new("2026-05-01T02:00:00Z".parse().unwrap())
}

/// Generates the suite for one backend, in the module where it is invoked.
macro_rules! store_test_suite {
    ($backend:ty) => {
        store_test_suite!(@store $backend;
            versions_are_gapless_per_stream,
            reads_page_forwards_and_backwards,
            global_order_is_gapless_across_streams,
            expected_version_is_enforced,
            idempotent_retry_returns_the_original,
            known_id_with_other_content_is_refused,
            event_ids_are_scoped_to_their_stream,
            limits_refuse_and_write_nothing,
            concurrent_writers_win_each_version_once,
            retry_racing_the_original_stores_once,
            subscription_switches_to_live_without_gap_or_duplicate,
            verification_and_digests_hold_on_an_intact_log,
            envelope_keeps_what_was_submitted,
            encoded_pages_hold_what_read_all_returns,
        );
        store_test_suite!(@backend $backend;
            retries_and_streams_are_recognised_through_another_store,
            recorded_time_comes_from_the_clock_and_never_goes_back,
        );
    };
    (@store $backend:ty; $($scenario:ident),+ $(,)?) => {$(
        #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
        async fn $scenario() {
            use $crate::store_suite::Backend as _;
            let clock = $crate::store_suite::start_clock();
            let Some(backend) = <$backend>::open(clock).await else { return };
            $crate::conformance::$scenario(backend.store()).await;
            backend.finish().await;
        }
    )+};
    (@backend $backend:ty; $($scenario:ident),+ $(,)?) => {$(
        #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
        async fn $scenario() {
            use $crate::store_suite::Backend as _;
            let clock = $crate::store_suite::start_clock();
            let Some(mut backend) = <$backend>::open(clock.clone()).await else { return };
            $crate::store_suite::$scenario(&mut backend, &clock).await;
            backend.finish().await;
        }
    )+};
}

/// A retry that reaches another store on the same log (after a restart, or on another
/// node) is answered as a replay, and the stream goes on from its head.
pub(crate) async fn retries_and_streams_are_recognised_through_another_store(
    backend: &mut impl Backend,
    _clock: &ManualClock,
) {
    let s = stream("C-reopen");
    let batch = events(3);
    let original = backend
        .store()
        .append(&s, ExpectedVersion::NoStream, batch.clone())
        .await
        .unwrap();
    let other = backend.another().await;
    let retry = other
        .append(&s, ExpectedVersion::Any, batch.clone())
        .await
        .unwrap();
    assert!(retry.replayed, "the id index is the log's, not one store's");
    assert_eq!(retry.slots, original.slots);
    assert_eq!(
        other.find_event(&s, &batch[2].event_id).await.unwrap(),
        Some(original.slots[2])
    );
    let next = other
        .append(&s, ExpectedVersion::Exact(2), events(1))
        .await
        .unwrap();
    assert_eq!(next.last_version(), 3, "the stream head is the log's");
    assert_eq!((other.head(), next.last_position()), (4, 3));
}

/// Recorded times come from the injected clock, and never go back when it does.
pub(crate) async fn recorded_time_comes_from_the_clock_and_never_goes_back(
    backend: &mut impl Backend,
    clock: &ManualClock,
) {
    let store = backend.store();
    let s = stream("C-time");
    store
        .append(&s, ExpectedVersion::Any, events(1))
        .await
        .unwrap();
    clock.advance(SignedDuration::from_hours(26));
    store
        .append(&s, ExpectedVersion::Any, events(1))
        .await
        .unwrap();
    clock.set("2026-04-01T00:00:00Z".parse::<Timestamp>().unwrap());
    store
        .append(&s, ExpectedVersion::Any, events(1))
        .await
        .unwrap();
    let times: Vec<_> = store
        .read_stream(&s, 0, Direction::Forwards, 10)
        .await
        .unwrap()
        .iter()
        .map(|e| e.recorded_at.to_string())
        .collect();
    assert_eq!(
        times,
        [
            "2026-05-01T02:00:00Z",
            "2026-05-02T04:00:00Z",
            "2026-05-02T04:00:00Z"
        ]
    );
}

/// The embedded store, in a temporary directory.
pub(crate) struct Sled {
    dir: tempfile::TempDir,
    clock: ManualClock,
    store: Option<Arc<SledStore>>,
}

impl Sled {
    fn options(clock: &ManualClock) -> SledOptions {
        SledOptions {
            clock: Arc::new(clock.clone()),
            ..SledOptions::default()
        }
    }
}

#[async_trait]
impl Backend for Sled {
    async fn open(clock: ManualClock) -> Option<Self> {
        let dir = tempfile::tempdir().unwrap();
        let store = SledStore::open(dir.path(), Self::options(&clock)).expect("open store");
        Some(Self {
            dir,
            clock,
            store: Some(Arc::new(store)),
        })
    }

    fn store(&self) -> Arc<dyn EventStore> {
        self.store.clone().expect("an open store")
    }

    async fn another(&mut self) -> Arc<dyn EventStore> {
        if let Some(store) = self.store.take() {
            store.close().await.unwrap();
        }
        let store = SledStore::open(self.dir.path(), Self::options(&self.clock)).expect("reopen");
        let store = Arc::new(store);
        self.store = Some(store.clone());
        store
    }

    async fn finish(self) {
        if let Some(store) = self.store {
            store.close().await.unwrap();
        }
    }
}

/// The reference backend: the log in memory; another store is another handle on it.
pub(crate) struct Memory {
    store: MemStore,
}

#[async_trait]
impl Backend for Memory {
    async fn open(clock: ManualClock) -> Option<Self> {
        let store = MemStore::with_clock(Arc::new(clock), StoreLimits::default());
        Some(Self { store })
    }

    fn store(&self) -> Arc<dyn EventStore> {
        Arc::new(self.store.another())
    }

    async fn another(&mut self) -> Arc<dyn EventStore> {
        Arc::new(self.store.another())
    }

    async fn finish(self) {}
}
