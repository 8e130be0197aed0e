//! The behaviour every `EventStore` backend must have, written once: each scenario takes
//! a fresh, empty store. `store_suite` makes one test per scenario per backend.
#![allow(dead_code)] // each test binary uses a different part of the suite

use std::collections::HashSet;
use std::sync::Arc;

use complaintflow_log::verify::{
    DigestCheck, check_digest, take_digest, verify_log, verify_stream,
};
use complaintflow_log::{
    Direction, EventStore, ExpectedVersion, NewEvent, StoreError, StreamId, subscription,
};
use futures::StreamExt;
use jiff::Timestamp;
use uuid::Uuid;

pub(crate) fn stream(name: &str) -> StreamId {
    StreamId::new(name).expect("valid stream id")
}

pub(crate) fn event(payload: &str) -> NewEvent {
    NewEvent {
        event_id: Uuid::new_v4(),
        event_type: "test.happened".into(),
        schema_version: 1,
        occurred_at: Timestamp::from_second(1_764_000_000).unwrap(),
        correlation_id: None,
        causation_id: None,
        actor: "tester".into(),
        payload: payload.as_bytes().to_vec(),
    }
}

pub(crate) fn events(n: usize) -> Vec<NewEvent> {
    (0..n).map(|i| event(&format!("payload {i}"))).collect()
}

pub(crate) async fn versions_are_gapless_per_stream(store: Arc<dyn EventStore>) {
    let s = stream("C-1");
    assert_eq!(store.stream_version(&s).await.unwrap(), None);
    let first = store
        .append(&s, ExpectedVersion::NoStream, events(3))
        .await
        .unwrap();
    assert_eq!(
        first.slots.iter().map(|s| s.version).collect::<Vec<_>>(),
        [0, 1, 2]
    );
    assert!(!first.replayed);
    let second = store
        .append(&s, ExpectedVersion::Exact(2), events(2))
        .await
        .unwrap();
    assert_eq!(
        second.slots.iter().map(|s| s.version).collect::<Vec<_>>(),
        [3, 4]
    );
    assert_eq!(store.stream_version(&s).await.unwrap(), Some(4));
    let read = store
        .read_stream(&s, 0, Direction::Forwards, 100)
        .await
        .unwrap();
    assert_eq!(
        read.iter().map(|e| e.version).collect::<Vec<_>>(),
        [0, 1, 2, 3, 4]
    );
}

