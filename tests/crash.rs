//! kill -9 crash test.
//!
//! A child process (this test binary, running only `crash_child`) appends in a loop from
//! many tasks and prints every acknowledged event. The parent kills it with SIGKILL at
//! random moments, reopens the store after every kill and checks that every acknowledged
//! event is there with its content, that positions and versions have no gaps, that the
//! hash chains verify, and that the log is an extension of what it was after the last
//! round.
//!
//! `COMPLAINTFLOW_CRASH_SEED=<u64>` replays the kill schedule of a failed run.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test or benchmark stops at the first surprise"
)]
#![cfg(unix)]

use complaintflow_log::LogReader;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::{Arc, mpsc};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use complaintflow_log::verify::{DigestCheck, check_digest, take_digest, verify_log};
use complaintflow_log::{
    Digest, Direction, EventStore, ExpectedVersion, MAX_PAGE, NewEvent, RecordedEvent, StoreError,
    StreamId,
};
use complaintflow_store_sled::{SledOptions, SledStore};
use jiff::Timestamp;
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use uuid::Uuid;

const CHILD_DIR_ENV: &str = "COMPLAINTFLOW_CRASH_CHILD_DIR";
const CHILD_SEED_ENV: &str = "COMPLAINTFLOW_CRASH_CHILD_SEED";
const SEED_ENV: &str = "COMPLAINTFLOW_CRASH_SEED";
const DEFAULT_SEED: u64 = 0x00C0_FFEE_2026;

/// Kills in all. Every fourth one is "blind" (at a random moment after the spawn, maybe
/// while the store is still recovering); the others come 30-300 ms after the first ACK.
const ROUNDS: u32 = 28;
const STREAMS: usize = 6;
const CHILD_TASKS: u64 = 16;
/// A child that somehow outlives its parent stops by itself.
const CHILD_LIFETIME: Duration = Duration::from_secs(30);
const FIRST_ACK_TIMEOUT: Duration = Duration::from_secs(20);
const ACK_LINE: &str = "ACK";

// ---------------------------------------------------------------------------------------
// What both sides agree on: stream names and event content derived from the event id.

fn stream_name(index: usize) -> StreamId {
    StreamId::new(format!("crash-{index}")).expect("valid stream id")
}

/// The event the child submits under `event_id`; the parent recomputes it to compare.
fn event_for(event_id: Uuid) -> NewEvent {
    let seed = event_id.as_bytes();
    let mut payload = vec![0; 40 + usize::from(seed[0]) % 160];
    blake3::Hasher::new()
        .update(seed)
        .finalize_xof()
        .fill(&mut payload);
    NewEvent {
        event_id,
        event_type: "crash.appended".into(),
        schema_version: 1,
        occurred_at: Timestamp::from_second(1_767_225_600 + i64::from(seed[1])).unwrap(),
        correlation_id: Some(Uuid::from_u128(u128::from(seed[2]))),
        causation_id: None,
        actor: "crash-test".into(),
        payload,
    }
}

/// One acknowledged event, as the child prints it: `ACK <stream> <version> <position> <id>`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Ack {
    stream: String,
    version: u64,
    position: u64,
    event_id: Uuid,
}

impl Ack {
    fn parse(line: &str) -> Option<Self> {
        let fields: Vec<&str> = line.split(' ').collect();
        let [ACK_LINE, stream, version, position, event_id] = fields[..] else {
            return None;
        };
        Some(Self {
            stream: stream.to_owned(),
            version: version.parse().ok()?,
            position: position.parse().ok()?,
            event_id: event_id.parse().ok()?,
        })
    }
}

// ---------------------------------------------------------------------------------------
// The child.

/// Does nothing in a normal test run; it is the child process when the parent sets
/// `COMPLAINTFLOW_CRASH_CHILD_DIR`.
#[test]
fn crash_child() {
    let Some(dir) = std::env::var_os(CHILD_DIR_ENV) else {
        return;
    };
    let seed: u64 = std::env::var(CHILD_SEED_ENV)
        .expect("the parent passes a seed")
        .parse()
        .expect("a numeric seed");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let store = Arc::new(SledStore::open(&dir, SledOptions::default()).expect("open"));
        let deadline = Instant::now() + CHILD_LIFETIME;
        let tasks: Vec<_> = (0..CHILD_TASKS)
            .map(|task| {
                let rng = StdRng::seed_from_u64(seed ^ task.wrapping_mul(0x9E37_79B9_7F4A_7C15));
                tokio::spawn(append_loop(Arc::clone(&store), rng, deadline))
            })
            .collect();
        for task in tasks {
            task.await.expect("append task");
        }
    });
}

