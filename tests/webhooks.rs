//! Webhooks, end to end: a local HTTP receiver (axum) stands for the endpoints; the real
//! server delivers to it from the log.
//!
//! - exactly the events each endpoint asked for arrive (by type, region, dealer,
//!   escalation level, emergency), in log order, signed, each once;
//! - 500s and timeouts are retried with the same body and idempotency key;
//! - an event that fails for the dead-letter time becomes a dead letter, delivery moves
//!   on, and `complaintflow webhooks replay` sends it again;
//! - the config file is reloaded: endpoints added and removed, a bad file ignored;
//! - a kill -9 of the server process loses nothing; the only duplicates are deliveries
//!   repeated after the restart, recognisable by their id.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test stops at the first surprise"
)]
#![cfg(unix)]

mod support;

use complaintflow_log::LogReader;
use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::net::SocketAddr;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::Child;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderMap, StatusCode};
use hmac::{Hmac, KeyInit, Mac};
use jiff::SignedDuration;
use sha2::Sha256;
use tonic::transport::Channel;
use uuid::Uuid;

use complaintflow_domain::testkit::apologized;
use complaintflow_domain::vocabulary::{EmergencyKind, Level, Severity};
use complaintflow_domain::{ComplaintState, Policy};
use complaintflow_log::clock::ManualClock;
use complaintflow_log::{MAX_PAGE, RecordedEvent};
use complaintflow_server::api::proto;
use complaintflow_server::api::proto::audit_service_client::AuditServiceClient;
use complaintflow_server::api::proto::complaint_service_client::ComplaintServiceClient;
use complaintflow_server::auth::{Role as AuthRole, TokenFile};
use complaintflow_server::config::Config;
use complaintflow_server::engine::codec;
use complaintflow_server::node::DataDir;
use complaintflow_server::notify::config::{EventKind, WebhookConfig, WebhookDelivery};
use complaintflow_server::notify::files::EndpointFiles;
use complaintflow_server::notify::{checkpoint, dead_letter};
use complaintflow_store_sled::{SledOptions, SledStore};

use support::server::{
    TestServer, append_request, filing_request, filing_request_with, issue, signed,
};

const SECRET: &str = "webhook-test-secret";
/// Long enough for anything this suite waits for on a loaded 2-core machine.
const PATIENCE: Duration = Duration::from_secs(60);

// ---------------------------------------------------------------------------------------
// The receiver.

#[derive(Debug, Clone, PartialEq)]
enum Answer {
    Ok,
    Status(u16),
    /// Answers only after this long: longer than the delivery's request timeout.
    Hang(Duration),
}

#[derive(Debug, Clone)]
struct Hit {
    endpoint: String,
    event_id: Uuid,
    position: u64,
    event_type: String,
    key: String,
    timestamp: String,
    signature: String,
    body: Bytes,
    answer: Answer,
    /// Bumped by the test (e.g. at a kill), to tell deliveries before and after apart.
    epoch: u32,
}

impl Hit {
    fn taken(&self) -> bool {
        self.answer == Answer::Ok
    }

    fn signature_verifies(&self) -> bool {
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(SECRET.as_bytes()).unwrap();
        mac.update(self.timestamp.as_bytes());
        mac.update(b".");
        mac.update(&self.body);
        self.signature == format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
    }
}

#[derive(Debug, Default)]
struct Inbox {
    hits: Vec<Hit>,
    scripts: HashMap<String, VecDeque<Answer>>,
    otherwise: HashMap<String, Answer>,
    epoch: u32,
}

#[derive(Clone)]
struct Receiver {
    address: SocketAddr,
    inbox: Arc<Mutex<Inbox>>,
}

async fn hook(
    State(inbox): State<Arc<Mutex<Inbox>>>,
    UrlPath(endpoint): UrlPath<String>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let json: serde_json::Value = serde_json::from_slice(&body).expect("a JSON body");
    let answer = {
        let mut inbox = inbox.lock().unwrap();
        let answer = inbox
            .scripts
            .get_mut(&endpoint)
            .and_then(VecDeque::pop_front)
            .or_else(|| inbox.otherwise.get(&endpoint).cloned())
            .unwrap_or(Answer::Ok);
        let hit = Hit {
            endpoint,
            event_id: json["event_id"].as_str().unwrap().parse().unwrap(),
            position: json["position"].as_u64().unwrap(),
            event_type: json["event_type"].as_str().unwrap().to_owned(),
            key: header("idempotency-key"),
            timestamp: header("x-complaintflow-timestamp"),
            signature: header("x-complaintflow-signature"),
            body: body.clone(),
            answer: answer.clone(),
            epoch: inbox.epoch,
        };
        inbox.hits.push(hit);
        answer
    };
    match answer {
        Answer::Ok => StatusCode::OK,
        Answer::Status(code) => StatusCode::from_u16(code).unwrap(),
        Answer::Hang(pause) => {
            tokio::time::sleep(pause).await;
            StatusCode::OK
        }
    }
}

