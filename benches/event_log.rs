//! Event log benchmarks: durable appends, full replay and stream reads on the sled store.
//!
//! `cargo bench --bench event_log` prints one table. Sizes come from the environment:
//!
//! | variable                              | default | meaning                                   |
//! |---------------------------------------|---------|-------------------------------------------|
//! | `COMPLAINTFLOW_BENCH_QUICK=1`         | off     | tiny sizes, a smoke test of the bench     |
//! | `COMPLAINTFLOW_BENCH_SECONDS`         | 5       | how long each append scenario runs        |
//! | `COMPLAINTFLOW_BENCH_MAX_APPENDS`     | 10000000| ... or until this many appends            |
//! | `COMPLAINTFLOW_BENCH_TASKS`           | 1,8,64  | concurrent appending tasks                |
//! | `COMPLAINTFLOW_BENCH_REPLAY_EVENTS`   | 1000000 | size of the store replayed and read       |
//! | `COMPLAINTFLOW_BENCH_FILL_TASKS`      | 256     | tasks filling that store                  |
//! | `COMPLAINTFLOW_BENCH_STREAM_READS`    | 10000   | random 20-event streams read              |
//! | `COMPLAINTFLOW_BENCH_ONLY`            | all     | `appends`, `replay` or `ceiling`          |
//! | `COMPLAINTFLOW_BENCH_CACHE_MB`        | default | sled's page cache (`cache_capacity`)      |
//! | `COMPLAINTFLOW_BENCH_STORE`           | unset   | a PostgreSQL URL: each append scenario also runs on `PgStore`, and 1 ev/call on message-db and on a per-stream-lock variant, in this run |
//!
//! The writer's own metrics (group size, time in `apply_batch` + flush) are captured with
//! a small in-process recorder and shown next to each append scenario.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test or benchmark stops at the first surprise"
)]

use complaintflow_log::LogReader;
use std::env;
use std::hint::black_box;
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use complaintflow_log::{Direction, EventStore, ExpectedVersion, MAX_PAGE, NewEvent, StreamId};
use complaintflow_store_sled::{SledOptions, SledStore};
use hdrhistogram::Histogram;
use jiff::Timestamp;
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use tempfile::TempDir;

#[path = "event_log/postgres.rs"]
mod postgres;

use postgres::Baseline;

/// The allocator the `complaintflow` binary runs with, so the figures are the server's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// A new stream every this many events, in the append scenarios.
const EVENTS_PER_STREAM: u64 = 10;
/// Events per stream in the replay store: read back whole by the stream-read scenario.
const REPLAY_STREAM_LEN: u64 = 20;
const FILL_EVENTS_PER_CALL: u64 = 10;
const APPEND_TARGET: f64 = 50_000.0;
const REPLAY_TARGET: f64 = 1_000_000.0;

fn main() {
    // As the `complaintflow` binary runs.
    complaintflow::process::disable_transparent_huge_pages();
    let config = Config::from_env();
    metrics::set_global_recorder(WriterStatsRecorder).expect("no other metrics recorder");
    print_header(&config);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let mut results = Results::default();
    Row::print_heading();
    let pg = postgres::configured();
    if config.runs("appends") {
        for events_per_call in [1, 10] {
            for &tasks in &config.tasks {
                let row = runtime.block_on(append_scenario(&config, tasks, events_per_call));
                results.record_append(tasks, events_per_call, &row);
                row.print();
                // Side by side: the same scenario on PostgreSQL, then the baselines.
                let Some(pg) = &pg else { continue };
                let quota = config.max_appends.div_ceil(tasks);
                let row = runtime.block_on(postgres::pg_store_scenario(
                    pg,
                    config.seconds,
                    quota,
                    tasks,
                    events_per_call,
                ));
                results.record_pg_append(tasks, events_per_call, &row);
                row.print();
                if events_per_call == 1 {
                    for baseline in [Baseline::MessageDb, Baseline::PerStreamLock] {
                        let row = runtime.block_on(postgres::baseline_scenario(
                            baseline,
                            pg,
                            config.seconds,
                            quota,
                            tasks,
                        ));
                        results.record_baseline(baseline, tasks, &row);
                        row.print();
                    }
                }
            }
        }
    }
    if config.runs("replay") {
        runtime.block_on(replay_scenarios(&config, &mut results));
    }
    if config.runs("ceiling") {
        for row in sled_ceiling(&config) {
            row.print();
        }
    }
    results.print_targets();
}

