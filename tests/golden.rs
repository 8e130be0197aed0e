//! Golden fixtures, committed under `tests/fixtures/`: records and a whole data
//! directory written by store format 1 (one record per key), and a data directory written
//! by format 2 (records packed in chunks). They must decode and verify forever.
//!
//! Write the fixtures of a new format (only then, and never to "fix" this test; existing
//! fixtures are never overwritten): `COMPLAINTFLOW_WRITE_GOLDEN=1 cargo test --test golden`

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test or benchmark stops at the first surprise"
)]

mod conformance;

use complaintflow_log::LogReader;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use complaintflow_log::clock::ManualClock;
use complaintflow_log::codec;
use complaintflow_log::hash::{Link, chain_hash, content_hash};
use complaintflow_log::verify::verify_log;
use complaintflow_log::{
    Direction, EventStore, ExpectedVersion, Hash, NewEvent, RecordedEvent, StreamId,
};
use complaintflow_store_sled::{SledOptions, SledStore, tamper};
use jiff::{SignedDuration, Timestamp};
use uuid::Uuid;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

const RECORDS_V1: &str = "records-v1.bin";
const SLED_DIR_V1: &str = "sled-store-v1";
const SLED_DIR_V2: &str = "sled-store-v2";

/// The events behind the fixtures: fixed ids, times and payloads.
fn golden_events() -> Vec<(StreamId, NewEvent)> {
    let occurred: Timestamp = "2026-11-20T01:02:03.456789Z".parse().unwrap();
    let event = |n: u128, kind: &str, payload: &[u8], causation: Option<u128>| NewEvent {
        event_id: Uuid::from_u128(0x0c0f_fee0_0000_0000_0000_0000_0000_0000 + n),
        event_type: kind.into(),
        schema_version: 1,
        occurred_at: occurred + SignedDuration::from_mins(n as i64),
        correlation_id: Some(Uuid::from_u128(0xc0)),
        causation_id: causation.map(Uuid::from_u128),
        actor: "dealer:SH-0042".into(),
        payload: payload.to_vec(),
    };
    let a = StreamId::new("CMP-2026-000001").unwrap();
    let b = StreamId::new("CMP-2026-000002").unwrap();
    vec![
        (
            a.clone(),
            event(
                1,
                "complaint.filed",
                "waited an hour · 等了一个小时".as_bytes(),
                None,
            ),
        ),
        (
            b.clone(),
            event(2, "complaint.filed", b"vehicle fire", None),
        ),
        (a.clone(), event(3, "complaint.apologized", b"", Some(1))),
        (b, event(4, "complaint.escalated", &[0, 1, 2, 255], Some(2))),
        (a, event(5, "complaint.closed", b"satisfied", Some(3))),
    ]
}

/// Format 2: each stream's golden events in one append, so that they share a chunk.
async fn write_golden_store_v2(dir: &Path) -> SledStore {
    let clock = ManualClock::new("2026-11-23T08:00:00Z".parse().unwrap());
    let options = SledOptions {
        clock: Arc::new(clock.clone()),
        ..SledOptions::default()
    };
    let store = SledStore::open(dir, options).unwrap();
    for (stream, events) in golden_appends_v2() {
        store
            .append(&stream, ExpectedVersion::NoStream, events)
            .await
            .unwrap();
        clock.advance(SignedDuration::from_secs(90));
    }
    store
}

fn golden_appends_v2() -> Vec<(StreamId, Vec<NewEvent>)> {
    let mut appends: Vec<(StreamId, Vec<NewEvent>)> = Vec::new();
    for (stream, event) in golden_events() {
        match appends.iter_mut().find(|(s, _)| *s == stream) {
            Some((_, events)) => events.push(event),
            None => appends.push((stream, vec![event])),
        }
    }
    appends
}

#[tokio::test]
async fn write_fixtures_when_asked() {
    if std::env::var_os("COMPLAINTFLOW_WRITE_GOLDEN").is_none() {
        return;
    }
    let sled_dir = fixtures().join(SLED_DIR_V2);
    assert!(
        !sled_dir.exists(),
        "{} exists: fixtures are never rewritten",
        sled_dir.display()
    );
    let store = write_golden_store_v2(&sled_dir).await;
    store.close().await.unwrap();
}

fn read_records(bytes: &[u8]) -> Vec<RecordedEvent> {
    let mut records = Vec::new();
    let mut rest = bytes;
    while !rest.is_empty() {
        let (len, tail) = rest.split_at(4);
        let len = u32::from_be_bytes(len.try_into().unwrap()) as usize;
        let (record, tail) = tail.split_at(len);
        records.push(codec::decode(record).expect("a format-1 record still decodes"));
        rest = tail;
    }
    records
}

