//! Three `complaintflow serve` processes on one PostgreSQL database, and the failures a
//! cluster meets: a node killed with SIGKILL under load, the scheduler's lease holder
//! killed with deadlines due, PostgreSQL itself restarted (immediate stop) under load.
//!
//! Clients are spread over the nodes; each request is retried with the same request id
//! (on the next node when its node is gone) until it is answered, and every answer is
//! recorded. Afterwards the log, read straight from the database, holds every
//! acknowledged event at its position, nothing twice, and the surviving nodes' queries
//! (asking for the last acknowledged position) show it all.
//!
//! Needs `COMPLAINTFLOW_TEST_POSTGRES` (see `scripts/postgres.sh`); skipped without it.
//! The restart also needs `COMPLAINTFLOW_PG_BIN` and `COMPLAINTFLOW_PG_DIR`, which the
//! script exports. The tests of this file share the cluster, so they take turns.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test or benchmark stops at the first surprise"
)]
#![cfg(unix)]

mod conformance;
mod support;
#[allow(unused_macros)]
#[macro_use]
mod store_suite;

use complaintflow_log::LogReader;
use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use complaintflow::loadtest::client::{BearerAuth, ComplaintClient, connect};
use complaintflow::loadtest::workload;
use complaintflow_log::clock::ManualClock;
use complaintflow_log::verify::verify_log;
use complaintflow_log::{Direction, EventStore};
use complaintflow_server::api::proto;
use complaintflow_server::auth::{Role, TokenFile};
use rand::SeedableRng;
use rand::rngs::StdRng;
use store_suite::postgres::Schema;
use support::server::{issue, write_tokens};
use tonic::Code;
use uuid::Uuid;

const NODES: usize = 3;
/// What any one request may take, retries and failovers included.
const ANSWER_WITHIN: Duration = Duration::from_secs(90);
/// The longest a new holder may take to appear once the old one is dead.
const TAKEOVER_WITHIN: Duration = Duration::from_secs(20);

/// The tests of this file share one cluster (the restart would cut the others off).
static TURNS: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

// ---------------------------------------------------------------------------------------
// The nodes.

/// `complaintflow serve` on the schema, killed on drop.
struct Node {
    child: Child,
    address: SocketAddr,
    log: PathBuf,
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

struct Cluster {
    schema: Schema,
    root: tempfile::TempDir,
    token: String,
    nodes: Vec<Option<Node>>,
    addresses: Vec<SocketAddr>,
}

/// The node's name, as PostgreSQL sees its connections.
fn application_name(n: usize) -> String {
    format!("cf-node-{n}")
}

/// Where node `n` finds the log of `schema`.
fn schema_url(schema: &Schema, n: usize) -> String {
    schema.url(&application_name(n))
}

impl Cluster {
    async fn start() -> Option<Self> {
        let schema = Schema::create().await?;
        let root = tempfile::tempdir().unwrap();
        let mut tokens = TokenFile::default();
        let token = issue(&mut tokens, "root", Role::Admin, |_| {});
        write_tokens(&root.path().join("tokens.toml"), &tokens);
        let mut cluster = Self {
            schema,
            root,
            token,
            nodes: Vec::new(),
            addresses: Vec::new(),
        };
        // One node first: it migrates the schema, which the others then find done.
        for n in 0..NODES {
            let node = cluster.spawn(n);
            cluster.addresses.push(node.address);
            cluster.nodes.push(Some(node));
        }
        Some(cluster)
    }

    fn url(&self, n: usize) -> String {
        schema_url(&self.schema, n)
    }

    fn spawn(&self, n: usize) -> Node {
        let dir = self.root.path().join(format!("node-{n}"));
        let log = self.root.path().join(format!("node-{n}.log"));
        let mut child = support::cli::serve(&dir)
            .arg("--tokens")
            .arg(self.root.path().join("tokens.toml"))
            .env("COMPLAINTFLOW_STORE", self.url(n))
            .env("COMPLAINTFLOW_LOG", "info")
            .stderr(support::cli::log_file(&log))
            .spawn()
            .expect("start a node");
        let address = support::cli::listening(&mut child, Some(&log));
        Node {
            child,
            address,
            log,
        }
    }