// ---------------------------------------------------------------------------------------
// Configuration and the header.

struct Config {
    quick: bool,
    seconds: Duration,
    max_appends: u64,
    tasks: Vec<u64>,
    replay_events: u64,
    fill_tasks: u64,
    stream_reads: u64,
    only: Option<String>,
    cache_bytes: Option<u64>,
}

impl Config {
    fn from_env() -> Self {
        let quick = env::var("COMPLAINTFLOW_BENCH_QUICK").is_ok_and(|v| v == "1");
        let size = |full: u64, tiny: u64| if quick { tiny } else { full };
        Self {
            quick,
            seconds: Duration::from_secs_f64(env_or(
                "COMPLAINTFLOW_BENCH_SECONDS",
                if quick { 0.3 } else { 5.0 },
            )),
            max_appends: env_or("COMPLAINTFLOW_BENCH_MAX_APPENDS", size(10_000_000, 2_000)),
            tasks: env::var("COMPLAINTFLOW_BENCH_TASKS").map_or_else(
                |_| vec![1, 8, 64],
                |list| {
                    list.split(',')
                        .map(|t| parse_env("TASKS", t.trim()))
                        .collect()
                },
            ),
            replay_events: env_or("COMPLAINTFLOW_BENCH_REPLAY_EVENTS", size(1_000_000, 20_000)),
            fill_tasks: env_or("COMPLAINTFLOW_BENCH_FILL_TASKS", size(256, 16)),
            stream_reads: env_or("COMPLAINTFLOW_BENCH_STREAM_READS", size(10_000, 200)),
            only: env::var("COMPLAINTFLOW_BENCH_ONLY").ok(),
            cache_bytes: env::var("COMPLAINTFLOW_BENCH_CACHE_MB")
                .ok()
                .map(|mb| parse_env::<u64>("COMPLAINTFLOW_BENCH_CACHE_MB", &mb) << 20),
        }
    }

    fn runs(&self, scenario: &str) -> bool {
        self.only.as_deref().is_none_or(|only| only == scenario)
    }

    fn store_options(&self) -> SledOptions {
        let defaults = SledOptions::default();
        SledOptions {
            cache_capacity: self.cache_bytes.unwrap_or(defaults.cache_capacity),
            ..defaults
        }
    }
}

fn env_or<T: FromStr>(name: &str, default: T) -> T {
    env::var(name).map_or(default, |v| parse_env(name, &v))
}

fn parse_env<T: FromStr>(name: &str, value: &str) -> T {
    value
        .parse()
        .unwrap_or_else(|_| panic!("{name}={value:?} is not a valid value"))
}

fn print_header(config: &Config) {
    let cores = std::thread::available_parallelism().map_or(0, std::num::NonZero::get);
    let cpu = proc_field("/proc/cpuinfo", "model name").unwrap_or_else(|| "unknown CPU".into());
    let memory = proc_field("/proc/meminfo", "MemTotal").unwrap_or_default();
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let settings: Vec<String> = env::vars()
        .filter(|(name, _)| name.starts_with("COMPLAINTFLOW_BENCH_"))
        .map(|(name, value)| format!("{name}={value} "))
        .collect();
    println!(
        "complaintflow event log benchmark{}",
        if config.quick {
            " (QUICK MODE: tiny sizes, figures meaningless)"
        } else {
            ""
        }
    );
    println!(
        "machine: {cores} cores (nproc), {cpu}, {memory} memory, Linux {}",
        kernel.trim()
    );
    println!(
        "command: {}cargo bench --bench event_log",
        settings.concat()
    );
    println!(
        "store:   SledStore, SledOptions::default() with a {} MiB page cache, in a fresh directory under {}",
        config.store_options().cache_capacity >> 20,
        env::temp_dir().display()
    );
    println!(
        "sizes:   appends {:?} or {} appends per scenario, tasks {:?}; replay store {} events, {} stream reads",
        config.seconds, config.max_appends, config.tasks, config.replay_events, config.stream_reads
    );
    println!();
}