impl Receiver {
    async fn start() -> Self {
        let inbox = Arc::new(Mutex::new(Inbox::default()));
        let app = axum::Router::new()
            .route("/{endpoint}", axum::routing::post(hook))
            .with_state(inbox.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Self { address, inbox }
    }

    fn url(&self, endpoint: &str) -> String {
        format!("http://{}/{endpoint}", self.address)
    }

    fn hits(&self, endpoint: &str) -> Vec<Hit> {
        let inbox = self.inbox.lock().unwrap();
        inbox
            .hits
            .iter()
            .filter(|hit| hit.endpoint == endpoint)
            .cloned()
            .collect()
    }

    /// The hits the endpoint's server took as delivered (answered 2xx).
    fn taken(&self, endpoint: &str) -> Vec<Hit> {
        self.hits(endpoint).into_iter().filter(Hit::taken).collect()
    }

    fn script(&self, endpoint: &str, answers: impl IntoIterator<Item = Answer>) {
        let mut inbox = self.inbox.lock().unwrap();
        inbox
            .scripts
            .entry(endpoint.to_owned())
            .or_default()
            .extend(answers);
    }

    fn otherwise(&self, endpoint: &str, answer: Answer) {
        let mut inbox = self.inbox.lock().unwrap();
        inbox.otherwise.insert(endpoint.to_owned(), answer);
    }

    fn next_epoch(&self) {
        self.inbox.lock().unwrap().epoch += 1;
    }
}

// ---------------------------------------------------------------------------------------
// Set-up and waiting.

fn webhook(receiver: &Receiver, name: &str, events: &[EventKind]) -> WebhookConfig {
    WebhookConfig {
        name: name.to_owned(),
        url: receiver.url(name),
        secret: SECRET.to_owned(),
        events: events.to_vec(),
        regions: Vec::new(),
        dealers: Vec::new(),
        min_level: None,
    }
}

/// Quick retries, so that the tests spend their time on what they check.
fn delivery() -> WebhookDelivery {
    WebhookDelivery {
        allowed_hosts: vec!["127.0.0.1".to_owned()],
        backoff_base: SignedDuration::from_millis(10),
        backoff_cap: SignedDuration::from_millis(50),
        request_timeout: SignedDuration::from_millis(500),
        dead_letter_after: SignedDuration::from_hours(24),
    }
}

fn dealers() -> BTreeMap<String, String> {
    BTreeMap::from([
        ("SH-0042".to_owned(), "EAST".to_owned()),
        ("BJ-0007".to_owned(), "NORTH".to_owned()),
    ])
}

struct Harness {
    _dir: tempfile::TempDir,
    root: PathBuf,
    server: Option<TestServer>,
    admin: String,
    clock: ManualClock,
}

impl Harness {
    async fn start(customise: impl FnOnce(&mut Config, &Path)) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().to_path_buf();
        let mut tokens = TokenFile::default();
        let admin = issue(&mut tokens, "root", AuthRole::Admin, |_| {});
        let clock = ManualClock::new(support::at("2026-03-02T01:00:00Z"));
        let config_root = root.clone();
        let server = TestServer::start_with(&root, &tokens, dealers(), clock.clone(), |config| {
            customise(config, &config_root);
        })
        .await;
        Self {
            _dir: dir,
            root,
            server: Some(server),
            admin,
            clock,
        }
    }

    fn data_dir(&self) -> PathBuf {
        self.root.join("data")
    }

    fn server(&self) -> &TestServer {
        self.server.as_ref().unwrap()
    }

    async fn channel(&self) -> Channel {
        Channel::from_shared(format!("http://{}", self.server().address))
            .unwrap()
            .connect()
            .await
            .unwrap()
    }

    async fn file(&self, request: proto::FileComplaintRequest) {
        let mut client = ComplaintServiceClient::new(self.channel().await);
        client
            .file_complaint(signed(&self.admin, request))
            .await
            .unwrap();
    }

