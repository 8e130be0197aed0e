//! What only the embedded store has: reopening, locking, format versions, tampering with
//! records on disk. The behaviour every backend shares is `store_backends`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test or benchmark stops at the first surprise"
)]

mod conformance;

use complaintflow_log::LogReader;
use std::path::Path;

use complaintflow_log::verify::{
    BreakKind, DigestCheck, check_digest, take_digest, verify_log, verify_stream,
};
use complaintflow_log::{EventStore, ExpectedVersion, StoreError};
use complaintflow_store_sled::{SledOptions, SledStore, tamper};
use conformance::{events, stream};
use tempfile::TempDir;

fn open(dir: &Path) -> SledStore {
    SledStore::open(dir, SledOptions::default()).expect("open store")
}

async fn fill(store: &SledStore, streams: usize, per_stream: usize) {
    for i in 0..streams {
        let s = stream(&format!("C-{i}"));
        for _ in 0..per_stream {
            store
                .append(&s, ExpectedVersion::Any, events(2))
                .await
                .unwrap();
        }
    }
}

#[tokio::test]
async fn reopening_after_a_clean_shutdown_continues_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    fill(&store, 3, 4).await;
    let digest = take_digest(&store).await.unwrap().unwrap();
    store.close().await.unwrap();
    assert!(matches!(
        store
            .append(&stream("C-0"), ExpectedVersion::Any, events(1))
            .await,
        Err(StoreError::Unavailable(_))
    ));
    drop(store);

    let store = open(dir.path());
    assert_eq!(store.head(), 24);
    assert_eq!(store.stream_version(&stream("C-1")).await.unwrap(), Some(7));
    let next = store
        .append(&stream("C-1"), ExpectedVersion::Exact(7), events(1))
        .await
        .unwrap();
    assert_eq!((next.last_version(), next.last_position()), (8, 24));
    assert!(verify_log(&store).await.unwrap().is_intact());
    assert_eq!(
        check_digest(&store, &digest).await.unwrap(),
        DigestCheck::Consistent
    );
}

#[tokio::test]
async fn retries_are_recognised_after_the_id_filter_backfill() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let s = stream("C-reopen");
    let batch = events(3);
    let original = store
        .append(&s, ExpectedVersion::NoStream, batch.clone())
        .await
        .unwrap();
    store.close().await.unwrap();
    drop(store);

    let store = open(dir.path());
    let retry = store
        .append(&s, ExpectedVersion::Any, batch.clone())
        .await
        .unwrap();
    assert!(retry.replayed, "the id index survives a restart");
    assert_eq!(retry.slots, original.slots);
    // The ids stored before opening join the in-memory filter in the background; once
    // they have, a retry is still recognised.
    let waited = std::time::Instant::now();
    while !store.id_filter_complete() {
        assert!(
            waited.elapsed() < std::time::Duration::from_secs(30),
            "backfill"
        );
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    let retry = store.append(&s, ExpectedVersion::Any, batch).await.unwrap();
    assert!(retry.replayed, "a retry after the backfill");
    assert_eq!(retry.slots, original.slots);
    let next = store
        .append(&s, ExpectedVersion::Exact(2), events(1))
        .await
        .unwrap();
    assert_eq!(next.last_version(), 3, "the stream head survives a restart");
    assert_eq!(store.head(), 4);
}

#[tokio::test]
async fn a_directory_held_by_another_store_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let _held = open(dir.path());
    match SledStore::open(dir.path(), SledOptions::default()) {
        Err(err @ StoreError::DataDirLocked { .. }) => {
            assert!(
                err.to_string().contains("in use by another process"),
                "{err}"
            );
        }
        other => panic!("expected DataDirLocked, got {other:?}"),
    }
}

#[tokio::test]
async fn a_directory_from_a_newer_format_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    {
        let db = sled::open(dir.path()).unwrap();
        db.open_tree("meta")
            .unwrap()
            .insert("store_format", &99u32.to_be_bytes())
            .unwrap();
        db.flush().unwrap();
    }
    match SledStore::open(dir.path(), SledOptions::default()) {
        Err(err @ StoreError::NewerFormat { found: 99, .. }) => {
            assert!(err.to_string().contains("newer complaintflow"), "{err}");
        }
        other => panic!("expected NewerFormat, got {other:?}"),
    }
}

/// Builds a small log, closes it, lets `tamper` edit the raw tree, and reopens it.
async fn tampered(
    tamper_with: impl FnOnce(&sled::Tree),
) -> (TempDir, SledStore, complaintflow_log::Digest) {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    fill(&store, 4, 3).await;
    let digest = take_digest(&store).await.unwrap().unwrap();
    assert!(verify_log(&store).await.unwrap().is_intact());
    tamper_with(tamper::raw_tree(&store));
    store.close().await.unwrap();
    drop(store);
    let store = open(dir.path());
    (dir, store, digest)
}