fn proc_field(file: &str, field: &str) -> Option<String> {
    let text = std::fs::read_to_string(file).ok()?;
    let line = text.lines().find(|line| line.starts_with(field))?;
    Some(line.split_once(':')?.1.trim().to_owned())
}

// ---------------------------------------------------------------------------------------
// Realistic events: ~200-byte JSON payloads of dealer complaints, random v4 ids.

const CATEGORIES: [&str; 6] = [
    "brakes",
    "infotainment",
    "paint",
    "transmission",
    "hvac",
    "electrical",
];
const NOTES: [&str; 4] = [
    "Customer reports grinding noise from the front left wheel below 30 km/h.",
    "Display freezes after the phone connects; reset fixes it for a day.",
    "Blistering on the tailgate paint after the first winter, no impact damage.",
    "Hard shift from second to third gear when the engine is cold.",
];

fn complaint_event(rng: &mut StdRng, stream: &StreamId) -> NewEvent {
    let dealer = rng.random_range(1..500);
    let payload = format!(
        r#"{{"complaint":"{stream}","dealer":"D{dealer:04}","vin":"WDD2050421F{:06}","mileage_km":{},"category":"{}","note":"{}"}}"#,
        rng.random_range(0..1_000_000),
        rng.random_range(0..250_000),
        CATEGORIES[rng.random_range(0..CATEGORIES.len())],
        NOTES[rng.random_range(0..NOTES.len())],
    );
    NewEvent {
        event_id: uuid::Builder::from_random_bytes(rng.random()).into_uuid(),
        event_type: "complaint.note_added".into(),
        schema_version: 1,
        occurred_at: Timestamp::now(),
        correlation_id: Some(uuid::Builder::from_random_bytes(rng.random()).into_uuid()),
        causation_id: None,
        actor: format!("dealer:D{dealer:04}"),
        payload: payload.into_bytes(),
    }
}

fn complaint_events(rng: &mut StdRng, stream: &StreamId, n: u64) -> Vec<NewEvent> {
    (0..n).map(|_| complaint_event(rng, stream)).collect()
}

fn stream_id(owner: &str, n: u64) -> StreamId {
    StreamId::new(format!("C-{owner}-{n:07}")).expect("valid stream id")
}

/// Opens a fresh store in a temporary directory on the same disk as `temp_dir()`.
fn fresh_store(config: &Config) -> (TempDir, Arc<SledStore>) {
    let dir = tempfile::tempdir_in(env::temp_dir()).expect("temporary directory");
    let store = SledStore::open(dir.path(), config.store_options()).expect("open store");
    (dir, Arc::new(store))
}

fn latency_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 600_000_000, 3).expect("histogram bounds")
}

fn record_micros(histogram: &mut Histogram<u64>, since: Instant) {
    let micros = u64::try_from(since.elapsed().as_micros()).unwrap_or(u64::MAX);
    histogram.saturating_record(micros.max(1));
}

// ---------------------------------------------------------------------------------------
// The ceiling: what sled 0.34 alone costs for the index entries of one event.

/// Events in each ceiling scenario: about as many as the 64-task append scenario stores.
const CEILING_EVENTS: u64 = 200_000;
/// Events per `apply_batch`, as the writer's groups hold with 64 appending tasks.
const CEILING_GROUP: u64 = 18;

