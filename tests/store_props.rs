//! Property, for every backend: any interleaving of concurrent appends leaves gapless versions per stream and
//! a gapless global order, keeps each append's events together, and a subscriber started
//! before the appends sees every event exactly once, in position order, as `read_all`
//! returns them.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test or benchmark stops at the first surprise"
)]

mod conformance;
#[allow(unused_macros)]
#[macro_use]
mod store_suite;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use complaintflow_log::subscription::{Subscription, subscribe};
use complaintflow_log::verify::verify_log;
use complaintflow_log::{
    AppendOutcome, Direction, EventStore, ExpectedVersion, MAX_PAGE, RecordedEvent, StreamId,
};
use conformance::{event, stream};
use futures::StreamExt;
use proptest::prelude::*;
use store_suite::Backend;

const STREAMS: usize = 5;
const SUBSCRIBER_TIMEOUT: Duration = Duration::from_secs(10);
/// How long the subscription must stay silent once it delivered everything.
const QUIET: Duration = Duration::from_millis(50);

/// One generated append.
#[derive(Debug, Clone)]
struct PlannedAppend {
    stream: usize,
    events: usize,
    /// Which task makes it (modulo the number of tasks).
    task: usize,
    /// Whether the task yields to the scheduler before it, to vary the interleaving.
    yield_first: bool,
}

#[derive(Debug, Clone)]
struct Plan {
    tasks: usize,
    appends: Vec<PlannedAppend>,
}

fn plan() -> impl Strategy<Value = Plan> {
    let append = (0..STREAMS, 1..=4usize, 0..6usize, any::<bool>()).prop_map(
        |(stream, events, task, yield_first)| PlannedAppend {
            stream,
            events,
            task,
            yield_first,
        },
    );
    (2..=6usize, prop::collection::vec(append, 1..40))
        .prop_map(|(tasks, appends)| Plan { tasks, appends })
}

fn stream_name(index: usize) -> StreamId {
    stream(&format!("prop-{index}"))
}

/// What one append asked for and what it got.
struct Done {
    stream: StreamId,
    payloads: Vec<Vec<u8>>,
    outcome: AppendOutcome,
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn concurrent_appends_are_gapless_and_seen_once_by_a_subscriber(plan in plan()) {
        run::<store_suite::Sled>(plan)?;
    }
}

proptest! {
    // Each case makes and drops a schema: fewer cases, the same property.
    #![proptest_config(ProptestConfig::with_cases(16))]

    #[test]
    fn postgres_concurrent_appends_are_gapless_and_seen_once_by_a_subscriber(plan in plan()) {
        run::<store_suite::postgres::Postgres>(plan)?;
    }
}

fn run<B: Backend>(plan: Plan) -> Result<(), TestCaseError> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let Some(backend) = B::open(store_suite::start_clock()).await else {
            return Ok(());
        };
        let checked = run_case(backend.store(), plan).await;
        backend.finish().await;
        checked
    })
}

async fn run_case(store: Arc<dyn EventStore>, plan: Plan) -> Result<(), TestCaseError> {
    let subscription = subscribe(store.clone(), 0);

    let per_task = run_tasks(&store, &plan).await;
    let total: usize = plan.appends.iter().map(|a| a.events).sum();
    let log = read_all(store.as_ref()).await;
    prop_assert_eq!(log.len(), total);
    prop_assert_eq!(store.head(), total as u64);

    check_global_order(&log)?;
    check_streams(store.as_ref(), &log).await?;
    for done in &per_task {
        check_task_appends(done, &log)?;
    }
    check_subscription(subscription, &log).await?;
    prop_assert!(verify_log(store.as_ref()).await.unwrap().is_intact());
    Ok(())
}

/// Runs the plan's appends, split across concurrent tasks; returns each task's appends
/// in the order it made them.
async fn run_tasks(store: &Arc<dyn EventStore>, plan: &Plan) -> Vec<Vec<Done>> {
    let mut assigned: Vec<Vec<PlannedAppend>> = vec![Vec::new(); plan.tasks];
    for append in &plan.appends {
        assigned[append.task % plan.tasks].push(append.clone());
    }
    let handles: Vec<_> = assigned
        .into_iter()
        .enumerate()
        .map(|(task, appends)| tokio::spawn(run_task(Arc::clone(store), task, appends)))
        .collect();
    let mut per_task = Vec::with_capacity(handles.len());
    for handle in handles {
        per_task.push(handle.await.expect("append task"));
    }
    per_task
}

