//! SIGKILL the server under load from concurrent clients: every append a client saw
//! acknowledged is in the log afterwards.
//!
//! The real binary serves on a loopback port; 16 gRPC clients file complaints and
//! append notes to them (half with `expected_version`, half with client-chosen event
//! ids) and record every acknowledgement. At a random moment the server is killed with
//! SIGKILL. The log is then opened offline and checked: every acknowledged event is at
//! its version and position with its event id, positions and versions have no gaps, no
//! note is stored twice, the hash chains verify, and the log extends the one of the
//! round before. The server restarts on the same directory and every request that got
//! no answer is retried first, with the same `request_id` and content: it must be
//! answered as a replay or as a fresh append, never stored twice. A last round only
//! retries, so that every request ends with an answer.
//!
//! `COMPLAINTFLOW_SERVER_CRASH_SEED=<u64>` replays the kill schedule and request mix.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test or benchmark stops at the first surprise"
)]
#![cfg(unix)]

mod support;

use complaintflow_log::LogReader;
use complaintflow_server::node::DataDir;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::Child;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use complaintflow::loadtest::client::{BearerAuth, ComplaintClient, connect};
use complaintflow::loadtest::workload;
use complaintflow_domain::ComplaintEvent;
use complaintflow_log::verify::{DigestCheck, check_digest, take_digest, verify_log};
use complaintflow_log::{Digest, MAX_PAGE, RecordedEvent};
use complaintflow_server::api::proto;
use complaintflow_store_sled::{SledOptions, SledStore};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use support::cli;
use tonic::Code;
use uuid::Uuid;

const SEED_ENV: &str = "COMPLAINTFLOW_SERVER_CRASH_SEED";
const DEFAULT_SEED: u64 = 0x5EED_C0DE_2026;
/// Rounds that end in a SIGKILL; one more round only retries.
const KILL_ROUNDS: usize = 6;
const CLIENTS: usize = 16;
/// A client stops by itself after this, should the kill never reach it.
const ROUND_LIMIT: Duration = Duration::from_secs(20);

// ---------------------------------------------------------------------------------------
// The server process.

/// `complaintflow serve`, killed on drop so that no server outlives a failed test.
struct Server {
    child: Child,
    address: SocketAddr,
}

impl Server {
    fn spawn(data: &Path, log: &Path) -> Child {
        cli::serve(data)
            .stderr(cli::log_file(log))
            .spawn()
            .expect("start the server")
    }

    /// Starts the server and waits until it listens.
    fn start(data: &Path, log: &Path) -> Self {
        let mut child = Self::spawn(data, log);
        let address = cli::listening(&mut child, Some(log));
        Self { child, address }
    }

    /// SIGKILL `after` the start, whatever the server is doing then: opening the log,
    /// catching the projections up, or already serving.
    fn kill_while_starting(data: &Path, log: &Path, after: Duration) {
        let server = Self {
            child: Self::spawn(data, log),
            address: SocketAddr::from(([127, 0, 0, 1], 0)),
        };
        std::thread::sleep(after);
        server.kill(log);
    }