/// Two rows: the rate at which sled, with nothing else running, takes the two index
/// entries the writer stores for every event (its stream entry and its random-UUID id
/// entry), without the records, hashing, encoding or any flush. It bounds the append
/// rate from above: first as the writer does it (one thread, one `apply_batch` per
/// group), then with every core inserting on its own.
fn sled_ceiling(config: &Config) -> Vec<Row> {
    let events = if config.quick { 2_000 } else { CEILING_EVENTS };
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get) as u64;
    vec![
        ceiling_run(
            config,
            "sled alone: index entries, 1 thread",
            1,
            events,
            true,
        ),
        ceiling_run(
            config,
            "sled alone: index entries, all cores",
            cores,
            events,
            false,
        ),
    ]
}

fn ceiling_run(config: &Config, label: &str, threads: u64, events: u64, batched: bool) -> Row {
    let dir = TempDir::new().expect("temporary directory");
    let db = sled::Config::new()
        .path(dir.path())
        .cache_capacity(config.store_options().cache_capacity)
        .mode(sled::Mode::HighThroughput)
        .open()
        .expect("sled opens");
    let tree = db.open_tree("log").expect("tree");
    let cpu_before = process_cpu();
    let started = Instant::now();
    std::thread::scope(|scope| {
        for thread in 0..threads {
            let tree = &tree;
            scope.spawn(move || {
                let mut rng = StdRng::seed_from_u64(thread);
                let entry = [7u8; 48];
                let mut streams = OwnStreams::new(format!("t{thread}"));
                let mut batch = sled::Batch::default();
                for n in 1..=events / threads {
                    let (stream, expected) = streams.next();
                    let version = match expected {
                        ExpectedVersion::Exact(last) => last + 1,
                        _ => 0,
                    };
                    let mut stream_key = vec![b's'];
                    stream_key.extend_from_slice(stream.as_str().as_bytes());
                    stream_key.push(0);
                    stream_key.extend_from_slice(&version.to_be_bytes());
                    let mut id_key = [b'i'; 17];
                    rng.fill(&mut id_key[1..]);
                    if batched {
                        batch.insert(stream_key, &entry[..40]);
                        batch.insert(&id_key[..], &entry[..]);
                        if n % CEILING_GROUP == 0 {
                            tree.apply_batch(std::mem::take(&mut batch)).expect("batch");
                        }
                    } else {
                        tree.insert(stream_key, &entry[..40]).expect("insert");
                        tree.insert(&id_key[..], &entry[..]).expect("insert");
                    }
                    streams.appended(version);
                }
                tree.apply_batch(batch).expect("batch");
            });
        }
    });
    let elapsed = started.elapsed();
    Row::new(label.to_owned(), threads, events, elapsed)
        .with_cpu(process_cpu().checked_sub(cpu_before).unwrap())
}

// ---------------------------------------------------------------------------------------
// Scenarios 1 and 2: durable appends from concurrent tasks, each into its own streams.

/// What one appending task did.
struct TaskRun {
    events: u64,
    latency: Histogram<u64>,
}

/// A task's own streams, a new one every `EVENTS_PER_STREAM` events, with exact versions.
struct OwnStreams {
    owner: String,
    count: u64,
    current: StreamId,
    last_version: Option<u64>,
}

impl OwnStreams {
    fn new(owner: String) -> Self {
        let current = stream_id(&owner, 0);
        Self {
            owner,
            count: 0,
            current,
            last_version: None,
        }
    }

    /// The stream for the next append and the version it expects.
    fn next(&mut self) -> (&StreamId, ExpectedVersion) {
        if self
            .last_version
            .is_some_and(|v| v + 1 >= EVENTS_PER_STREAM)
        {
            self.count += 1;
            self.current = stream_id(&self.owner, self.count);
            self.last_version = None;
        }
        let expected = self
            .last_version
            .map_or(ExpectedVersion::NoStream, ExpectedVersion::Exact);
        (&self.current, expected)
    }

    fn appended(&mut self, last_version: u64) {
        self.last_version = Some(last_version);
    }
}