    async fn apologise(&self, complaint: &str) {
        let mut client = ComplaintServiceClient::new(self.channel().await);
        let request = append_request(complaint, vec![apologized().into()]);
        client
            .append_events(signed(&self.admin, request))
            .await
            .unwrap();
    }

    /// The position the next event will get.
    async fn head(&self) -> u64 {
        let mut audit = AuditServiceClient::new(self.channel().await);
        let digest = audit
            .take_digest(signed(&self.admin, proto::TakeDigestRequest {}))
            .await
            .unwrap()
            .into_inner()
            .digest
            .unwrap();
        digest.position + 1
    }

    /// Waits until the log stops growing (the scheduler has fired what fell due) and
    /// every endpoint in `names` has dealt with all of it.
    async fn settle(&self, names: &[&str]) -> u64 {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let head = self.head().await;
            for name in names {
                let files = EndpointFiles::new(&DataDir::new(self.data_dir()), name);
                eventually(&format!("{name} reaches position {head}"), || {
                    checkpoint::read(&files.checkpoint)
                        .unwrap()
                        .is_some_and(|next| next >= head)
                })
                .await;
            }
            // The scheduler looks at the clock four times a second.
            tokio::time::sleep(Duration::from_millis(600)).await;
            if self.head().await == head {
                return head;
            }
            assert!(Instant::now() < deadline, "the log never settled");
        }
    }

    async fn stop(&mut self) {
        if let Some(server) = self.server.take() {
            server.stop().await;
        }
    }
}