    /// SIGKILL, and proof that the server was still running until then.
    fn kill(mut self, log: &Path) {
        self.child.kill().expect("SIGKILL the server");
        let status = self.child.wait().expect("reap the server");
        assert_eq!(
            status.signal(),
            Some(9),
            "the server ended before the kill ({status}); its log:\n{}",
            std::fs::read_to_string(log).unwrap_or_default()
        );
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// ---------------------------------------------------------------------------------------
// What the clients were told.

/// One acknowledged event. Filing events carry no id in the response (the server
/// derives it), so they are checked by position, version 0 and type.
#[derive(Debug, Clone)]
struct Ack {
    complaint: String,
    version: u64,
    position: u64,
    event_id: Option<Uuid>,
}

/// A request sent but not answered, kept to be retried exactly as it was.
#[derive(Debug, Clone)]
enum Request {
    File(Box<proto::FileComplaintRequest>),
    /// With the unique texts of its notes, to find them in the log.
    Append(proto::AppendEventsRequest, Vec<String>),
}

#[derive(Debug, Default, Clone)]
struct Ledger {
    acks: Vec<Ack>,
    /// Acknowledged complaints, which every client appends to.
    complaints: Vec<String>,
    /// The last version a client was told of, per complaint.
    versions: HashMap<String, u64>,
    /// Notes of requests definitively refused (ABORTED): they must not be in the log.
    refused_notes: Vec<String>,
    retries_replayed: u64,
    retries_fresh: u64,
    retries_refused: u64,
    aborted: u64,
}

impl Ledger {
    fn filed(&mut self, response: &proto::FileComplaintResponse) {
        self.acks.push(Ack {
            complaint: response.complaint_id.clone(),
            version: response.version,
            position: response.position,
            event_id: None,
        });
        if !self.versions.contains_key(&response.complaint_id) {
            self.complaints.push(response.complaint_id.clone());
        }
        let seen = self
            .versions
            .entry(response.complaint_id.clone())
            .or_default();
        *seen = (*seen).max(response.version);
    }

    fn appended(&mut self, complaint: &str, response: &proto::AppendEventsResponse) {
        for event in &response.events {
            self.acks.push(Ack {
                complaint: complaint.to_owned(),
                version: event.version,
                position: event.position,
                event_id: Some(event.event_id.parse().expect("an event id")),
            });
        }
        let seen = self.versions.entry(complaint.to_owned()).or_default();
        *seen = (*seen).max(response.version);
    }
}

// ---------------------------------------------------------------------------------------
// The clients.

/// The codes a killed server leaves its clients with: the request may or may not
/// have been stored.
fn no_answer(code: Code) -> bool {
    matches!(
        code,
        Code::Unavailable
            | Code::Unknown
            | Code::Cancelled
            | Code::Internal
            | Code::DeadlineExceeded
    )
}

enum Sent {
    Answered,
    NoAnswer,
}

/// Sends one request and books the answer. Anything but success, a stale
/// `expected_version` or a dead server fails the test.
async fn send(
    client: &mut ComplaintClient,
    ledger: &Mutex<Ledger>,
    request: &Request,
    retry: bool,
) -> Sent {
    match request {
        Request::File(file) => match client.file_complaint(*file.clone()).await {
            Ok(response) => {
                let response = response.into_inner();
                let mut ledger = ledger.lock().unwrap();
                if retry {
                    count_retry(&mut ledger, response.replayed);
                }
                ledger.filed(&response);
                Sent::Answered
            }
            Err(status) if no_answer(status.code()) => Sent::NoAnswer,
            Err(status) => panic!("FileComplaint {file:?} failed: {status:?}"),
        },
        Request::Append(append, notes) => match client.append_events(append.clone()).await {
            Ok(response) => {
                let response = response.into_inner();
                let complaint = append.name.trim_start_matches("complaints/");
                let mut ledger = ledger.lock().unwrap();
                if retry {
                    count_retry(&mut ledger, response.replayed);
                }
                assert_eq!(
                    response.events.len(),
                    notes.len(),
                    "every event of {append:?} is acknowledged"
                );
                ledger.appended(complaint, &response);
                Sent::Answered
            }
            Err(status) if status.code() == Code::Aborted && append.expected_version.is_some() => {
                let mut ledger = ledger.lock().unwrap();
                ledger.aborted += 1;
                ledger.retries_refused += u64::from(retry);
                ledger.refused_notes.extend(notes.iter().cloned());
                Sent::Answered
            }
            Err(status) if no_answer(status.code()) => Sent::NoAnswer,
            Err(status) => panic!("AppendEvents {append:?} failed: {status:?}"),
        },
    }
}

fn count_retry(ledger: &mut Ledger, replayed: bool) {
    if replayed {
        ledger.retries_replayed += 1;
    } else {
        ledger.retries_fresh += 1;
    }
}

/// A new request: a filing now and then, otherwise one to three notes on any known
/// complaint, so that clients race on the same streams.
fn next_request(rng: &mut StdRng, ledger: &Mutex<Ledger>) -> Request {
    let target = {
        let ledger = ledger.lock().unwrap();
        match ledger.complaints.len() {
            0 => None,
            n if rng.random_bool(0.85) => {
                let complaint = ledger.complaints[rng.random_range(0..n)].clone();
                let version = ledger.versions[&complaint];
                Some((complaint, version))
            }
            _ => None,
        }
    };
    let Some((complaint, version)) = target else {
        return Request::File(Box::new(workload::file_request(
            Uuid::new_v4(),
            "",
            workload::filing(rng),
        )));
    };
    let request_id = Uuid::new_v4();
    let notes: Vec<String> = (0..rng.random_range(1..=3))
        .map(|i| format!("crash note {request_id}/{i}"))
        .collect();
    // Half the requests name their events; the others let the server derive the ids
    // from the request id, which a retry must reproduce.
    let named = rng.random_bool(0.5);
    let events = notes
        .iter()
        .map(|text| workload::submission(named.then(Uuid::new_v4), workload::note(text.clone())))
        .collect();
    let expected = rng.random_bool(0.5).then_some(version);
    Request::Append(
        workload::append_request(&complaint, request_id, expected, events),
        notes,
    )
}

/// One client's round: first the requests it got no answer to before, then new ones
/// (unless `retries_only`) until the server dies. Returns the requests still unanswered.
async fn client_round(
    mut client: ComplaintClient,
    ledger: Arc<Mutex<Ledger>>,
    mut rng: StdRng,
    retries: Vec<Request>,
    retries_only: bool,
) -> Vec<Request> {
    let mut retries = retries.into_iter();
    while let Some(request) = retries.next() {
        if let Sent::NoAnswer = send(&mut client, &ledger, &request, true).await {
            return std::iter::once(request).chain(retries).collect();
        }
    }
    let stop = Instant::now() + ROUND_LIMIT;
    while !retries_only && Instant::now() < stop {
        let request = next_request(&mut rng, &ledger);
        if let Sent::NoAnswer = send(&mut client, &ledger, &request, false).await {
            return vec![request];
        }
    }
    Vec::new()
}

// ---------------------------------------------------------------------------------------
// The checks, on the log opened offline.

async fn read_whole_log(store: &SledStore) -> Vec<RecordedEvent> {
    let mut log = Vec::new();
    loop {
        let page = store
            .read_all(log.len() as u64, MAX_PAGE)
            .await
            .expect("read the log");
        if page.is_empty() {
            return log;
        }
        log.extend(page);
    }
}

/// What the log holds after a round.
struct LogSummary {
    events: usize,
    digest: Option<Digest>,
    /// The last version of every complaint.
    versions: HashMap<String, u64>,
}

/// Checks everything the test promises about the log.
async fn check_log(events_dir: &Path, ledger: &Ledger, previous: Option<Digest>) -> LogSummary {
    let store =
        SledStore::open(events_dir, SledOptions::default()).expect("open the log after the kill");
    let log = read_whole_log(&store).await;
    assert_eq!(
        log.len() as u64,
        store.head(),
        "the whole durable log is readable"
    );

    let mut next_version: HashMap<&str, u64> = HashMap::new();
    let mut by_id: HashMap<Uuid, &RecordedEvent> = HashMap::new();
    let mut notes: HashMap<String, u64> = HashMap::new();
    for (index, event) in log.iter().enumerate() {
        assert_eq!(event.position, index as u64, "positions have no gaps");
        let version = next_version.entry(event.stream.as_str()).or_default();
        assert_eq!(
            event.version, *version,
            "versions of {} have no gaps",
            event.stream
        );
        *version += 1;
        if let Some(first) = by_id.insert(event.event_id, event) {
            panic!(
                "event id {} stored twice: {} v{} @{} and {} v{} @{} ({})",
                event.event_id,
                first.stream,
                first.version,
                first.position,
                event.stream,
                event.version,
                event.position,
                event.event_type
            );
        }
        let decoded =
            complaintflow_server::engine::codec::domain_event(event).expect("a readable event");
        if let ComplaintEvent::NoteAdded(note) = decoded.event {
            *notes.entry(note.text.as_str().to_owned()).or_default() += 1;
        }
    }

    for ack in &ledger.acks {
        let stored = if let Some(id) = ack.event_id {
            *by_id
                .get(&id)
                .unwrap_or_else(|| panic!("acknowledged {ack:?} is lost"))
        } else {
            let stored = log
                .get(ack.position as usize)
                .unwrap_or_else(|| panic!("acknowledged {ack:?} is lost"));
            assert_eq!(stored.event_type, "complaint.filed", "{ack:?}");
            stored
        };
        assert_eq!(
            (stored.stream.as_str(), stored.version, stored.position),
            (ack.complaint.as_str(), ack.version, ack.position),
            "acknowledged {ack:?} is where it was acknowledged"
        );
    }
    if let Some((text, count)) = notes.iter().find(|(_, count)| **count > 1) {
        panic!("note {text:?} stored {count} times: a retry was stored again");
    }
    for text in &ledger.refused_notes {
        assert!(
            !notes.contains_key(text),
            "note {text:?} of a refused request is stored"
        );
    }

    let report = verify_log(&store).await.expect("verify");
    assert!(
        report.is_intact(),
        "hash chains broken: {:?}",
        report.first_break
    );
    if let Some(previous) = previous {
        let check = check_digest(&store, &previous).await.expect("digest");
        assert_eq!(
            check,
            DigestCheck::Consistent,
            "the log extends the one before the kill"
        );
    }
    let digest = take_digest(&store).await.expect("digest");
    let versions = next_version
        .into_iter()
        .map(|(stream, next)| (stream.to_owned(), next - 1))
        .collect();
    store.close().await.expect("close");
    LogSummary {
        events: log.len(),
        digest,
        versions,
    }
}

/// The projections a restarted server lists agree with the log: every complaint, at
/// its last version. They are written apart from the log, so a kill may leave them
/// behind; the restart must catch them up before it serves.
async fn check_projections(server: &Server, auth: BearerAuth, log: &LogSummary) {
    let channel = tonic::transport::Endpoint::from_shared(format!("http://{}", server.address))
        .expect("endpoint")
        .connect()
        .await
        .expect("connect");
    let mut client =
        proto::complaint_service_client::ComplaintServiceClient::with_interceptor(channel, auth);
    let mut listed = HashMap::new();
    let mut page_token = String::new();
    loop {
        let request = proto::ListComplaintsRequest {
            page_size: 500,
            page_token,
            ..Default::default()
        };
        let page = client
            .list_complaints(request)
            .await
            .expect("ListComplaints")
            .into_inner();
        for complaint in page.complaints {
            listed.insert(complaint.complaint_id, complaint.version);
        }
        if page.next_page_token.is_empty() {
            break;
        }
        page_token = page.next_page_token;
    }
    assert_eq!(
        listed, log.versions,
        "the projections agree with the log after the kills"
    );
}

// ---------------------------------------------------------------------------------------
// The test.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_appends_survive_sigkill_of_the_server_under_load() {
    let seed = std::env::var(SEED_ENV)
        .ok()
        .map_or(DEFAULT_SEED, |s| s.parse().expect("a u64 seed"));
    println!("server crash test seed {seed} (set {SEED_ENV} to replay)");
    let mut rng = StdRng::seed_from_u64(seed);
    let temp = tempfile::tempdir().expect("tempdir");
    let data = temp.path().join("data");
    let log = temp.path().join("server.log");
    let started = Instant::now();

    let ledger = Arc::new(Mutex::new(Ledger::default()));
    let mut unanswered: Vec<Vec<Request>> = vec![Vec::new(); CLIENTS];
    let mut digest = None;
    let mut final_log = None;
    for round in 0..=KILL_ROUNDS {
        let retries_only = round == KILL_ROUNDS;
        if round % 2 == 0 && round > 0 {
            let after = Duration::from_millis(rng.random_range(0..=60));
            let (data_dir, log_path) = (data.clone(), log.clone());
            tokio::task::spawn_blocking(move || {
                Server::kill_while_starting(&data_dir, &log_path, after);
            })
            .await
            .expect("kill while starting");
            let ledger = ledger.lock().unwrap().clone();
            digest = check_log(&DataDir::new(&data).events(), &ledger, digest)
                .await
                .digest;
            println!("round {round}: killed {after:?} into the start-up");
        }
        let server = start_server(&data, &log).await;
        let clients = start_clients(
            &server,
            &data,
            &ledger,
            &mut rng,
            &mut unanswered,
            retries_only,
        )
        .await;
        // The second round is killed while the clients still reconnect and retry; the
        // others somewhere in the middle of the load. The last one waits for its retries.
        let kill_after = match round {
            _ if retries_only => None,
            1 => Some(Duration::from_millis(rng.random_range(20..=150))),
            _ => Some(Duration::from_millis(rng.random_range(300..=2500))),
        };
        if let Some(after) = kill_after {
            tokio::time::sleep(after).await;
            kill(server, &log).await;
            unanswered = join_all(clients).await;
        } else {
            unanswered = join_all(clients).await;
            kill(server, &log).await;
        }

        // Every client has stopped: the ledger is complete for this round.
        let ledger = ledger.lock().unwrap().clone();
        let summary = check_log(&DataDir::new(&data).events(), &ledger, digest).await;
        digest = summary.digest;
        println!(
            "round {round}: kill after {kill_after:?}, log has {} events, {} acknowledged, {} unanswered, {:.1?} elapsed",
            summary.events,
            ledger.acks.len(),
            unanswered.iter().map(Vec::len).sum::<usize>(),
            started.elapsed()
        );
        final_log = Some(summary);
    }

    let final_log = final_log.expect("at least one round");
    let server = start_server(&data, &log).await;
    let token = std::fs::read_to_string(token_path(&data)).expect("the admin token");
    check_projections(&server, BearerAuth::new(&token).expect("token"), &final_log).await;
    kill(server, &log).await;

    let ledger = ledger.lock().unwrap();
    println!(
        "retries: {} replayed, {} appended fresh, {} refused as stale; {} ABORTED in all",
        ledger.retries_replayed, ledger.retries_fresh, ledger.retries_refused, ledger.aborted
    );
    assert!(
        unanswered.iter().all(Vec::is_empty),
        "every request got an answer in the last round"
    );
    assert!(
        ledger.acks.len() > 100,
        "the clients got too little done to prove anything"
    );
    assert!(
        ledger.retries_replayed + ledger.retries_fresh > 0,
        "no request was in flight at any kill: the retries were not exercised"
    );
}

/// Connects every client and starts its round.
async fn start_clients(
    server: &Server,
    data: &Path,
    ledger: &Arc<Mutex<Ledger>>,
    rng: &mut StdRng,
    unanswered: &mut [Vec<Request>],
    retries_only: bool,
) -> Vec<tokio::task::JoinHandle<Vec<Request>>> {
    let token = std::fs::read_to_string(token_path(data)).expect("the admin token");
    let auth = BearerAuth::new(&token).expect("token");
    let mut clients = Vec::with_capacity(CLIENTS);
    for retries in unanswered.iter_mut() {
        let client = connect(server.address, auth.clone())
            .await
            .expect("connect");
        let rng = StdRng::seed_from_u64(rng.random());
        clients.push(tokio::spawn(client_round(
            client,
            ledger.clone(),
            rng,
            std::mem::take(retries),
            retries_only,
        )));
    }
    clients
}

fn token_path(data: &Path) -> PathBuf {
    DataDir::new(data).admin_token()
}

async fn start_server(data: &Path, log: &Path) -> Server {
    let (data, log) = (data.to_path_buf(), log.to_path_buf());
    tokio::task::spawn_blocking(move || Server::start(&data, &log))
        .await
        .expect("start")
}

async fn kill(server: Server, log: &Path) {
    let log = log.to_path_buf();
    tokio::task::spawn_blocking(move || server.kill(&log))
        .await
        .expect("kill");
}

async fn join_all(clients: Vec<tokio::task::JoinHandle<Vec<Request>>>) -> Vec<Vec<Request>> {
    let mut unanswered = Vec::with_capacity(clients.len());
    for client in clients {
        unanswered.push(client.await.expect("a client panicked"));
    }
    unanswered
}