async fn append_scenario(config: &Config, tasks: u64, events_per_call: u64) -> Row {
    let (_dir, store) = fresh_store(config);
    let quota = config.max_appends.div_ceil(tasks);
    let writer_before = WriterStats::now();
    let cpu_before = process_cpu();
    let started = Instant::now();
    let deadline = started + config.seconds;
    let handles: Vec<_> = (0..tasks)
        .map(|task| {
            let store: Arc<dyn EventStore> = store.clone();
            tokio::spawn(append_task(store, task, events_per_call, deadline, quota))
        })
        .collect();
    let (events, latency) = join_runs(handles).await;
    let elapsed = started.elapsed();
    let cpu = process_cpu().checked_sub(cpu_before).unwrap();
    let writer = WriterStats::now().since(&writer_before);
    store.close().await.expect("close");
    Row::new(
        format!("append {events_per_call} ev/call"),
        tasks,
        events,
        elapsed,
    )
    .with_latency(&latency)
    .with_writer(writer)
    .with_cpu(cpu)
}

/// User and system CPU time of this process so far: every thread, sled's and tokio's
/// included.
fn process_cpu() -> Duration {
    complaintflow::loadtest::server::cpu_time(std::process::id()).unwrap_or_default()
}

async fn append_task(
    store: Arc<dyn EventStore>,
    task: u64,
    events_per_call: u64,
    deadline: Instant,
    quota: u64,
) -> TaskRun {
    let mut rng = StdRng::seed_from_u64(task);
    let mut streams = OwnStreams::new(format!("t{task}"));
    let mut run = TaskRun {
        events: 0,
        latency: latency_histogram(),
    };
    for _ in 0..quota {
        if Instant::now() >= deadline {
            break;
        }
        let (stream, expected) = streams.next();
        let events = complaint_events(&mut rng, stream, events_per_call);
        let started = Instant::now();
        let outcome = store
            .append(stream, expected, events)
            .await
            .expect("append");
        record_micros(&mut run.latency, started);
        run.events += events_per_call;
        streams.appended(outcome.last_version());
    }
    run
}

async fn join_runs(handles: Vec<tokio::task::JoinHandle<TaskRun>>) -> (u64, Histogram<u64>) {
    let mut events = 0;
    let mut latency = latency_histogram();
    for handle in handles {
        let run = handle.await.expect("benchmark task");
        events += run.events;
        latency.add(&run.latency).expect("same histogram bounds");
    }
    (events, latency)
}

// ---------------------------------------------------------------------------------------
// Scenarios 3 and 4: a store of `replay_events` events, replayed whole and read by stream.

async fn replay_scenarios(config: &Config, results: &mut Results) {
    let (dir, store) = fresh_store(config);
    let streams = config.replay_events / REPLAY_STREAM_LEN;
    fill(&store, config.fill_tasks, streams).await.print();
    store.close().await.expect("close");
    drop(store);

    let started = Instant::now();
    let store = SledStore::open(dir.path(), config.store_options()).expect("reopen");
    Row::new(
        "reopen (sled recovery)".into(),
        1,
        store.head(),
        started.elapsed(),
    )
    .with_unit("ev/s")
    .print();
    for pass in ["first after reopen", "second"] {
        let row = replay(&store).await;
        results.replay = Some(results.replay.unwrap_or(0.0).max(row.rate()));
        Row {
            label: format!("replay read_all, {pass}"),
            ..row
        }
        .print();
    }
    read_streams(&store, streams, config.stream_reads)
        .await
        .print();
    store.close().await.expect("close");
}

/// Fills the store with `streams` streams of `REPLAY_STREAM_LEN` events, in 10-event
/// appends from many tasks, in rounds, so that each stream's events are spread over the
/// log as a complaint's events would be.
async fn fill(store: &Arc<SledStore>, tasks: u64, streams: u64) -> Row {
    let writer_before = WriterStats::now();
    let started = Instant::now();
    let handles: Vec<_> = (0..tasks)
        .map(|task| tokio::spawn(fill_task(Arc::clone(store), task, tasks, streams)))
        .collect();
    let (events, latency) = join_runs(handles).await;
    let row = Row::new(
        format!("fill {FILL_EVENTS_PER_CALL} ev/call"),
        tasks,
        events,
        started.elapsed(),
    );
    row.with_latency(&latency)
        .with_writer(WriterStats::now().since(&writer_before))
}