pub(crate) async fn reads_page_forwards_and_backwards(store: Arc<dyn EventStore>) {
    let s = stream("C-paged");
    store
        .append(&s, ExpectedVersion::Any, events(10))
        .await
        .unwrap();
    store
        .append(&stream("C-other"), ExpectedVersion::Any, events(3))
        .await
        .unwrap();
    let page = store
        .read_stream(&s, 4, Direction::Forwards, 3)
        .await
        .unwrap();
    assert_eq!(
        page.iter().map(|e| e.version).collect::<Vec<_>>(),
        [4, 5, 6]
    );
    let back = store
        .read_stream(&s, u64::MAX, Direction::Backwards, 4)
        .await
        .unwrap();
    assert_eq!(
        back.iter().map(|e| e.version).collect::<Vec<_>>(),
        [9, 8, 7, 6]
    );
    let back = store
        .read_stream(&s, 2, Direction::Backwards, 10)
        .await
        .unwrap();
    assert_eq!(
        back.iter().map(|e| e.version).collect::<Vec<_>>(),
        [2, 1, 0]
    );
    assert!(
        store
            .read_stream(&s, 10, Direction::Forwards, 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        store
            .read_stream(&stream("C-none"), 0, Direction::Forwards, 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        store
            .read_stream(&s, 0, Direction::Forwards, 0)
            .await
            .unwrap()
            .is_empty()
    );
}

pub(crate) async fn global_order_is_gapless_across_streams(store: Arc<dyn EventStore>) {
    for round in 0..4 {
        for name in ["C-a", "C-b", "C-c"] {
            store
                .append(&stream(name), ExpectedVersion::Any, events(round % 2 + 1))
                .await
                .unwrap();
        }
    }
    let total = store.head();
    assert_eq!(total, 18);
    let mut positions = Vec::new();
    let mut from = 0;
    loop {
        let page = store.read_all(from, 5).await.unwrap();
        let Some(last) = page.last() else { break };
        from = last.position + 1;
        positions.extend(page.iter().map(|e| e.position));
    }
    assert_eq!(positions, (0..total).collect::<Vec<_>>());
    assert!(store.read_all(total, 10).await.unwrap().is_empty());
}

pub(crate) async fn expected_version_is_enforced(store: Arc<dyn EventStore>) {
    let s = stream("C-expect");
    let refused = |r: Result<_, StoreError>, want_expected, want_actual| match r {
        Err(StoreError::WrongExpectedVersion {
            expected, actual, ..
        }) => {
            assert_eq!(expected, want_expected);
            assert_eq!(actual, want_actual);
        }
        other => panic!("expected a version conflict, got {other:?}"),
    };
    refused(
        store
            .append(&s, ExpectedVersion::StreamExists, events(1))
            .await,
        ExpectedVersion::StreamExists,
        None,
    );
    refused(
        store.append(&s, ExpectedVersion::Exact(0), events(1)).await,
        ExpectedVersion::Exact(0),
        None,
    );
    assert_eq!(store.head(), 0, "a refused append writes nothing");
    store
        .append(&s, ExpectedVersion::NoStream, events(1))
        .await
        .unwrap();
    refused(
        store.append(&s, ExpectedVersion::NoStream, events(1)).await,
        ExpectedVersion::NoStream,
        Some(0),
    );
    refused(
        store.append(&s, ExpectedVersion::Exact(5), events(1)).await,
        ExpectedVersion::Exact(5),
        Some(0),
    );
    store
        .append(&s, ExpectedVersion::StreamExists, events(1))
        .await
        .unwrap();
    store
        .append(&s, ExpectedVersion::Any, events(1))
        .await
        .unwrap();
    assert_eq!(store.stream_version(&s).await.unwrap(), Some(2));
    assert_eq!(store.head(), 3);
}

pub(crate) async fn idempotent_retry_returns_the_original(store: Arc<dyn EventStore>) {
    let s = stream("C-retry");
    let batch = events(3);
    let original = store
        .append(&s, ExpectedVersion::NoStream, batch.clone())
        .await
        .unwrap();
    store
        .append(&s, ExpectedVersion::Any, events(1))
        .await
        .unwrap();
    let head = store.head();
    // The retry's expected version no longer holds; it is still answered as a replay.
    let found = store.find_event(&s, &batch[1].event_id).await.unwrap();
    assert_eq!(found, Some(original.slots[1]));
    assert_eq!(store.find_event(&s, &Uuid::new_v4()).await.unwrap(), None);
    let retry = store
        .append(&s, ExpectedVersion::NoStream, batch.clone())
        .await
        .unwrap();
    assert!(retry.replayed);
    assert_eq!(retry.slots, original.slots);
    assert_eq!(store.head(), head, "a replay writes nothing");
    let one_more_time = store
        .append(&s, ExpectedVersion::Exact(99), batch)
        .await
        .unwrap();
    assert_eq!(one_more_time.slots, original.slots);
}

pub(crate) async fn known_id_with_other_content_is_refused(store: Arc<dyn EventStore>) {
    let s = stream("C-conflict");
    let batch = events(2);
    store
        .append(&s, ExpectedVersion::Any, batch.clone())
        .await
        .unwrap();
    let head = store.head();

    let mut altered = batch.clone();
    altered[1].payload = b"something else".to_vec();
    let err = store
        .append(&s, ExpectedVersion::Any, altered)
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::IdempotencyConflict { event_id, .. } if event_id == batch[1].event_id),
        "{err:?}"
    );

    let mut partial = vec![batch[0].clone()];
    partial.push(event("new"));
    let err = store
        .append(&s, ExpectedVersion::Any, partial)
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::IdempotencyConflict { .. }),
        "{err:?}"
    );

    let reordered = vec![batch[1].clone(), batch[0].clone()];
    let err = store
        .append(&s, ExpectedVersion::Any, reordered)
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::IdempotencyConflict { .. }),
        "{err:?}"
    );
    assert_eq!(store.head(), head);
}