/// Polls `done` until it holds; fails the test after `PATIENCE`.
async fn eventually(what: &str, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < PATIENCE, "never happened: {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Every event of the log, read offline once the server has stopped.
async fn log_of(data_dir: &Path) -> Vec<RecordedEvent> {
    let store = SledStore::open(data_dir.join("events"), SledOptions::default()).unwrap();
    let mut events = Vec::new();
    loop {
        let page = store.read_all(events.len() as u64, MAX_PAGE).await.unwrap();
        if page.is_empty() {
            break;
        }
        events.extend(page);
    }
    store.close().await.unwrap();
    events
}

/// Each complaint event with its complaint's state right after it, folded here with the
/// domain's own `apply`, independently of the server's filter.
fn with_states(log: &[RecordedEvent]) -> Vec<(&RecordedEvent, ComplaintState)> {
    let mut states: HashMap<String, Option<ComplaintState>> = HashMap::new();
    let mut out = Vec::new();
    for recorded in log {
        let Ok(event) = codec::domain_event(recorded) else {
            continue; // follow-up streams
        };
        let state = states.entry(recorded.stream.to_string()).or_default();
        complaintflow_domain::apply(state, &event.event, &event.meta);
        out.push((recorded, state.clone().unwrap()));
    }
    out
}

fn positions(hits: &[Hit]) -> Vec<u64> {
    hits.iter().map(|hit| hit.position).collect()
}

// ---------------------------------------------------------------------------------------
// The tests.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exactly_the_matching_events_arrive_signed_once_and_in_log_order() {
    let receiver = Receiver::start().await;
    let mut missed_east = webhook(
        &receiver,
        "missed-east",
        &[EventKind::DeadlineMissed, EventKind::Escalated],
    );
    missed_east.regions = vec!["EAST".into()];
    let mut all_bj = webhook(&receiver, "all-bj", &[EventKind::Any]);
    all_bj.dealers = vec!["BJ-0007".into()];
    let mut cac_up = webhook(&receiver, "cac-up", &[EventKind::Any]);
    cac_up.min_level = Some(Level::ManufacturerCac);
    let emergencies = webhook(&receiver, "emergency", &[EventKind::EmergencyFiled]);
    let warnings = webhook(&receiver, "warnings", &[EventKind::DeadlineWarning]);
    let endpoints = vec![missed_east, all_bj, cac_up, emergencies, warnings];
    let names: Vec<&str> = ["missed-east", "all-bj", "cac-up", "emergency", "warnings"].to_vec();
    let configured = endpoints.clone();
    let mut harness = Harness::start(|config, _| {
        config.webhooks = configured;
        config.webhook_delivery = delivery();
    })
    .await;

    harness
        .file(filing_request("SH-0042:CMP-WH-E1", "SH-0042", "EAST"))
        .await;
    harness
        .file(filing_request("BJ-0007:CMP-WH-N1", "BJ-0007", "NORTH"))
        .await;
    harness
        .file(filing_request_with("SH-0042:CMP-WH-F1", |filed| {
            filed.severity = Severity::Urgent;
            filed.emergency = Some(EmergencyKind::VehicleFire);
        }))
        .await;
    harness.apologise("BJ-0007:CMP-WH-N1").await;
    // The afternoon: the same-day reports are due soon (warnings).
    harness.clock.advance(SignedDuration::from_hours(7));
    harness.settle(&names).await;
    // A week on: reports and results are overdue, the cases climb the ladder.
    harness.clock.advance(SignedDuration::from_hours(7 * 24));
    harness.settle(&names).await;
    harness.stop().await;

    let log = log_of(&harness.data_dir()).await;
    let events = with_states(&log);
    let policy = Policy::builtin();
    let rung = |level: Level| policy.rung(level).unwrap_or(0);
    type Wanted<'a> = Box<dyn Fn(&RecordedEvent, &ComplaintState) -> bool + 'a>;
    let wanted: Vec<(&str, Wanted)> = vec![
        (
            "missed-east",
            Box::new(|e, s| {
                ["complaint.deadline_missed", "complaint.escalated"]
                    .contains(&e.event_type.as_str())
                    && s.region.as_str() == "EAST"
            }),
        ),
        ("all-bj", Box::new(|_, s| s.dealer.as_str() == "BJ-0007")),
        (
            "cac-up",
            Box::new(move |_, s| rung(s.level) >= rung(Level::ManufacturerCac)),
        ),
        (
            "emergency",
            Box::new(|e, s| e.event_type == "complaint.filed" && s.emergency.is_some()),
        ),
        (
            "warnings",
            Box::new(|e, _| e.event_type == "complaint.deadline_warning"),
        ),
    ];
    for (name, wants) in &wanted {
        let expected: Vec<u64> = events
            .iter()
            .filter(|(event, state)| wants(event, state))
            .map(|(event, _)| event.position)
            .collect();
        assert!(!expected.is_empty(), "{name}: the scenario gives it events");
        let hits = receiver.hits(name);
        assert!(hits.iter().all(Hit::taken), "{name}: nothing was refused");
        assert_eq!(
            positions(&hits),
            expected,
            "{name}: exactly its events, in log order, once"
        );
        for hit in &hits {
            assert!(hit.signature_verifies(), "{name}: signature of {hit:?}");
            assert_eq!(hit.key, hit.event_id.to_string(), "the event id is the key");
            let recorded = &log[usize::try_from(hit.position).unwrap()];
            assert_eq!(hit.event_id, recorded.event_id);
            assert_eq!(hit.event_type, recorded.event_type);
            // The body is the export's JSON line of the event.
            let exported = complaintflow_server::export::EventLine::exported(recorded).unwrap();
            assert_eq!(hit.body, serde_json::to_vec(&exported).unwrap());
        }
    }
    let escalated = events
        .iter()
        .filter(|(e, _)| e.event_type == "complaint.escalated")
        .count();
    assert!(escalated > 0, "the week escalated something");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_and_timeouts_are_retried_with_the_same_body_and_key() {
    let receiver = Receiver::start().await;
    receiver.script(
        "flaky",
        [
            Answer::Status(500),
            Answer::Status(503),
            Answer::Hang(Duration::from_secs(10)),
            Answer::Ok,
        ],
    );
    let endpoint = webhook(&receiver, "flaky", &[EventKind::Any]);
    let mut harness = Harness::start(|config, _| {
        config.webhooks = vec![endpoint];
        config.webhook_delivery = delivery();
    })
    .await;
    harness
        .file(filing_request("SH-0042:CMP-WH-R1", "SH-0042", "EAST"))
        .await;
    eventually("the filing is taken", || {
        !receiver.taken("flaky").is_empty()
    })
    .await;
    let hits = receiver.hits("flaky");
    let answers: Vec<Answer> = hits.iter().map(|hit| hit.answer.clone()).collect();
    assert_eq!(
        answers,
        [
            Answer::Status(500),
            Answer::Status(503),
            Answer::Hang(Duration::from_secs(10)),
            Answer::Ok
        ]
    );
    let first = &hits[0];
    for hit in &hits {
        assert_eq!(hit.event_id, first.event_id);
        assert_eq!(hit.key, first.key);
        assert_eq!(hit.body, first.body);
        assert!(hit.signature_verifies());
    }
    harness.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_that_keeps_failing_becomes_a_dead_letter_that_can_be_replayed() {
    let receiver = Receiver::start().await;
    receiver.otherwise("down", Answer::Status(500));
    let endpoint = webhook(&receiver, "down", &[EventKind::Any]);
    let mut harness = Harness::start(|config, _| {
        config.webhooks = vec![endpoint];
        config.webhook_delivery = WebhookDelivery {
            dead_letter_after: SignedDuration::from_hours(1),
            ..delivery()
        };
    })
    .await;
    let files = EndpointFiles::new(&DataDir::new(harness.data_dir()), "down");
    harness
        .file(filing_request("SH-0042:CMP-WH-D1", "SH-0042", "EAST"))
        .await;
    eventually("the filing is tried and refused twice", || {
        receiver.hits("down").len() >= 2
    })
    .await;
    let filing = receiver.hits("down")[0].clone();
    assert!(
        dead_letter::list(&files.dead).unwrap().is_empty(),
        "not dead before the dead-letter time"
    );

    // The dead-letter time passes on the server's clock.
    harness.clock.advance(SignedDuration::from_mins(61));
    eventually("the filing is a dead letter", || {
        !dead_letter::list(&files.dead).unwrap().is_empty()
    })
    .await;
    let dead = dead_letter::list(&files.dead).unwrap();
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].event_id, filing.event_id);
    assert_eq!(dead[0].position, filing.position);
    assert!(dead[0].last_error.contains("500"), "{:?}", dead[0]);

    // The endpoint comes back: delivery has moved on to what follows.
    receiver.otherwise("down", Answer::Ok);
    harness.apologise("SH-0042:CMP-WH-D1").await;
    eventually("the apology arrives", || {
        receiver
            .taken("down")
            .iter()
            .any(|hit| hit.event_type == "complaint.apologized")
    })
    .await;
    assert!(
        !receiver
            .taken("down")
            .iter()
            .any(|hit| hit.event_id == filing.event_id),
        "the dead letter waits for the operator"
    );

    let data = harness.data_dir();
    let data = data.to_str().unwrap();
    let status = support::cli::run(&["webhooks", "status", "--data-dir", data]);
    let shown = support::cli::text(&status);
    assert!(status.status.success(), "{shown}");
    assert!(shown.contains("down: next position"), "{shown}");
    assert!(shown.contains("1 dead letters"), "{shown}");
    assert!(shown.contains(&filing.event_id.to_string()), "{shown}");

    let replay = support::cli::run(&[
        "webhooks",
        "replay",
        "--data-dir",
        data,
        "--endpoint",
        "down",
    ]);
    let shown = support::cli::text(&replay);
    assert!(replay.status.success(), "{shown}");
    assert!(shown.contains("1 dead letters of down queued"), "{shown}");
    eventually("the dead letter is delivered again", || {
        receiver
            .taken("down")
            .iter()
            .any(|hit| hit.event_id == filing.event_id)
    })
    .await;
    let replayed = receiver
        .taken("down")
        .into_iter()
        .find(|hit| hit.event_id == filing.event_id)
        .unwrap();
    assert_eq!(replayed.body, filing.body);
    assert_eq!(replayed.key, filing.key);
    assert!(replayed.signature_verifies());
    eventually("the replay request is done", || {
        dead_letter::pending_replays(&files).unwrap().is_empty()
    })
    .await;
    assert!(dead_letter::list(&files.dead).unwrap().is_empty());

    let unknown = support::cli::run(&[
        "webhooks",
        "replay",
        "--data-dir",
        data,
        "--endpoint",
        "nobody",
    ]);
    assert_eq!(
        unknown.status.code(),
        Some(2),
        "{}",
        support::cli::text(&unknown)
    );
    harness.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hung_endpoint_holds_back_only_itself_and_never_delays_shutdown() {
    let receiver = Receiver::start().await;
    receiver.otherwise("hung", Answer::Hang(Duration::from_secs(600)));
    let endpoints = vec![
        webhook(&receiver, "hung", &[EventKind::Any]),
        webhook(&receiver, "up", &[EventKind::Any]),
    ];
    let mut harness = Harness::start(|config, _| {
        config.webhooks = endpoints;
        config.webhook_delivery = WebhookDelivery {
            request_timeout: SignedDuration::from_secs(300),
            ..delivery()
        };
    })
    .await;
    for n in 0..3 {
        harness
            .file(filing_request(
                &format!("SH-0042:CMP-WH-H{n}"),
                "SH-0042",
                "EAST",
            ))
            .await;
    }
    eventually("up hears of every filing", || {
        receiver.taken("up").len() == 3
    })
    .await;
    assert_eq!(
        receiver.hits("hung").len(),
        1,
        "hung waits on its first event"
    );

    // The shutdown timeout is 10 s by default; the hung request would take 300 s.
    let stopping = Instant::now();
    harness.stop().await;
    assert!(
        stopping.elapsed() < Duration::from_secs(30),
        "shutdown took {:?}",
        stopping.elapsed()
    );
    let files = EndpointFiles::new(&DataDir::new(harness.data_dir()), "hung");
    let first = receiver.hits("hung")[0].position;
    assert_eq!(
        checkpoint::read(&files.checkpoint).unwrap(),
        Some(first),
        "the unanswered event is sent again at the next start"
    );
}

fn write_config(path: &Path, webhooks: Vec<WebhookConfig>) {
    let config = Config {
        webhooks,
        webhook_delivery: delivery(),
        ..Config::default()
    };
    std::fs::write(path, toml::to_string(&config).unwrap()).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_changed_config_file_adds_and_removes_endpoints_and_a_bad_one_is_ignored() {
    let receiver = Receiver::start().await;
    let first = webhook(&receiver, "first", &[EventKind::Any]);
    let second = webhook(&receiver, "second", &[EventKind::Any]);
    let third = webhook(&receiver, "third", &[EventKind::Any]);
    let initial = vec![first.clone()];
    let mut harness = Harness::start(|config, root| {
        let path = root.join("complaintflow.toml");
        write_config(&path, initial.clone());
        config.webhooks = initial;
        config.webhook_delivery = delivery();
        config.config_file = Some(path);
    })
    .await;
    let path = harness.root.join("complaintflow.toml");
    let started = |name: &str| {
        EndpointFiles::new(&DataDir::new(harness.data_dir()), name)
            .checkpoint
            .exists()
    };
    let got = |name: &str, event_type: &str| {
        receiver
            .taken(name)
            .iter()
            .filter(|hit| hit.event_type == event_type)
            .count()
    };

    harness
        .file(filing_request("SH-0042:CMP-WH-L1", "SH-0042", "EAST"))
        .await;
    eventually("first hears of the filing", || {
        got("first", "complaint.filed") == 1
    })
    .await;

    write_config(&path, vec![first.clone(), second.clone()]);
    eventually("second is added", || started("second")).await;
    harness.apologise("SH-0042:CMP-WH-L1").await;
    eventually("both hear of the apology", || {
        got("first", "complaint.apologized") == 1 && got("second", "complaint.apologized") == 1
    })
    .await;
    assert_eq!(
        got("second", "complaint.filed"),
        0,
        "an endpoint added starts at the head of the log"
    );

    write_config(&path, vec![second.clone(), third.clone()]);
    eventually("third is added (first removed at once)", || {
        started("third")
    })
    .await;
    harness
        .file(filing_request("BJ-0007:CMP-WH-L2", "BJ-0007", "NORTH"))
        .await;
    eventually("second and third hear of the new filing", || {
        got("second", "complaint.filed") == 1 && got("third", "complaint.filed") == 1
    })
    .await;

    // A file the server cannot use keeps the endpoints in force.
    std::fs::write(&path, "[[webhooks]]\nname = \"no url\"\n").unwrap();
    // Past the next look at the file (once a second).
    tokio::time::sleep(Duration::from_millis(1500)).await;
    harness.apologise("BJ-0007:CMP-WH-L2").await;
    eventually("second and third still deliver", || {
        got("second", "complaint.apologized") == 2 && got("third", "complaint.apologized") == 1
    })
    .await;
    harness.stop().await;
    assert_eq!(
        got("first", "complaint.filed"),
        1,
        "first stopped when it was removed"
    );
    assert_eq!(got("first", "complaint.apologized"), 1);
}

// ---------------------------------------------------------------------------------------
// kill -9 of the real server process.

/// `complaintflow serve` on a loopback port, killed on drop.
struct Process {
    child: Child,
    address: SocketAddr,
}

impl Process {
    fn start(config: &Path, data: &Path, log: &Path) -> Self {
        let mut child = support::cli::serve(data)
            .arg("--config")
            .arg(config)
            .stderr(support::cli::log_file(log))
            .spawn()
            .unwrap();
        let address = support::cli::listening(&mut child, Some(log));
        Self { child, address }
    }

    async fn channel(&self) -> Channel {
        Channel::from_shared(format!("http://{}", self.address))
            .unwrap()
            .connect()
            .await
            .unwrap()
    }

    fn kill(mut self) {
        self.child.kill().unwrap();
        let status = self.child.wait().unwrap();
        assert_eq!(status.signal(), Some(9), "killed by SIGKILL");
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Files complaints and apologises to each until the server stops answering.
async fn keep_writing(channel: Channel, token: String, prefix: &'static str, limit: usize) {
    let mut client = ComplaintServiceClient::new(channel);
    for n in 0..limit {
        let complaint = format!("SH-0042:CMP-{prefix}-{n}");
        let filed = client
            .file_complaint(signed(
                &token,
                filing_request(&complaint, "SH-0042", "EAST"),
            ))
            .await;
        if filed.is_err() {
            return;
        }
        let request = append_request(&complaint, vec![apologized().into()]);
        if client.append_events(signed(&token, request)).await.is_err() {
            return;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kill_9_loses_nothing_and_repeats_only_deliveries_after_the_restart() {
    let receiver = Receiver::start().await;
    let dir = tempfile::tempdir().unwrap();
    let (config, data, log) = (
        dir.path().join("complaintflow.toml"),
        dir.path().join("data"),
        dir.path().join("server.log"),
    );
    let endpoint = webhook(&receiver, "crash", &[EventKind::Any]);
    let text = toml::to_string(&Config {
        webhooks: vec![endpoint],
        webhook_delivery: delivery(),
        dealers: dealers(),
        ..Config::default()
    })
    .unwrap();
    std::fs::write(&config, text).unwrap();

    let server = Process::start(&config, &data, &log);
    let token = std::fs::read_to_string(data.join("admin.token"))
        .unwrap()
        .trim()
        .to_owned();
    let writer = tokio::spawn(keep_writing(
        server.channel().await,
        token.clone(),
        "K",
        100_000,
    ));
    eventually("deliveries under way", || {
        receiver.taken("crash").len() >= 40
    })
    .await;
    server.kill();
    receiver.next_epoch();
    writer.await.unwrap();

    let server = Process::start(&config, &data, &log);
    keep_writing(server.channel().await, token.clone(), "AFTER", 5).await;
    let head = {
        let mut audit = AuditServiceClient::new(server.channel().await);
        let digest = audit
            .take_digest(signed(&token, proto::TakeDigestRequest {}))
            .await
            .unwrap()
            .into_inner()
            .digest
            .unwrap();
        digest.position + 1
    };
    let files = EndpointFiles::new(&DataDir::new(&data), "crash");
    eventually("the endpoint catches up after the restart", || {
        checkpoint::read(&files.checkpoint)
            .unwrap()
            .is_some_and(|next| next >= head)
    })
    .await;
    server.kill();

    let log = log_of(&data).await;
    let all: Vec<Uuid> = with_states(&log)
        .iter()
        .map(|(event, _)| event.event_id)
        .collect();
    let hits = receiver.taken("crash");
    assert!(hits.iter().all(Hit::signature_verifies));
    let mut first_seen = Vec::new();
    let mut seen = HashSet::new();
    let mut repeats = Vec::new();
    for hit in &hits {
        if seen.insert(hit.event_id) {
            first_seen.push(hit.event_id);
        } else {
            repeats.push(hit.clone());
        }
    }
    // Everything before `head` was waited for; a deadline the clock brought due since
    // may or may not have been delivered yet when the server was killed.
    let waited = usize::try_from(head).unwrap();
    assert!(
        first_seen.len() >= waited,
        "nothing lost: {} of {waited}",
        first_seen.len()
    );
    assert_eq!(
        first_seen,
        all[..first_seen.len()],
        "the log's events, in log order, and nothing else"
    );
    for repeat in &repeats {
        assert_eq!(
            repeat.epoch, 1,
            "a delivery is repeated only after the crash: {repeat:?}"
        );
        assert_eq!(repeat.key, repeat.event_id.to_string());
    }
    assert!(
        repeats.len() <= 1,
        "at most the delivery in flight at the kill is repeated: {repeats:?}"
    );
}