async fn fill_task(store: Arc<SledStore>, task: u64, tasks: u64, streams: u64) -> TaskRun {
    let mut rng = StdRng::seed_from_u64(1_000_000 + task);
    let mut run = TaskRun {
        events: 0,
        latency: latency_histogram(),
    };
    for round in 0..REPLAY_STREAM_LEN / FILL_EVENTS_PER_CALL {
        for n in (task..streams).step_by(tasks as usize) {
            let stream = stream_id("fill", n);
            let expected = match round {
                0 => ExpectedVersion::NoStream,
                _ => ExpectedVersion::Exact(round * FILL_EVENTS_PER_CALL - 1),
            };
            let events = complaint_events(&mut rng, &stream, FILL_EVENTS_PER_CALL);
            let started = Instant::now();
            store.append(&stream, expected, events).await.expect("fill");
            record_micros(&mut run.latency, started);
            run.events += FILL_EVENTS_PER_CALL;
        }
    }
    run
}

/// Reads the whole global log in pages of `MAX_PAGE`; every envelope is decoded.
async fn replay(store: &SledStore) -> Row {
    let started = Instant::now();
    let mut next = 0;
    let mut payload_bytes = 0usize;
    loop {
        let page = store.read_all(next, MAX_PAGE).await.expect("read_all");
        let Some(last) = page.last() else { break };
        next = last.position + 1;
        payload_bytes += page
            .iter()
            .map(|e| black_box(e).payload.len())
            .sum::<usize>();
    }
    black_box(payload_bytes);
    assert_eq!(next, store.head(), "replay must reach the head");
    Row::new(String::new(), 1, next, started.elapsed())
}

async fn read_streams(store: &SledStore, streams: u64, reads: u64) -> Row {
    let mut rng = StdRng::seed_from_u64(42);
    let mut latency = latency_histogram();
    let started = Instant::now();
    for _ in 0..reads {
        let stream = stream_id("fill", rng.random_range(0..streams));
        let began = Instant::now();
        let events = store
            .read_stream(&stream, 0, Direction::Forwards, REPLAY_STREAM_LEN as usize)
            .await
            .expect("read_stream");
        record_micros(&mut latency, began);
        assert_eq!(
            events.len() as u64,
            REPLAY_STREAM_LEN,
            "{stream} is incomplete"
        );
    }
    Row::new(
        format!("read_stream {REPLAY_STREAM_LEN} events"),
        1,
        reads,
        started.elapsed(),
    )
    .with_unit("reads/s")
    .with_latency(&latency)
}

// ---------------------------------------------------------------------------------------
// The table.

struct Row {
    label: String,
    tasks: u64,
    count: u64,
    elapsed: Duration,
    unit: &'static str,
    p50: Option<u64>,
    p99: Option<u64>,
    writer: Option<WriterStats>,
    /// The whole process's CPU time over the run.
    cpu: Option<Duration>,
}

impl Row {
    fn new(label: String, tasks: u64, count: u64, elapsed: Duration) -> Self {
        Self {
            label,
            tasks,
            count,
            elapsed,
            unit: "ev/s",
            p50: None,
            p99: None,
            writer: None,
            cpu: None,
        }
    }

    fn with_unit(self, unit: &'static str) -> Self {
        Self { unit, ..self }
    }

    fn with_latency(self, latency: &Histogram<u64>) -> Self {
        Self {
            p50: Some(latency.value_at_quantile(0.50)),
            p99: Some(latency.value_at_quantile(0.99)),
            ..self
        }
    }

    fn with_writer(self, writer: WriterStats) -> Self {
        Self {
            writer: Some(writer),
            ..self
        }
    }