/// An event id is a retry key within one stream: a retry always targets the stream it
/// was sent to, so another stream's use of the same id is not a collision (and must not
/// be one: the answer would tell that stream's writer about a stream it may not see).
pub(crate) async fn event_ids_are_scoped_to_their_stream(store: Arc<dyn EventStore>) {
    let (s, elsewhere) = (stream("C-ids-here"), stream("C-ids-elsewhere"));
    let batch = events(2);
    let here = store
        .append(&s, ExpectedVersion::NoStream, batch.clone())
        .await
        .unwrap();
    let mut other_content = batch.clone();
    other_content[0].payload = b"another tenant's event".to_vec();
    let there = store
        .append(&elsewhere, ExpectedVersion::NoStream, other_content.clone())
        .await
        .expect("the same ids in another stream are new events there");
    assert!(!there.replayed);
    assert_eq!(store.head(), 4);
    // Each stream's retries are still answered from its own events.
    let retry_here = store
        .append(&s, ExpectedVersion::Any, batch.clone())
        .await
        .unwrap();
    assert!(retry_here.replayed);
    assert_eq!(retry_here.slots, here.slots);
    let retry_there = store
        .append(&elsewhere, ExpectedVersion::Any, other_content)
        .await
        .unwrap();
    assert!(retry_there.replayed);
    assert_eq!(retry_there.slots, there.slots);
    assert_eq!(
        store.find_event(&s, &batch[0].event_id).await.unwrap(),
        Some(here.slots[0])
    );
    assert_eq!(
        store
            .find_event(&elsewhere, &batch[0].event_id)
            .await
            .unwrap(),
        Some(there.slots[0])
    );
    assert_eq!(
        store
            .find_event(&stream("C-ids-nowhere"), &batch[0].event_id)
            .await
            .unwrap(),
        None
    );
    // Within a stream, an id stays one event.
    let mut altered = batch.clone();
    altered[1].payload = b"changed".to_vec();
    let err = store
        .append(&s, ExpectedVersion::Any, altered)
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::IdempotencyConflict { .. }),
        "{err:?}"
    );
    assert_eq!(store.head(), 4);
}

pub(crate) async fn limits_refuse_and_write_nothing(store: Arc<dyn EventStore>) {
    let s = stream("C-limits");
    let limits = store.limits();
    let invalid = |r: Result<_, StoreError>, field: &str| match r {
        Err(StoreError::InvalidInput(input)) => assert!(input.field.contains(field), "{input:?}"),
        other => panic!("expected invalid input on {field}, got {other:?}"),
    };
    invalid(
        store.append(&s, ExpectedVersion::Any, vec![]).await,
        "events",
    );
    invalid(
        store
            .append(
                &s,
                ExpectedVersion::Any,
                events(limits.max_events_per_append + 1),
            )
            .await,
        "events",
    );
    let mut big = event("");
    big.payload = vec![7; limits.max_payload_bytes + 1];
    invalid(
        store
            .append(&s, ExpectedVersion::Any, vec![event("ok"), big])
            .await,
        "events[1].payload",
    );
    let dup = event("dup");
    invalid(
        store
            .append(&s, ExpectedVersion::Any, vec![dup.clone(), dup])
            .await,
        "event_id",
    );
    let mut nil = event("nil");
    nil.event_id = Uuid::nil();
    invalid(
        store.append(&s, ExpectedVersion::Any, vec![nil]).await,
        "event_id",
    );
    let mut untyped = event("untyped");
    untyped.event_type.clear();
    invalid(
        store.append(&s, ExpectedVersion::Any, vec![untyped]).await,
        "event_type",
    );
    let mut anonymous = event("anonymous");
    anonymous.actor.clear();
    invalid(
        store
            .append(&s, ExpectedVersion::Any, vec![anonymous])
            .await,
        "actor",
    );
    assert_eq!(store.head(), 0);
    assert_eq!(store.stream_version(&s).await.unwrap(), None);
    let mut at_limit = event("");
    at_limit.payload = vec![7; limits.max_payload_bytes];
    store
        .append(&s, ExpectedVersion::Any, vec![at_limit])
        .await
        .unwrap();
}

