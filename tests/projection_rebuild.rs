//! "A rebuild from scratch gives exactly the same result as the incremental path",
//! on a generated history of 10,000 complaints: one projection follows the live tail
//! while the demo generator fills the log through the engine; a second one is built
//! from scratch afterwards. Every key and value must match.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test or benchmark stops at the first surprise"
)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use complaintflow::demo::{DemoConfig, DemoSummary, generate};
use complaintflow_domain::Policy;
use complaintflow_domain::state::Status;
use complaintflow_log::clock::ManualClock;
use complaintflow_log::{
    AppendOutcome, Direction, EventSlot, EventStore, ExpectedVersion, LogReader, MAX_PAGE,
    NewEvent, RecordedEvent, StoreError, StoreLimits, StreamId,
};
use complaintflow_server::engine::Engine;
use complaintflow_server::projections::{ListQuery, Projections, ScheduledTimer, StatsFilter};
use complaintflow_store_sled::{SledOptions, SledStore};

const COMPLAINTS: usize = 10_000;

/// Complaints listed under `status`, page by page.
fn count_with_status(projections: &Projections, status: Status) -> usize {
    let query = ListQuery {
        status: Some(status),
        ..ListQuery::default()
    };
    let mut count = 0;
    let mut after: Option<Vec<u8>> = None;
    loop {
        let page = projections
            .list(&query, &|_| true, 5_000, after.as_deref())
            .expect("list");
        count += page.records.len();
        match page.next {
            Some(next) => after = Some(next),
            None => return count,
        }
    }
}

fn assert_same_read_models(live: &Projections, rebuilt: &Projections) {
    let (live_dump, rebuilt_dump) = (live.dump().expect("dump"), rebuilt.dump().expect("dump"));
    let first_difference = live_dump
        .iter()
        .zip(&rebuilt_dump)
        .position(|(a, b)| a != b);
    if let Some(index) = first_difference {
        let (live_entry, rebuilt_entry) = (&live_dump[index], &rebuilt_dump[index]);
        let differing: Vec<u8> = live_dump
            .iter()
            .zip(&rebuilt_dump)
            .filter(|(a, b)| a != b)
            .map(|(a, _)| a.0[0])
            .collect();
        let kinds: std::collections::BTreeSet<char> =
            differing.iter().map(|k| char::from(*k)).collect();
        panic!(
            "{} of {} entries differ (key prefixes {kinds:?}); the first, entry {index}:\n live    {}\n rebuilt {}",
            differing.len(),
            live_dump.len(),
            describe(live_entry),
            describe(rebuilt_entry)
        );
    }
    assert_eq!(live_dump.len(), rebuilt_dump.len(), "entry counts differ");
    assert_eq!(live.pending_timers(), rebuilt.pending_timers());
}

/// A read-model entry for a failure message: the key, and timer values decoded.
fn describe((key, value): &(Vec<u8>, Vec<u8>)) -> String {
    let timer = (key.first() == Some(&b'T'))
        .then(|| {
            bincode::serde::decode_from_slice::<ScheduledTimer, _>(
                value,
                bincode::config::standard(),
            )
            .ok()
        })
        .flatten()
        .map(|(timer, _)| format!("{timer:?}"));
    let value = timer.unwrap_or_else(|| format!("{} bytes", value.len()));
    format!("{:?} = {value}", String::from_utf8_lossy(key))
}

/// The store, except that its pages of the global log hold fewer events than asked
/// for, as another backend's might: a catch-up must not assume full pages.
struct ShortPages(Arc<SledStore>);

const SHORT_PAGE: usize = 997;

#[async_trait::async_trait]
impl LogReader for ShortPages {
    async fn read_stream(
        &self,
        stream: &StreamId,
        from: u64,
        direction: Direction,
        limit: usize,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        self.0.read_stream(stream, from, direction, limit).await
    }

    async fn read_all(&self, from: u64, limit: usize) -> Result<Vec<RecordedEvent>, StoreError> {
        self.0.read_all(from, limit.min(SHORT_PAGE)).await
    }

    async fn stream_version(&self, stream: &StreamId) -> Result<Option<u64>, StoreError> {
        self.0.stream_version(stream).await
    }

    fn watch_head(&self) -> tokio::sync::watch::Receiver<u64> {
        self.0.watch_head()
    }
}

#[async_trait::async_trait]
impl EventStore for ShortPages {
    async fn append(
        &self,
        stream: &StreamId,
        expected: ExpectedVersion,
        events: Vec<NewEvent>,
    ) -> Result<AppendOutcome, StoreError> {
        self.0.append(stream, expected, events).await
    }

    async fn find_event(
        &self,
        stream: &StreamId,
        event_id: &uuid::Uuid,
    ) -> Result<Option<EventSlot>, StoreError> {
        self.0.find_event(stream, event_id).await
    }

    fn limits(&self) -> StoreLimits {
        self.0.limits()
    }