    fn with_cpu(self, cpu: Duration) -> Self {
        Self {
            cpu: Some(cpu),
            ..self
        }
    }

    fn rate(&self) -> f64 {
        self.count as f64 / self.elapsed.as_secs_f64()
    }

    fn print_heading() {
        println!(
            "{:<36} {:>5} {:>10} {:>8} {:>18} {:>10} {:>10} {:>8} {:>9} {:>10} {:>10}",
            "scenario",
            "tasks",
            "count",
            "secs",
            "rate",
            "p50",
            "p99",
            "groups",
            "ev/group",
            "commit",
            "cpu/ev"
        );
        println!("{}", "-".repeat(144));
    }

    fn print(&self) {
        let writer = self.writer.as_ref().map_or_else(
            || format!("{:>8} {:>9} {:>10}", "", "", ""),
            |w| {
                format!(
                    "{:>8} {:>9.1} {:>10}",
                    w.groups,
                    w.events_per_group(),
                    format_ms(w.mean_commit_ms())
                )
            },
        );
        let cpu = self.cpu.map_or(String::new(), |cpu| {
            format!(
                "{:.1} µs",
                cpu.as_secs_f64() * 1e6 / self.count.max(1) as f64
            )
        });
        println!(
            "{:<36} {:>5} {:>10} {:>8.2} {:>18} {:>10} {:>10} {writer} {cpu:>10}",
            self.label,
            self.tasks,
            self.count,
            self.elapsed.as_secs_f64(),
            format!("{:.0} {}", self.rate(), self.unit),
            self.p50.map_or(String::new(), format_micros),
            self.p99.map_or(String::new(), format_micros),
        );
    }
}

fn format_micros(micros: u64) -> String {
    if micros >= 10_000 {
        format!("{:.1} ms", micros as f64 / 1000.0)
    } else {
        format!("{micros} µs")
    }
}

fn format_ms(ms: f64) -> String {
    format!("{ms:.2} ms")
}

/// The figures compared against the targets.
#[derive(Default)]
struct Results {
    append_64_tasks: Option<f64>,
    replay: Option<f64>,
    /// `PgStore` and the baselines, 1 event per call, 64 tasks.
    pg_append_64_tasks: Option<f64>,
    message_db_64_tasks: Option<f64>,
    per_stream_lock_64_tasks: Option<f64>,
}

impl Results {
    fn record_append(&mut self, tasks: u64, events_per_call: u64, row: &Row) {
        if tasks == 64 && events_per_call == 1 {
            self.append_64_tasks = Some(row.rate());
        }
    }

    fn record_pg_append(&mut self, tasks: u64, events_per_call: u64, row: &Row) {
        if tasks == 64 && events_per_call == 1 {
            self.pg_append_64_tasks = Some(row.rate());
        }
    }

    fn record_baseline(&mut self, baseline: Baseline, tasks: u64, row: &Row) {
        if tasks == 64 {
            let rate = Some(row.rate());
            match baseline {
                Baseline::MessageDb => self.message_db_64_tasks = rate,
                Baseline::PerStreamLock => self.per_stream_lock_64_tasks = rate,
            }
        }
    }

    fn print_targets(&self) {
        println!();
        println!("targets:");
        if let (Some(pg), Some(baseline)) = (self.pg_append_64_tasks, self.message_db_64_tasks) {
            print_target(
                &format!(
                    "pg append 1 ev/call, 64 tasks: {:.1}x message-db's {baseline:.0} ev/s, target 3x",
                    pg / baseline
                ),
                pg,
                3.0 * baseline,
            );
        }
        if let (Some(pg), Some(variant)) = (self.pg_append_64_tasks, self.per_stream_lock_64_tasks)
        {
            println!(
                "  pg append 1 ev/call, 64 tasks: {:.1}x the per-stream-lock variant's {variant:.0} ev/s \
                 (positions out of commit order: no target)",
                pg / variant
            );
        }
        if let Some(rate) = self.append_64_tasks {
            print_target("append 1 ev/call, 64 tasks", rate, APPEND_TARGET);
        }
        if let Some(rate) = self.replay {
            print_target("full replay (best pass)", rate, REPLAY_TARGET);
        }
        println!(
            "(ev/group and commit: the writer's mean group size and mean apply_batch + flush time per group;"
        );
        println!(" cpu/ev: the CPU time of the whole process, every thread, per event stored)");
    }
}