pub(crate) async fn concurrent_writers_win_each_version_once(store: Arc<dyn EventStore>) {
    let s = stream("C-race");
    store
        .append(&s, ExpectedVersion::NoStream, events(1))
        .await
        .unwrap();
    let rounds = 20u64;
    for version in 0..rounds {
        let contenders: Vec<_> = (0..16)
            .map(|_| {
                let store = store.clone();
                let s = s.clone();
                tokio::spawn(async move {
                    store
                        .append(&s, ExpectedVersion::Exact(version), events(1))
                        .await
                })
            })
            .collect();
        let mut winners = 0;
        for contender in contenders {
            match contender.await.unwrap() {
                Ok(outcome) => {
                    winners += 1;
                    assert_eq!(outcome.last_version(), version + 1);
                }
                Err(StoreError::WrongExpectedVersion { actual, .. }) => {
                    assert_eq!(actual, Some(version + 1));
                }
                Err(other) => panic!("unexpected error {other}"),
            }
        }
        assert_eq!(
            winners,
            1,
            "exactly one append wins version {}",
            version + 1
        );
    }
    assert_eq!(store.stream_version(&s).await.unwrap(), Some(rounds));
}

pub(crate) async fn retry_racing_the_original_stores_once(store: Arc<dyn EventStore>) {
    let s = stream("C-double-send");
    for _ in 0..20 {
        let batch = events(2);
        let head = store.head();
        let sends: Vec<_> = (0..4)
            .map(|_| {
                let (store, s, batch) = (store.clone(), s.clone(), batch.clone());
                tokio::spawn(async move { store.append(&s, ExpectedVersion::Any, batch).await })
            })
            .collect();
        let mut outcomes = Vec::new();
        for send in sends {
            outcomes.push(send.await.unwrap().unwrap());
        }
        assert_eq!(outcomes.iter().filter(|o| !o.replayed).count(), 1);
        assert!(outcomes.iter().all(|o| o.slots == outcomes[0].slots));
        assert_eq!(store.head(), head + 2);
    }
}

pub(crate) async fn subscription_switches_to_live_without_gap_or_duplicate(
    store: Arc<dyn EventStore>,
) {
    store
        .append(&stream("C-hist"), ExpectedVersion::Any, events(50))
        .await
        .unwrap();
    let total = 50 + 8 * 25;
    let writers: Vec<_> = (0..8)
        .map(|w| {
            let store = store.clone();
            tokio::spawn(async move {
                for i in 0..25 {
                    let s = stream(&format!("C-live-{w}-{}", i % 3));
                    store
                        .append(&s, ExpectedVersion::Any, events(1))
                        .await
                        .unwrap();
                }
            })
        })
        .collect();
    let mut sub = subscription::subscribe(store.clone(), 0);
    let mut seen = Vec::new();
    while seen.len() < total {
        let next = tokio::time::timeout(std::time::Duration::from_secs(10), sub.next())
            .await
            .expect("subscription stalled")
            .expect("subscription ended")
            .unwrap();
        seen.push(next.position);
    }
    for w in writers {
        w.await.unwrap();
    }
    assert_eq!(seen, (0..total as u64).collect::<Vec<_>>());

    // Resuming after a disconnect: from the last position seen + 1.
    let mut resumed = subscription::subscribe(store.clone(), 120);
    let first = resumed.next().await.unwrap().unwrap();
    assert_eq!(first.position, 120);
    drop(resumed);
    let mut ids = HashSet::new();
    for e in store.read_all(0, 10_000).await.unwrap() {
        assert!(ids.insert(e.event_id));
    }
}