async fn append_loop(store: Arc<SledStore>, mut rng: StdRng, deadline: Instant) {
    while Instant::now() < deadline {
        let stream = stream_name(rng.random_range(0..STREAMS));
        let expected = if rng.random_bool(0.5) {
            ExpectedVersion::Any
        } else {
            match store.stream_version(&stream).await.expect("stream_version") {
                Some(version) => ExpectedVersion::Exact(version),
                None => ExpectedVersion::NoStream,
            }
        };
        let events = (0..rng.random_range(1..=3))
            .map(|_| event_for(uuid::Builder::from_random_bytes(rng.random()).into_uuid()))
            .collect();
        match store.append(&stream, expected, events).await {
            Ok(outcome) => {
                let acks = outcome.slots.iter().map(|slot| Ack {
                    stream: stream.to_string(),
                    version: slot.version,
                    position: slot.position,
                    event_id: slot.event_id,
                });
                if print_acks(acks).is_err() {
                    std::process::exit(0); // the parent is gone
                }
            }
            Err(StoreError::WrongExpectedVersion { .. }) => {}
            Err(err) => panic!("append to {stream} failed: {err}"),
        }
    }
}

/// One locked write per append, flushed, so that lines never interleave.
fn print_acks(acks: impl Iterator<Item = Ack>) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    for ack in acks {
        writeln!(
            out,
            "{ACK_LINE} {} {} {} {}",
            ack.stream, ack.version, ack.position, ack.event_id
        )?;
    }
    out.flush()
}

// ---------------------------------------------------------------------------------------
// The parent.

#[test]
fn acknowledged_appends_survive_sigkill() {
    let seed = std::env::var(SEED_ENV).ok().map_or(DEFAULT_SEED, |s| {
        s.parse().expect("COMPLAINTFLOW_CRASH_SEED must be a u64")
    });
    println!("crash test seed {seed} (set {SEED_ENV} to replay)");
    let mut rng = StdRng::seed_from_u64(seed);
    let dir = tempfile::tempdir().unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let started = Instant::now();

    let mut acked: HashMap<Uuid, Ack> = HashMap::new();
    let mut digest = None;
    for round in 0..ROUNDS {
        let kill = if round % 4 == 3 {
            Kill::Blind(Duration::from_millis(rng.random_range(0..150)))
        } else {
            Kill::AfterFirstAck(Duration::from_millis(rng.random_range(30..=300)))
        };
        let acks = run_child(dir.path(), rng.random(), kill);
        let new_acks = acks.len();
        for ack in acks {
            let previous = acked.insert(ack.event_id, ack.clone());
            assert!(previous.is_none(), "event id acknowledged twice: {ack:?}");
        }
        let summary = runtime.block_on(check_store(dir.path(), &acked, digest));
        digest = summary.digest;
        println!(
            "round {round:2}: {kill:?}, {new_acks} acks, log has {} events ({} acknowledged), {:.1?} elapsed",
            summary.events,
            acked.len(),
            started.elapsed()
        );
    }
    assert!(!acked.is_empty(), "the child never acknowledged anything");
}

#[derive(Debug, Clone, Copy)]
enum Kill {
    /// SIGKILL this long after the spawn, whatever the child is doing.
    Blind(Duration),
    /// SIGKILL this long after the child printed its first ACK.
    AfterFirstAck(Duration),
}

/// Kills the child if the parent unwinds, so that no child outlives a failed test.
struct ChildGuard(Child);

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Runs one child until `kill`, and returns the events it acknowledged.
fn run_child(dir: &Path, child_seed: u64, kill: Kill) -> Vec<Ack> {
    let mut child = ChildGuard(
        Command::new(std::env::current_exe().unwrap())
            .args(["crash_child", "--exact", "--nocapture", "--test-threads=1"])
            .env(CHILD_DIR_ENV, dir)
            .env(CHILD_SEED_ENV, child_seed.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn the child"),
    );
    let (first_ack_tx, first_ack) = mpsc::channel();
    let stdout = read_acks(child.0.stdout.take().unwrap(), first_ack_tx);
    let mut stderr = child.0.stderr.take().unwrap();
    let stderr = thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        text
    });

    match kill {
        Kill::Blind(after) => thread::sleep(after),
        Kill::AfterFirstAck(after) => {
            if first_ack.recv_timeout(FIRST_ACK_TIMEOUT).is_err() {
                let _ = child.0.kill();
                let _ = child.0.wait();
                panic!(
                    "the child acknowledged nothing within {FIRST_ACK_TIMEOUT:?}; its stderr:\n{}",
                    stderr.join().unwrap()
                );
            }
            thread::sleep(after);
        }
    }
    child.0.kill().expect("SIGKILL the child");
    let status = child.0.wait().unwrap();
    let acks = stdout.join().expect("stdout reader");
    let stderr = stderr.join().unwrap();
    assert_eq!(
        status.signal(),
        Some(9),
        "the child ended before the kill ({status}); its stderr:\n{stderr}"
    );
    acks
}