    /// SIGKILL.
    fn kill(&mut self, n: usize) {
        let mut node = self.nodes[n].take().expect("a running node");
        node.child.kill().unwrap();
        node.child.wait().unwrap();
    }

    /// Every node still running is running (none died by itself).
    fn assert_alive(&mut self) {
        for node in self.nodes.iter_mut().flatten() {
            assert!(
                node.child.try_wait().unwrap().is_none(),
                "a node stopped; its log:\n{}",
                std::fs::read_to_string(&node.log).unwrap_or_default()
            );
        }
    }

    async fn client(&self, n: usize) -> ComplaintClient {
        connect(self.addresses[n], BearerAuth::new(&self.token).unwrap())
            .await
            .unwrap()
    }

    /// The node that holds the scheduler's lease now, by its connections' name.
    async fn lease_holder(&self) -> Option<usize> {
        let client = self.schema.client().await.unwrap();
        let row = client
            .query_opt(
                "SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a USING (pid) \
                 WHERE l.locktype = 'advisory' AND l.granted AND l.classid = 1668116588 \
                 AND l.objid = hashtext($1 || '/scheduler')::oid",
                &[&self.schema.name],
            )
            .await
            .unwrap()?;
        let name: String = row.get(0);
        (0..NODES).find(|n| application_name(*n) == name)
    }