async fn run_task(
    store: Arc<dyn EventStore>,
    task: usize,
    appends: Vec<PlannedAppend>,
) -> Vec<Done> {
    let mut done = Vec::with_capacity(appends.len());
    for (i, append) in appends.into_iter().enumerate() {
        if append.yield_first {
            tokio::task::yield_now().await;
        }
        let stream = stream_name(append.stream);
        let events: Vec<_> = (0..append.events)
            .map(|k| event(&format!("task {task} append {i} event {k}")))
            .collect();
        let payloads = events.iter().map(|e| e.payload.clone()).collect();
        let outcome = store
            .append(&stream, ExpectedVersion::Any, events)
            .await
            .expect("an append with ExpectedVersion::Any succeeds");
        done.push(Done {
            stream,
            payloads,
            outcome,
        });
    }
    done
}

async fn read_all(store: &dyn EventStore) -> Vec<RecordedEvent> {
    let mut log = Vec::new();
    loop {
        let page = store.read_all(log.len() as u64, MAX_PAGE).await.unwrap();
        if page.is_empty() {
            return log;
        }
        log.extend(page);
    }
}

fn check_global_order(log: &[RecordedEvent]) -> Result<(), TestCaseError> {
    for (expected, event) in (0u64..).zip(log) {
        prop_assert_eq!(event.position, expected, "gap in the global order");
    }
    Ok(())
}

/// Versions run 0, 1, 2, ... per stream in global order, and `read_stream` agrees.
async fn check_streams(store: &dyn EventStore, log: &[RecordedEvent]) -> Result<(), TestCaseError> {
    let mut streams: HashMap<&StreamId, Vec<&RecordedEvent>> = HashMap::new();
    for event in log {
        let events = streams.entry(&event.stream).or_default();
        prop_assert_eq!(
            event.version,
            events.len() as u64,
            "gap in {}",
            event.stream
        );
        events.push(event);
    }
    for (stream, expected) in streams {
        let read = store
            .read_stream(stream, 0, Direction::Forwards, MAX_PAGE)
            .await
            .unwrap();
        prop_assert_eq!(read.iter().collect::<Vec<_>>(), expected);
        let version = store.stream_version(stream).await.unwrap();
        prop_assert_eq!(version, Some(read.len() as u64 - 1));
    }
    Ok(())
}

/// Each append's events sit together, in order, where its outcome says, with what was
/// submitted; and one task's appends land in the order it made them.
fn check_task_appends(appends: &[Done], log: &[RecordedEvent]) -> Result<(), TestCaseError> {
    let mut previous_position = None;
    for done in appends {
        prop_assert!(!done.outcome.replayed);
        let first = done.outcome.slots[0];
        for (offset, (slot, payload)) in (0u64..).zip(done.outcome.slots.iter().zip(&done.payloads))
        {
            prop_assert_eq!(
                (slot.version, slot.position),
                (first.version + offset, first.position + offset)
            );
            let stored = &log[slot.position as usize];
            prop_assert_eq!(&stored.stream, &done.stream);
            prop_assert_eq!(stored.version, slot.version);
            prop_assert_eq!(stored.event_id, slot.event_id);
            prop_assert_eq!(&stored.payload, payload);
        }
        prop_assert!(
            previous_position < Some(first.position),
            "a task's appends out of order"
        );
        previous_position = Some(done.outcome.last_position());
    }
    Ok(())
}

/// The subscription delivers exactly the log, then nothing more.
async fn check_subscription(
    mut subscription: Subscription,
    log: &[RecordedEvent],
) -> Result<(), TestCaseError> {
    let mut seen = Vec::with_capacity(log.len());
    while seen.len() < log.len() {
        let next = tokio::time::timeout(SUBSCRIBER_TIMEOUT, subscription.next()).await;
        let event = next
            .expect("the subscriber is stuck")
            .expect("the subscription ended early")
            .expect("the subscription failed");
        seen.push(event);
    }
    prop_assert_eq!(seen.as_slice(), log);
    let extra = tokio::time::timeout(QUIET, subscription.next()).await;
    prop_assert!(
        extra.is_err(),
        "the subscription delivered more than the log: {:?}",
        extra
    );
    Ok(())
}