fn payload_offset(record: &[u8], payload: &[u8]) -> usize {
    record
        .windows(payload.len())
        .position(|w| w == payload)
        .expect("payload inside record")
}

#[tokio::test]
async fn a_corrupted_payload_is_the_first_broken_link() {
    let (_dir, store, digest) = tampered(|tree| {
        let mut record = tamper::record(tree, 5);
        let at = payload_offset(&record, b"payload 1");
        record[at] = b'P';
        tamper::replace_record(tree, 5, record);
    })
    .await;
    let report = verify_log(&store).await.unwrap();
    let broken = report.first_break.expect("tampering detected");
    assert_eq!(broken.position, 5);
    assert_eq!(broken.kind, BreakKind::ContentAltered);
    assert!(broken.expected_hash.is_some() && broken.found_hash.is_some());
    assert_eq!(report.events_checked, 5);
    let stream_of_5 = broken.stream.clone().unwrap();
    assert!(
        !verify_stream(&store, &stream_of_5)
            .await
            .unwrap()
            .is_intact()
    );
    assert!(
        matches!(check_digest(&store, &digest).await.unwrap(), DigestCheck::Broken(b) if b.position == 5)
    );
}

#[tokio::test]
async fn a_rewritten_hash_breaks_the_chain_at_the_next_event() {
    let (_dir, store, _) = tampered(|tree| {
        // The chain hash is the record's last field: flip its last byte.
        let mut record = tamper::record(tree, 3);
        let last = record.len() - 1;
        record[last] ^= 0xff;
        tamper::replace_record(tree, 3, record);
    })
    .await;
    let broken = verify_log(&store).await.unwrap().first_break.unwrap();
    assert_eq!((broken.position, broken.kind), (3, BreakKind::ChainBroken));
}

#[tokio::test]
async fn a_deleted_record_is_reported_as_a_gap() {
    let (_dir, store, _) = tampered(|tree| {
        tamper::remove_record(tree, 7);
    })
    .await;
    let broken = verify_log(&store).await.unwrap().first_break.unwrap();
    assert_eq!(broken.position, 7);
    assert_eq!(
        broken.kind,
        BreakKind::PositionOutOfOrder {
            expected: 7,
            found: 8
        }
    );
}

#[tokio::test]
async fn swapped_records_are_reported() {
    let (_dir, store, _) = tampered(|tree| {
        let (ra, rb) = (tamper::record(tree, 2), tamper::record(tree, 9));
        tamper::replace_record(tree, 2, rb);
        tamper::replace_record(tree, 9, ra);
    })
    .await;
    let broken = verify_log(&store).await.unwrap().first_break.unwrap();
    assert_eq!(broken.position, 2);
    assert_eq!(
        broken.kind,
        BreakKind::PositionOutOfOrder {
            expected: 2,
            found: 9
        }
    );
}

#[tokio::test]
async fn a_truncated_log_fails_its_saved_digest() {
    let (_dir, store, digest) = tampered(|tree| {
        tamper::remove_record(tree, 23);
    })
    .await;
    // The chain that is left verifies, but the store's record of what was acknowledged
    // shows that history was cut, and so does the digest.
    let broken = verify_log(&store).await.unwrap().first_break.unwrap();
    assert_eq!(
        broken.kind,
        BreakKind::Lost(complaintflow_log::LogLoss::Truncated {
            found: 23,
            acknowledged: 24
        })
    );
    assert_eq!(
        check_digest(&store, &digest).await.unwrap(),
        DigestCheck::Truncated { head: 23 }
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreadable_record_is_reported_not_panicked_on() {
    let (_dir, store, _) = tampered(|tree| {
        tamper::replace_record(tree, 4, vec![1u8, 0xff, 0xff, 0xff]);
    })
    .await;
    let broken = verify_log(&store).await.unwrap().first_break.unwrap();
    assert_eq!(broken.position, 4);
    assert!(
        matches!(broken.kind, BreakKind::Unreadable(_)),
        "{broken:?}"
    );
    assert!(matches!(
        store.read_all(4, 1).await,
        Err(StoreError::Corrupt { .. })
    ));
    // Read models are not built over it: a rebuild stops there, and says where.
    let dir = tempfile::tempdir().unwrap();
    let policy = std::sync::Arc::new(complaintflow_domain::Policy::builtin());
    let projections =
        complaintflow_server::projections::Projections::open(dir.path(), policy).unwrap();
    let err = projections.catch_up(&store, |_, _| {}).await.unwrap_err();
    assert!(err.to_string().contains("position 4"), "{err}");
    assert_eq!(projections.checkpoint(), 0);
}