    fn scheduler_lease(&self) -> Box<dyn complaintflow_log::Lease> {
        self.0.scheduler_lease()
    }
}

fn assert_semantics(projections: &Projections, summary: &DemoSummary) {
    let stats = projections
        .statistics(&StatsFilter::default(), &|_, _| true)
        .expect("statistics");
    assert_eq!(stats.complaints, COMPLAINTS as u64);
    assert_eq!(stats.by_dealer.values().sum::<u64>(), COMPLAINTS as u64);
    assert_eq!(stats.by_month.values().sum::<u64>(), COMPLAINTS as u64);
    assert_eq!(stats.by_channel.values().sum::<u64>(), COMPLAINTS as u64);
    assert!(stats.escalation_rate > 0.0 && stats.reopen_rate > 0.0);
    assert!(stats.deadlines.values().any(|(_, missed)| *missed > 0));
    for status in Status::ALL {
        let expected = summary.by_status.get(status).copied().unwrap_or(0);
        assert_eq!(
            count_with_status(projections, *status),
            expected,
            "complaints {}",
            status.as_str()
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rebuild_from_scratch_equals_the_incremental_projections() {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = DemoConfig {
        complaints: COMPLAINTS,
        seed: 2026,
        ..DemoConfig::default()
    };
    let clock = ManualClock::new(config.start);
    let options = SledOptions {
        clock: Arc::new(clock.clone()),
        ..SledOptions::default()
    };
    let store = Arc::new(SledStore::open(dir.path().join("log"), options).expect("store"));
    let policy = Arc::new(Policy::builtin());
    let engine = Engine::new(store.clone(), policy.clone(), Arc::new(clock.clone()));

    let live =
        Arc::new(Projections::open(dir.path().join("live"), policy.clone()).expect("projections"));
    let follower = tokio::spawn(live.clone().follow(store.clone() as Arc<dyn EventStore>));
    let started = Instant::now();
    let summary = generate(&engine, &clock, &config, |_| {})
        .await
        .unwrap_or_else(|err| panic!("{err}"));
    let generated = started.elapsed();
    let head = store.head();
    tokio::time::timeout(Duration::from_secs(120), live.wait_for(head))
        .await
        .expect("the follower catches up");
    let followed = started.elapsed();
    follower.abort();

    let started = Instant::now();
    let rebuilt =
        Projections::open(dir.path().join("rebuilt"), policy.clone()).expect("projections");
    let applied = rebuilt
        .catch_up(store.as_ref(), |_, _| {})
        .await
        .expect("catch up");
    let rebuild = started.elapsed();
    eprintln!("{summary}");
    eprintln!(
        "generated in {generated:.1?}, live projections caught up at {followed:.1?}, rebuilt {applied} events in {rebuild:.1?}"
    );

    assert_eq!(summary.events as u64, head);
    assert_eq!((live.checkpoint(), rebuilt.checkpoint()), (head, head));
    assert_semantics(&live, &summary);
    assert_semantics(&rebuilt, &summary);
    assert_same_read_models(&live, &rebuilt);

    // Read models that already hold the first half of the log take the catch-up's
    // other path: the second half is folded against their records and installed.
    let resumed =
        Projections::open(dir.path().join("resumed"), policy.clone()).expect("projections");
    let mut position = 0;
    while position < head / 2 {
        let page = store
            .read_all(
                position,
                (head / 2 - position).min(MAX_PAGE as u64) as usize,
            )
            .await
            .expect("read");
        position = page.last().expect("events").position + 1;
        resumed.apply(&page).expect("apply");
    }
    resumed
        .catch_up(store.as_ref(), |_, _| {})
        .await
        .expect("catch up");
    assert_eq!(resumed.checkpoint(), head);
    assert_same_read_models(&live, &resumed);
    drop(resumed);

    // A catch-up reads pages ahead of the fold, where it expects them to start; a store
    // with shorter pages leaves gaps that it must read on its own.
    let short = Projections::open(dir.path().join("short"), policy.clone()).expect("projections");
    let mut reported = 0;
    let applied = short
        .catch_up(&ShortPages(store.clone()), |done, total| {
            assert!(
                done > reported && done <= total,
                "progress {done}/{total} after {reported}"
            );
            reported = done;
        })
        .await
        .expect("catch up");
    assert_eq!((applied, reported), (head, head));
    assert_same_read_models(&live, &short);
    drop(short);

    // The timer count is stored with the checkpoint, not recounted: after a reopen it
    // still matches the deadline index.
    let timers = rebuilt
        .dump()
        .expect("dump")
        .iter()
        .filter(|(key, _)| key.first() == Some(&b'T'))
        .count() as u64;
    assert!(timers > 0);
    rebuilt.flush().await.expect("snapshot");
    drop(rebuilt);
    let reopened = Projections::open(dir.path().join("rebuilt"), policy).expect("reopen");
    assert_eq!(reopened.pending_timers(), timers);
}