/// Collects the child's ACK lines until its stdout closes; signals the first one. A last
/// line without its newline was cut by the kill and does not count.
fn read_acks(stdout: ChildStdout, first_ack: mpsc::Sender<()>) -> JoinHandle<Vec<Ack>> {
    thread::spawn(move || {
        let mut reader = BufReader::new(stdout);
        let mut acks = Vec::new();
        let mut line = String::new();
        loop {
            line.clear();
            match reader.read_line(&mut line) {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
            let Some(complete) = line.strip_suffix('\n') else {
                break;
            };
            if complete.starts_with(ACK_LINE) {
                let ack = Ack::parse(complete)
                    .unwrap_or_else(|| panic!("malformed ACK line {complete:?}"));
                if acks.is_empty() {
                    let _ = first_ack.send(());
                }
                acks.push(ack);
            }
        }
        acks
    })
}

struct CheckSummary {
    events: u64,
    digest: Option<Digest>,
}

/// Reopens the store after a kill and checks everything the test promises.
async fn check_store(
    dir: &Path,
    acked: &HashMap<Uuid, Ack>,
    previous: Option<Digest>,
) -> CheckSummary {
    let store = SledStore::open(dir, SledOptions::default()).expect("reopen after the kill");
    let log = read_whole_log(&store).await;
    assert_eq!(
        log.len() as u64,
        store.head(),
        "read_all must reach the head"
    );

    check_content(&log);
    check_acknowledged(&log, acked);
    check_streams(&store, &log).await;
    let report = verify_log(&store).await.unwrap();
    assert!(report.is_intact(), "chain broken after a kill: {report:?}");
    assert_eq!(report.events_checked, store.head());
    if let Some(previous) = previous {
        let check = check_digest(&store, &previous).await.unwrap();
        assert_eq!(
            check,
            DigestCheck::Consistent,
            "the log is not an extension of the log after the previous round ({previous})"
        );
    }

    let summary = CheckSummary {
        events: store.head(),
        digest: take_digest(&store).await.unwrap(),
    };
    store.close().await.unwrap();
    summary
}

/// The whole global log, checking that positions are exactly 0, 1, 2, ...
async fn read_whole_log(store: &SledStore) -> Vec<RecordedEvent> {
    let mut log: Vec<RecordedEvent> = Vec::new();
    loop {
        let page = store.read_all(log.len() as u64, MAX_PAGE).await.unwrap();
        if page.is_empty() {
            return log;
        }
        for event in page {
            assert_eq!(event.position, log.len() as u64, "gap in global positions");
            log.push(event);
        }
    }
}

/// Every stored event, acknowledged or not, is exactly what the child submitted under its
/// id, and no id is stored twice.
fn check_content(log: &[RecordedEvent]) {
    let mut ids = HashSet::with_capacity(log.len());
    for event in log {
        assert!(
            ids.insert(event.event_id),
            "event id stored twice: {event:?}"
        );
        let submitted = event_for(event.event_id);
        let stored = NewEvent::from(event);
        assert_eq!(
            stored, submitted,
            "content differs at position {}",
            event.position
        );
    }
}

fn check_acknowledged(log: &[RecordedEvent], acked: &HashMap<Uuid, Ack>) {
    for ack in acked.values() {
        let event = log.get(ack.position as usize).unwrap_or_else(|| {
            panic!(
                "acknowledged event lost: {ack:?} (log has {} events)",
                log.len()
            )
        });
        let found = Ack {
            stream: event.stream.to_string(),
            version: event.version,
            position: event.position,
            event_id: event.event_id,
        };
        assert_eq!(&found, ack, "acknowledged slot holds another event");
    }
}

/// In the global order every stream's versions run 0, 1, 2, ... and `read_stream` and
/// `stream_version` agree with the global log.
async fn check_streams(store: &SledStore, log: &[RecordedEvent]) {
    let mut streams: BTreeMap<&StreamId, Vec<u64>> = BTreeMap::new();
    for event in log {
        let positions = streams.entry(&event.stream).or_default();
        assert_eq!(
            event.version,
            positions.len() as u64,
            "gap in versions of {}",
            event.stream
        );
        positions.push(event.position);
    }
    for (stream, positions) in streams {
        let read = read_stream_positions(store, stream).await;
        assert_eq!(
            read, positions,
            "read_stream({stream}) disagrees with read_all"
        );
        let version = store.stream_version(stream).await.unwrap();
        assert_eq!(version, Some(positions.len() as u64 - 1));
    }
}

async fn read_stream_positions(store: &SledStore, stream: &StreamId) -> Vec<u64> {
    let mut positions = Vec::new();
    loop {
        let from = positions.len() as u64;
        let page = store
            .read_stream(stream, from, Direction::Forwards, MAX_PAGE)
            .await
            .unwrap();
        if page.is_empty() {
            return positions;
        }
        positions.extend(page.iter().map(|e| e.position));
    }
}