    async fn until_lease_holder(&self, not: Option<usize>) -> usize {
        let started = Instant::now();
        loop {
            if let Some(holder) = self.lease_holder().await
                && Some(holder) != not
            {
                return holder;
            }
            assert!(
                started.elapsed() < TAKEOVER_WITHIN,
                "no node took the scheduler's lease within {TAKEOVER_WITHIN:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn finish(self) {
        let Self { schema, nodes, .. } = self;
        drop(nodes);
        schema.drop_schema().await;
    }
}

// ---------------------------------------------------------------------------------------
// Clients that retry until answered.

/// What a client was told.
#[derive(Debug, Clone)]
struct Ack {
    complaint: String,
    event_id: Uuid,
    position: u64,
}

#[derive(Default)]
struct Record {
    acks: Vec<Ack>,
    /// Codes of the refusals seen, with how often.
    refusals: BTreeMap<String, usize>,
    /// Requests each complaint was sent (the filing included), all answered.
    requests: HashMap<String, usize>,
}

/// Sends `call` to node `home`, then to the next node each time the answer is a
/// failure a retry may mend, until it is answered. The request is the same each time.
async fn answered<T, F, Fut>(
    clients: &mut [Option<ComplaintClient>],
    addresses: &[SocketAddr],
    token: &str,
    home: &mut usize,
    record: &Mutex<Record>,
    mut call: F,
) -> T
where
    F: FnMut(ComplaintClient) -> Fut,
    Fut: std::future::Future<Output = Result<tonic::Response<T>, tonic::Status>>,
{
    let started = Instant::now();
    loop {
        assert!(
            started.elapsed() < ANSWER_WITHIN,
            "a request went unanswered for {ANSWER_WITHIN:?}"
        );
        let n = *home;
        if clients[n].is_none() {
            clients[n] = connect(addresses[n], BearerAuth::new(token).unwrap())
                .await
                .ok();
        }
        let status = match clients[n].clone() {
            Some(client) => match call(client).await {
                Ok(answer) => return answer.into_inner(),
                Err(status) => status,
            },
            None => tonic::Status::unavailable("cannot connect"),
        };
        *record
            .lock()
            .unwrap()
            .refusals
            .entry(format!("{:?}", status.code()))
            .or_default() += 1;
        assert!(
            matches!(
                status.code(),
                Code::Unavailable | Code::Unknown | Code::Cancelled | Code::DeadlineExceeded
            ),
            "a wrong answer, not a retryable one: {status:?}"
        );
        clients[n] = None;
        *home = (n + 1) % addresses.len();
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// One client: files complaints and appends notes to them, through node `home` first,
/// until `stop`; finishes the request under way.
async fn client_loop(
    addresses: Vec<SocketAddr>,
    token: String,
    mut home: usize,
    seed: u64,
    stop: Arc<AtomicBool>,
    record: Arc<Mutex<Record>>,
) {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut clients: Vec<Option<ComplaintClient>> = vec![None; addresses.len()];
    while !stop.load(Ordering::Relaxed) {
        let filing = workload::file_request(Uuid::new_v4(), "", workload::filing(&mut rng));
        let filed = answered(
            &mut clients,
            &addresses,
            &token,
            &mut home,
            &record,
            |mut c| {
                let request = filing.clone();
                async move { c.file_complaint(request).await }
            },
        )
        .await;
        let complaint = filed.complaint_id.clone();
        {
            let mut record = record.lock().unwrap();
            *record.requests.entry(complaint.clone()).or_default() += 1;
            record.acks.push(Ack {
                complaint: complaint.clone(),
                event_id: Uuid::nil(),
                position: filed.position,
            });
        }
        for i in 0..8 {
            if stop.load(Ordering::Relaxed) {
                break;
            }
            let append = workload::append_request(
                &complaint,
                Uuid::new_v4(),
                None,
                vec![workload::submission(
                    None,
                    workload::note(format!("note {i} of {complaint}")),
                )],
            );
            let appended = answered(
                &mut clients,
                &addresses,
                &token,
                &mut home,
                &record,
                |mut c| {
                    let request = append.clone();
                    async move { c.append_events(request).await }
                },
            )
            .await;
            let mut record = record.lock().unwrap();
            *record.requests.entry(complaint.clone()).or_default() += 1;
            record.acks.push(Ack {
                complaint: complaint.clone(),
                event_id: appended.events[0].event_id.parse().unwrap(),
                position: appended.position,
            });
        }
    }
}

struct Load {
    stop: Arc<AtomicBool>,
    record: Arc<Mutex<Record>>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

fn load(cluster: &Cluster, clients: usize) -> Load {
    let stop = Arc::new(AtomicBool::new(false));
    let record = Arc::new(Mutex::new(Record::default()));
    let tasks = (0..clients)
        .map(|k| {
            tokio::spawn(client_loop(
                cluster.addresses.clone(),
                cluster.token.clone(),
                k % NODES,
                k as u64,
                stop.clone(),
                record.clone(),
            ))
        })
        .collect();
    Load {
        stop,
        record,
        tasks,
    }
}

impl Load {
    async fn finish(self) -> Record {
        self.stop.store(true, Ordering::Relaxed);
        for task in self.tasks {
            task.await.unwrap();
        }
        Arc::try_unwrap(self.record)
            .ok()
            .unwrap()
            .into_inner()
            .unwrap()
    }
}

/// Every acknowledged event is in the log at its position; each complaint holds exactly
/// what its client was answered for, nothing twice; the surviving nodes answer it all.
async fn check(cluster: &Cluster, record: &Record, survivors: &[usize]) {
    let store = cluster
        .schema
        .store(&ManualClock::new(support::at("2026-01-01T00:00:00Z")))
        .await;
    assert!(verify_log(&store).await.unwrap().is_intact());
    let mut last = 0;
    for ack in &record.acks {
        let stream =
            complaintflow_server::engine::complaint_stream(&support::id(&ack.complaint)).unwrap();
        if ack.event_id != Uuid::nil() {
            let slot = store
                .find_event(&stream, &ack.event_id)
                .await
                .unwrap()
                .unwrap_or_else(|| panic!("acknowledged event {ack:?} is not in the log"));
            assert_eq!(slot.position, ack.position, "{ack:?}");
        }
        let at = store.read_all(ack.position, 1).await.unwrap();
        assert_eq!(at[0].stream, stream, "{ack:?}");
        last = last.max(ack.position);
    }
    let mut events = 0;
    for (complaint, requests) in &record.requests {
        let stream =
            complaintflow_server::engine::complaint_stream(&support::id(complaint)).unwrap();
        let stored = store
            .read_stream(&stream, 0, Direction::Forwards, 10_000)
            .await
            .unwrap();
        // Engine events (deadlines) are not the clients'; none fall due in these tests.
        let from_clients = stored
            .iter()
            .filter(|e| !e.actor.starts_with("engine:"))
            .count();
        assert_eq!(
            from_clients, *requests,
            "{complaint}: one event per answered request"
        );
        events += stored.len();
    }
    for &n in survivors {
        let mut client = cluster.client(n).await;
        for (complaint, _) in record.requests.iter().take(50) {
            let timeline = client
                .list_complaint_events(proto::ListComplaintEventsRequest {
                    parent: workload::complaint_name(complaint),
                    page_size: 1000,
                    min_position: Some(last),
                    ..Default::default()
                })
                .await
                .unwrap()
                .into_inner();
            let stream =
                complaintflow_server::engine::complaint_stream(&support::id(complaint)).unwrap();
            assert_eq!(
                timeline.events.len() as u64,
                store.stream_version(&stream).await.unwrap().unwrap() + 1,
                "node {n}: {complaint}"
            );
        }
        let listed = client
            .list_complaints(proto::ListComplaintsRequest {
                page_size: 500,
                min_position: Some(last),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        assert!(
            !listed.complaints.is_empty(),
            "node {n} lists the complaints"
        );
    }
    eprintln!(
        "{} answered requests, {} complaints, {events} events; refusals on the way: {:?}",
        record.acks.len(),
        record.requests.len(),
        record.refusals
    );
    store.close().await.unwrap();
}

// ---------------------------------------------------------------------------------------
// The tests.

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_node_killed_under_load_loses_nothing_acknowledged() {
    let _turn = TURNS.lock().await;
    let Some(mut cluster) = Cluster::start().await else {
        return;
    };
    let load = load(&cluster, 6);
    tokio::time::sleep(Duration::from_secs(3)).await;
    cluster.kill(1);
    tokio::time::sleep(Duration::from_secs(3)).await;
    let record = load.finish().await;
    cluster.assert_alive();
    assert!(
        record.refusals.values().sum::<usize>() > 0,
        "the clients of the killed node had to go elsewhere"
    );
    check(&cluster, &record, &[0, 2]).await;
    cluster.finish().await;
}

/// Files complaints that happened `days` ago: every one has deadlines long due.
async fn file_overdue(
    cluster: &Cluster,
    n: usize,
    count: usize,
    occurred: prost_types::Timestamp,
) -> Vec<String> {
    let mut client = cluster.client(n).await;
    let mut rng = StdRng::seed_from_u64(n as u64);
    let mut filed = Vec::new();
    for _ in 0..count {
        let mut request = workload::file_request(Uuid::new_v4(), "", workload::filing(&mut rng));
        request.occur_time = Some(occurred);
        filed.push(
            client
                .file_complaint(request)
                .await
                .unwrap()
                .into_inner()
                .complaint_id,
        );
    }
    filed
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_lease_holder_killed_with_deadlines_due_another_fires_each_once() {
    let _turn = TURNS.lock().await;
    let Some(mut cluster) = Cluster::start().await else {
        return;
    };
    let holder = cluster.until_lease_holder(None).await;
    let occurred = complaintflow_server::api::convert::timestamp_to_proto(
        jiff::Timestamp::now() - jiff::SignedDuration::from_hours(24 * 10),
    );
    let other = (holder + 1) % NODES;
    let mut complaints = file_overdue(&cluster, other, 40, occurred).await;
    // Killed while it fires what just fell due.
    cluster.kill(holder);
    let killed_at = Instant::now();
    let survivor = (holder + 2) % NODES;
    complaints.extend(file_overdue(&cluster, survivor, 40, occurred).await);
    let new_holder = cluster.until_lease_holder(Some(holder)).await;
    eprintln!(
        "node {new_holder} took the lease over {:?} after node {holder} was killed",
        killed_at.elapsed()
    );
    assert_ne!(new_holder, holder);

    // Every complaint ends with the same firings (they were filed alike): none missing,
    // none twice.
    let store = cluster
        .schema
        .store(&ManualClock::new(support::at("2026-01-01T00:00:00Z")))
        .await;
    let fired = |stored: &[complaintflow_log::RecordedEvent]| -> Vec<String> {
        let mut types: Vec<String> = stored
            .iter()
            .filter(|e| e.actor.starts_with("engine:"))
            .map(|e| e.event_type.clone())
            .collect();
        types.sort();
        types
    };
    let started = Instant::now();
    let (mut settled, mut last_head) = (Instant::now(), store.head());
    let firings = loop {
        let mut all = Vec::new();
        for c in &complaints {
            let stream = complaintflow_server::engine::complaint_stream(&support::id(c)).unwrap();
            all.push(fired(
                &store
                    .read_stream(&stream, 0, Direction::Forwards, 1000)
                    .await
                    .unwrap(),
            ));
        }
        let head = store.head();
        if head != last_head {
            (settled, last_head) = (Instant::now(), head);
        }
        // Done once every complaint has its missed deadlines and nothing has been
        // appended for a while.
        if all
            .iter()
            .all(|types| types.iter().any(|t| t == "complaint.deadline_missed"))
            && settled.elapsed() > Duration::from_secs(3)
        {
            break all;
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "the due deadlines did not all fire: {all:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    for types in &firings {
        assert_eq!(
            types, &firings[0],
            "every complaint fired the same, once each"
        );
    }
    eprintln!(
        "each of {} complaints fired {:?}",
        complaints.len(),
        firings[0]
    );
    cluster.assert_alive();
    store.close().await.unwrap();
    cluster.finish().await;
}

/// `pg_ctl restart -m immediate` on the test cluster, as its owner.
fn restart_postgres() -> Option<()> {
    let bin = PathBuf::from(std::env::var_os("COMPLAINTFLOW_PG_BIN")?);
    let dir = PathBuf::from(std::env::var_os("COMPLAINTFLOW_PG_DIR")?);
    let pg_ctl = bin.join("pg_ctl");
    let data = dir.join("data");
    let log = dir.join("server.log");
    let args: Vec<&std::ffi::OsStr> = vec![
        pg_ctl.as_os_str(),
        "-D".as_ref(),
        data.as_os_str(),
        "-l".as_ref(),
        log.as_os_str(),
        "-m".as_ref(),
        "immediate".as_ref(),
        "-w".as_ref(),
        "restart".as_ref(),
    ];
    let is_root = Command::new("id").arg("-u").output().ok()?.stdout == b"0\n";
    let status = if is_root {
        Command::new("runuser")
            .args(["-u", "complaintflow-ci", "--"])
            .args(&args)
            .stdout(Stdio::null())
            .status()
    } else {
        Command::new(args[0])
            .args(&args[1..])
            .stdout(Stdio::null())
            .status()
    }
    .expect("run pg_ctl");
    assert!(status.success(), "pg_ctl restart failed: {status}");
    Some(())
}

fn postgres_restartable() -> bool {
    std::env::var_os("COMPLAINTFLOW_PG_BIN").is_some()
        && std::env::var_os("COMPLAINTFLOW_PG_DIR").is_some()
        && Path::new(&std::env::var_os("COMPLAINTFLOW_PG_DIR").unwrap())
            .join("data")
            .exists()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_restarted_under_load_nodes_recover_and_lose_nothing() {
    let _turn = TURNS.lock().await;
    if !postgres_restartable() {
        eprintln!(
            "skipped: COMPLAINTFLOW_PG_BIN and COMPLAINTFLOW_PG_DIR name no cluster to restart"
        );
        return;
    }
    let Some(mut cluster) = Cluster::start().await else {
        return;
    };
    let load = load(&cluster, 6);
    tokio::time::sleep(Duration::from_secs(2)).await;
    let restarting = Instant::now();
    tokio::task::spawn_blocking(restart_postgres)
        .await
        .unwrap()
        .unwrap();
    eprintln!("PostgreSQL restarted in {:?}", restarting.elapsed());
    tokio::time::sleep(Duration::from_secs(4)).await;
    let record = load.finish().await;
    cluster.assert_alive();
    // The nodes stayed up: what clients met was UNAVAILABLE, which a retry mends.
    assert!(
        record.refusals.keys().all(|code| code == "Unavailable"),
        "{:?}",
        record.refusals
    );
    check(&cluster, &record, &[0, 1, 2]).await;
    // The lease was lost with every session; one node holds it again.
    cluster.until_lease_holder(None).await;
    cluster.finish().await;
}

/// Webhooks configured alike on every node are delivered by one node at a time, the
/// holder of the store's lease: each event is posted once, not once per node. When the
/// holder stops, another node takes the delivery over.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhooks_on_every_node_are_delivered_once_by_the_lease_holder() {
    use complaintflow_server::notify::config::{EventKind, WebhookConfig, WebhookDelivery};
    use support::server::{TestServer, filing_request, signed};

    let Some(schema) = Schema::create().await else {
        eprintln!("skipped: COMPLAINTFLOW_TEST_POSTGRES is not set");
        return;
    };
    // The receiver counts deliveries by log position.
    let hits: Arc<Mutex<Vec<u64>>> = Arc::default();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post({
            let hits = hits.clone();
            move |body: axum::body::Bytes| async move {
                let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
                hits.lock()
                    .unwrap()
                    .push(json["position"].as_u64().unwrap());
                http::StatusCode::OK
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let hook = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let mut tokens = TokenFile::default();
    let admin = issue(&mut tokens, "root", Role::Admin, |_| {});
    let dealers = BTreeMap::from([("SH-0042".to_owned(), "EAST".to_owned())]);
    let clock = ManualClock::new(support::at("2026-03-02T01:00:00Z"));
    let roots: Vec<_> = (0..2).map(|_| tempfile::tempdir().unwrap()).collect();
    let mut nodes = Vec::new();
    for (n, root) in roots.iter().enumerate() {
        let (url, hook) = (schema_url(&schema, n), hook.clone());
        nodes.push(
            TestServer::start_with(root.path(), &tokens, dealers.clone(), clock.clone(), |c| {
                c.store_url = Some(url);
                c.webhooks = vec![WebhookConfig {
                    name: "desk".to_owned(),
                    url: hook,
                    secret: "s3cret-s3cret-s3cret".to_owned(),
                    events: vec![EventKind::Any],
                    regions: Vec::new(),
                    dealers: Vec::new(),
                    min_level: None,
                }];
                c.webhook_delivery = WebhookDelivery {
                    allowed_hosts: vec!["127.0.0.1".to_owned()],
                    ..WebhookDelivery::default()
                };
            })
            .await,
        );
    }
    let file = async |node: &TestServer, n: usize| {
        let request = filing_request(&format!("SH-0042:CMP-WH-{n}"), "SH-0042", "EAST");
        let mut client = node.complaints().await;
        client
            .file_complaint(signed(&admin, request))
            .await
            .unwrap()
            .into_inner()
            .position
    };
    let until_delivered = async |last: u64| {
        let deadline = Instant::now() + Duration::from_secs(60);
        while !hits.lock().unwrap().contains(&last) {
            assert!(Instant::now() < deadline, "position {last} never delivered");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };

    let mut last = 0;
    for n in 0..6 {
        last = file(&nodes[n % 2], n).await;
    }
    until_delivered(last).await;
    // Time for a second node's copies, were it posting too.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let mut delivered = hits.lock().unwrap().clone();
    delivered.sort_unstable();
    assert_eq!(delivered, (0..=last).collect::<Vec<_>>(), "each event once");

    // The first node (the first to claim the lease) stops; the other delivers from then.
    nodes.remove(0).stop().await;
    let after = file(&nodes[0], 6).await;
    until_delivered(after).await;
    nodes.remove(0).stop().await;
}