pub(crate) async fn verification_and_digests_hold_on_an_intact_log(store: Arc<dyn EventStore>) {
    assert!(take_digest(store.as_ref()).await.unwrap().is_none());
    for i in 0..30 {
        store
            .append(
                &stream(&format!("C-v{}", i % 4)),
                ExpectedVersion::Any,
                events(i % 3 + 1),
            )
            .await
            .unwrap();
    }
    let digest = take_digest(store.as_ref()).await.unwrap().unwrap();
    assert_eq!(digest.position, store.head() - 1);
    let report = verify_log(store.as_ref()).await.unwrap();
    assert!(report.is_intact(), "{report:?}");
    assert_eq!(report.events_checked, store.head());
    let report = verify_stream(store.as_ref(), &stream("C-v1"))
        .await
        .unwrap();
    assert!(report.is_intact(), "{report:?}");
    store
        .append(&stream("C-v9"), ExpectedVersion::Any, events(5))
        .await
        .unwrap();
    assert_eq!(
        check_digest(store.as_ref(), &digest).await.unwrap(),
        DigestCheck::Consistent
    );
    let mut forged = digest;
    forged.head_hash.0[0] ^= 1;
    assert!(matches!(
        check_digest(store.as_ref(), &forged).await.unwrap(),
        DigestCheck::HashMismatch { .. }
    ));
    let mut beyond = digest;
    beyond.position = 10_000;
    assert!(matches!(
        check_digest(store.as_ref(), &beyond).await.unwrap(),
        DigestCheck::Truncated { .. }
    ));
    assert_eq!(
        digest
            .to_string()
            .parse::<complaintflow_log::Digest>()
            .unwrap(),
        digest
    );
}

pub(crate) async fn envelope_keeps_what_was_submitted(store: Arc<dyn EventStore>) {
    let s = stream("C-envelope");
    let mut submitted = event("{\"k\":1}");
    submitted.correlation_id = Some(Uuid::new_v4());
    submitted.causation_id = Some(Uuid::new_v4());
    submitted.schema_version = 3;
    submitted.occurred_at = "2026-03-01T08:30:00.123456789Z".parse().unwrap();
    store
        .append(&s, ExpectedVersion::Any, vec![submitted.clone()])
        .await
        .unwrap();
    let stored = store
        .read_stream(&s, 0, Direction::Forwards, 1)
        .await
        .unwrap()
        .remove(0);
    assert_eq!(stored.stream, s);
    assert_eq!(stored.event_id, submitted.event_id);
    assert_eq!(stored.event_type, submitted.event_type);
    assert_eq!(stored.schema_version, 3);
    assert_eq!(
        stored.occurred_at,
        "2026-03-01T08:30:00.123456Z".parse().unwrap(),
        "kept to the microsecond"
    );
    assert_eq!(stored.correlation_id, submitted.correlation_id);
    assert_eq!(stored.causation_id, submitted.causation_id);
    assert_eq!(stored.actor, submitted.actor);
    assert_eq!(stored.payload, submitted.payload);
    assert_ne!(stored.hash, stored.content_hash);
}

pub(crate) async fn encoded_pages_hold_what_read_all_returns(store: Arc<dyn EventStore>) {
    // Appends of several events, which a store may keep together, and single ones.
    for (round, name) in ["C-a", "C-b", "C-c", "C-a", "C-d"].iter().enumerate() {
        store
            .append(&stream(name), ExpectedVersion::Any, events(round * 3 + 1))
            .await
            .unwrap();
    }
    let head = store.head();
    for (from, limit) in [
        (0, 100),
        (0, 1),
        (2, 5),
        (4, 3),
        (7, 9),
        (head - 1, 10),
        (head, 10),
    ] {
        let expected = store.read_all(from, limit).await.unwrap();
        let page = store.read_all_encoded(from, limit).await.unwrap();
        let decoded: Vec<_> = page
            .records()
            .map(|(position, record)| {
                let event = complaintflow_log::codec::decode(record.unwrap()).unwrap();
                assert_eq!(event.position, position, "a record's position");
                event
            })
            .collect();
        assert_eq!(decoded, expected, "page from {from}, {limit} at most");
        assert_eq!(page.len(), expected.len());
        if let Some(last) = expected.last() {
            assert_eq!((page.start(), page.end()), (from, last.position + 1));
        } else {
            assert!(page.is_empty());
        }
    }
}