fn print_target(what: &str, rate: f64, target: f64) {
    let verdict = if rate >= target {
        "met".to_owned()
    } else {
        format!(
            "MISSED by {:.0}% ({:.1}x short)",
            100.0 * (1.0 - rate / target),
            target / rate
        )
    };
    println!("  {what:<28} {rate:>12.0} ev/s   target >= {target:.0} ev/s: {verdict}");
}

// ---------------------------------------------------------------------------------------
// The writer's metrics, captured in process.

const COMMIT_SECONDS: &str = "complaintflow_store_commit_seconds";
const GROUP_EVENTS: &str = "complaintflow_store_group_events";

/// Count and sum of one histogram metric.
struct Sum(Mutex<(u64, f64)>);

impl Sum {
    const fn new() -> Self {
        Self(Mutex::new((0, 0.0)))
    }

    fn get(&self) -> (u64, f64) {
        *self.0.lock().expect("metrics lock")
    }
}

static COMMITS: Sum = Sum::new();
static GROUPS: Sum = Sum::new();

struct SumRef(&'static Sum);

impl metrics::HistogramFn for SumRef {
    fn record(&self, value: f64) {
        let mut sum = self.0.0.lock().expect("metrics lock");
        sum.0 += 1;
        sum.1 += value;
    }
}

/// Keeps the two writer histograms; drops everything else.
struct WriterStatsRecorder;

impl metrics::Recorder for WriterStatsRecorder {
    fn describe_counter(
        &self,
        _: metrics::KeyName,
        _: Option<metrics::Unit>,
        _: metrics::SharedString,
    ) {
    }
    fn describe_gauge(
        &self,
        _: metrics::KeyName,
        _: Option<metrics::Unit>,
        _: metrics::SharedString,
    ) {
    }
    fn describe_histogram(
        &self,
        _: metrics::KeyName,
        _: Option<metrics::Unit>,
        _: metrics::SharedString,
    ) {
    }

    fn register_counter(&self, _: &metrics::Key, _: &metrics::Metadata<'_>) -> metrics::Counter {
        metrics::Counter::noop()
    }

    fn register_gauge(&self, _: &metrics::Key, _: &metrics::Metadata<'_>) -> metrics::Gauge {
        metrics::Gauge::noop()
    }

    fn register_histogram(
        &self,
        key: &metrics::Key,
        _: &metrics::Metadata<'_>,
    ) -> metrics::Histogram {
        match key.name() {
            COMMIT_SECONDS => metrics::Histogram::from_arc(Arc::new(SumRef(&COMMITS))),
            GROUP_EVENTS => metrics::Histogram::from_arc(Arc::new(SumRef(&GROUPS))),
            _ => metrics::Histogram::noop(),
        }
    }
}

/// What the writer did over a scenario.
struct WriterStats {
    groups: u64,
    events: f64,
    commit_seconds: f64,
}

impl WriterStats {
    fn now() -> Self {
        let (groups, events) = GROUPS.get();
        Self {
            groups,
            events,
            commit_seconds: COMMITS.get().1,
        }
    }

    fn since(&self, before: &Self) -> Self {
        Self {
            groups: self.groups - before.groups,
            events: self.events - before.events,
            commit_seconds: self.commit_seconds - before.commit_seconds,
        }
    }

    fn events_per_group(&self) -> f64 {
        self.events / self.groups.max(1) as f64
    }

    fn mean_commit_ms(&self) -> f64 {
        1000.0 * self.commit_seconds / self.groups.max(1) as f64
    }
}