#[test]
fn format_1_records_still_decode_and_their_hashes_still_chain() {
    let bytes = std::fs::read(fixtures().join(RECORDS_V1)).expect("fixture committed");
    let records = read_records(&bytes);
    let expected = golden_events();
    assert_eq!(records.len(), expected.len());
    let mut prev_global = Hash::GENESIS;
    let mut prev_in_stream = std::collections::HashMap::new();
    for (i, (record, (stream, submitted))) in records.iter().zip(&expected).enumerate() {
        assert_eq!(record.position, i as u64);
        assert_eq!(&record.stream, stream);
        assert_eq!(record.event_id, submitted.event_id);
        assert_eq!(record.event_type, submitted.event_type);
        assert_eq!(record.occurred_at, submitted.occurred_at);
        assert_eq!(record.payload, submitted.payload);
        assert_eq!(record.actor, submitted.actor);
        assert_eq!(record.causation_id, submitted.causation_id);
        let expected_recorded: Timestamp = "2026-11-23T08:00:00Z".parse().unwrap();
        assert_eq!(
            record.recorded_at,
            expected_recorded + SignedDuration::from_secs(90 * i as i64)
        );
        assert_eq!(
            record.content_hash,
            content_hash(stream, submitted),
            "content hashing is stable"
        );
        let (version, prev_stream) = prev_in_stream
            .get(stream)
            .map_or((0, Hash::GENESIS), |&(v, h): &(u64, Hash)| (v + 1, h));
        assert_eq!(record.version, version);
        let link = Link {
            position: record.position,
            version,
            recorded_at_micros: record.recorded_at.as_microsecond(),
            prev_stream_hash: prev_stream,
            prev_global_hash: prev_global,
        };
        assert_eq!(
            record.hash,
            chain_hash(&record.content_hash, &link),
            "chain hashing is stable"
        );
        prev_in_stream.insert(stream.clone(), (version, record.hash));
        prev_global = record.hash;
    }
}

#[tokio::test]
async fn a_format_1_data_directory_still_opens_and_verifies() {
    // Work on a copy: opening a store writes to it.
    let copy = tempfile::tempdir().unwrap();
    copy_dir(&fixtures().join(SLED_DIR_V1), copy.path());
    let store = SledStore::open(copy.path(), SledOptions::default()).expect("fixture opens");
    assert_eq!(store.head(), 5);
    assert!(verify_log(&store).await.unwrap().is_intact());
    let a = StreamId::new("CMP-2026-000001").unwrap();
    let events = store
        .read_stream(&a, 0, Direction::Forwards, 10)
        .await
        .unwrap();
    let types: Vec<_> = events.iter().map(|e| e.event_type.as_str()).collect();
    assert_eq!(
        types,
        [
            "complaint.filed",
            "complaint.apologized",
            "complaint.closed"
        ]
    );
    // And it takes new appends, chained onto the old ones.
    let more = conformance::events(2);
    store
        .append(&a, ExpectedVersion::Exact(2), more)
        .await
        .unwrap();
    assert!(verify_log(&store).await.unwrap().is_intact());
}

#[tokio::test]
async fn a_format_2_data_directory_with_chunks_still_opens_and_verifies() {
    let copy = tempfile::tempdir().unwrap();
    copy_dir(&fixtures().join(SLED_DIR_V2), copy.path());
    let store = SledStore::open(copy.path(), SledOptions::default()).expect("fixture opens");
    assert_eq!(store.head(), 5);
    assert!(verify_log(&store).await.unwrap().is_intact());
    let chunks = tamper::raw_tree(&store)
        .scan_prefix(b"e")
        .filter(|item| item.as_ref().unwrap().1.first() == Some(&b'C'))
        .count();
    assert_eq!(chunks, 2, "each append's events share one chunk");
    let mut position = 0;
    for (stream, submitted) in golden_appends_v2() {
        let stored = store
            .read_stream(&stream, 0, Direction::Forwards, 10)
            .await
            .unwrap();
        assert_eq!(stored.len(), submitted.len());
        for (record, event) in stored.iter().zip(&submitted) {
            assert_eq!(record.position, position);
            assert_eq!(record.event_id, event.event_id);
            assert_eq!(record.payload, event.payload);
            assert_eq!(record.content_hash, content_hash(&stream, event));
            position += 1;
        }
    }
    let all = store.read_all(0, 100).await.unwrap();
    assert_eq!(
        all.iter().map(|e| e.position).collect::<Vec<_>>(),
        [0, 1, 2, 3, 4]
    );
    // Event ids stored under the key of formats 1 and 2 still make a retry a replay in
    // their own stream, and are new events in any other.
    for (stream, submitted) in golden_appends_v2() {
        let retry = store
            .append(&stream, ExpectedVersion::Any, submitted.clone())
            .await
            .unwrap();
        assert!(retry.replayed, "a retry of a format-2 append in {stream}");
        let elsewhere = StreamId::new(format!("{stream}-ELSEWHERE")).unwrap();
        let new = store
            .append(&elsewhere, ExpectedVersion::NoStream, submitted)
            .await
            .unwrap();
        assert!(
            !new.replayed,
            "the same ids in another stream are new there"
        );
    }
    let a = StreamId::new("CMP-2026-000001").unwrap();
    store
        .append(&a, ExpectedVersion::Exact(2), conformance::events(2))
        .await
        .unwrap();
    assert!(verify_log(&store).await.unwrap().is_intact());
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}
