//! Workflow benchmarks (custom harness; prints a table):
//! - the projection rebuild over a generated history of about 1,000,000 events, with a
//!   breakdown of where the time goes;
//! - the deadline index with about 1,000,000 pending timers: start-up recovery (open
//!   the projections, find every timer due after downtime) and firing through
//!   `Scheduler::fire_due`.
//!
//! Generated logs are cached under `target/bench-data/`, keyed by size and seed, so
//! reruns skip generation. `COMPLAINTFLOW_BENCH_QUICK=1` runs tiny sizes.
//! Run: `cargo bench --bench workflow`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test or benchmark stops at the first surprise"
)]

use complaintflow_log::LogReader;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use complaintflow::demo::{DemoConfig, Mix, Planner, generate};
use complaintflow_domain::values::ComplaintId;
use complaintflow_domain::{ComplaintState, Obligations, Policy};
use complaintflow_log::clock::{Clock, ManualClock};
use complaintflow_log::{EventStore, MAX_PAGE, RecordedEvent};
use complaintflow_server::engine::{Engine, codec};
use complaintflow_server::projections::{ComplaintRecord, Projections};
use complaintflow_server::timers::Scheduler;
use complaintflow_store_sled::{SledOptions, SledStore};
use jiff::SignedDuration;

/// The allocator the `complaintflow` binary runs with, so the figures are the server's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

type BenchResult<T> = Result<T, Box<dyn std::error::Error>>;

const SEED: u64 = 20_260_105;
const REBUILD_TARGET: f64 = 500_000.0;

struct Sizes {
    /// Events in the rebuild history (at least).
    rebuild_events: usize,
    /// Complaints in the backlog (about four pending timers each).
    backlog_complaints: usize,
    /// Timers to fire through the scheduler.
    fire_timers: usize,
}

impl Sizes {
    fn from_env() -> Self {
        match std::env::var("COMPLAINTFLOW_BENCH_QUICK").as_deref() {
            Ok("1") => Sizes {
                rebuild_events: 20_000,
                backlog_complaints: 2_000,
                fire_timers: 200,
            },
            _ => Sizes {
                rebuild_events: 1_000_000,
                backlog_complaints: 270_000,
                fire_timers: 20_000,
            },
        }
    }
}

/// One row of the printed table.
struct Row {
    what: String,
    size: String,
    time: Duration,
    rate: String,
}

impl Row {
    fn new(what: &str, size: String, time: Duration, rate: String) -> Self {
        Self {
            what: what.to_owned(),
            size,
            time,
            rate,
        }
    }
}

fn per_second(count: u64, time: Duration) -> String {
    format!("{:.0}/s", count as f64 / time.as_secs_f64().max(1e-9))
}

fn data_root() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("target"),
        PathBuf::from,
    );
    target.join("bench-data")
}

fn open_store(path: &Path, clock: &ManualClock) -> BenchResult<Arc<SledStore>> {
    let options = SledOptions {
        clock: Arc::new(clock.clone()),
        ..SledOptions::default()
    };
    Ok(Arc::new(SledStore::open(path, options)?))
}

/// A generated log (and caught-up projections) in `dir`, made once and then reused.
async fn cached_history(dir: &Path, config: &DemoConfig, rows: &mut Vec<Row>) -> BenchResult<()> {
    let done = dir.join("complete");
    let policy = Arc::new(Policy::builtin());
    let clock = ManualClock::new(config.start);
    let store = if done.exists() {
        println!("reusing {}", dir.display());
        open_store(&dir.join("log"), &clock)?
    } else {
        if dir.exists() {
            std::fs::remove_dir_all(dir)?;
        }
        println!(
            "generating {} complaints into {} ...",
            config.complaints,
            dir.display()
        );
        let store = open_store(&dir.join("log"), &clock)?;
        let engine = Engine::new(store.clone(), policy.clone(), Arc::new(clock.clone()));
        let summary = generate(&engine, &clock, config, |_| {}).await?;
        println!("{summary}");
        let what = format!("generate ({:?} mix)", config.mix);
        let size = format!(
            "{} complaints, {} events",
            summary.complaints, summary.events
        );
        rows.push(Row::new(
            &what,
            size,
            summary.elapsed,
            per_second(summary.events as u64, summary.elapsed),
        ));
        std::fs::write(&done, summary.to_string())?;
        store
    };
    // Brings the cached read models up to date (a no-op unless their layout changed).
    let projections = Projections::open(dir.join("projections"), policy)?;
    projections.catch_up(store.as_ref(), |_, _| {}).await?;
    projections.flush().await?;
    store.close().await?;
    Ok(())
}

/// Complaints that make about `events` events (from the mean of a planned sample).
fn complaints_for(events: usize, config: &DemoConfig) -> BenchResult<usize> {
    let policy = Policy::builtin();
    let sample = DemoConfig {
        complaints: 400,
        ..config.clone()
    };
    let planner = Planner::new(&sample, &policy)?;
    let mut planned = 0;
    for (number, at) in planner.filing_times().into_iter().enumerate() {
        planned += planner.plan(number, at)?.events.len();
    }
    let mean = planned as f64 / sample.complaints as f64;
    Ok((events as f64 / mean * 1.05).ceil() as usize)
}

async fn read_whole_log(
    store: &dyn EventStore,
    mut each: impl FnMut(&[RecordedEvent]),
) -> BenchResult<u64> {
    let mut next = 0;
    loop {
        let page = store.read_all(next, MAX_PAGE).await?;
        let Some(last) = page.last() else {
            return Ok(next);
        };
        next = last.position + 1;
        each(&page);
    }
}

/// Where a rebuild spends its time, layer by layer, without the projections' writes.
async fn rebuild_breakdown(
    store: &dyn EventStore,
    policy: &Policy,
    rows: &mut Vec<Row>,
) -> BenchResult<()> {
    let started = Instant::now();
    let events = read_whole_log(store, |_| {}).await?;
    rows.push(Row::new(
        "  of which: read the log",
        events.to_string(),
        started.elapsed(),
        per_second(events, started.elapsed()),
    ));

    let started = Instant::now();
    let mut states: HashMap<ComplaintId, Option<ComplaintState>> = HashMap::new();
    let mut deadline_work = Duration::ZERO;
    read_whole_log(store, |page| {
        for recorded in page {
            let (Ok(event), Ok(id)) = (
                codec::domain_event(recorded),
                ComplaintId::parse(recorded.stream.as_str()),
            ) else {
                continue;
            };
            let state = states.entry(id).or_default();
            // Like the projections: only the open deadlines are kept from before.
            let timed = Instant::now();
            let owed = state
                .as_ref()
                .filter(|_| event.event.may_meet_deadlines())
                .map(|before| Obligations::of(before, policy));
            deadline_work += timed.elapsed();
            complaintflow_domain::apply(state, &event.event, &event.meta);
            if let (Some(owed), Some(after)) = (&owed, &*state) {
                let timed = Instant::now();
                owed.met_by(after, event.meta.occurred_at, policy);
                deadline_work += timed.elapsed();
            }
        }
    })
    .await?;
    // Like the projections: each complaint's deadlines worked out once, at the end.
    let timed = Instant::now();
    for state in states.into_values().flatten() {
        ComplaintRecord::new(state, policy);
    }
    deadline_work += timed.elapsed();
    let total = started.elapsed();
    rows.push(Row::new(
        "  of which: + decode, fold, deadlines (one core)",
        events.to_string(),
        total,
        per_second(events, total),
    ));
    rows.push(Row::new(
        "    (deadlines alone: met per event + records)",
        events.to_string(),
        deadline_work,
        per_second(events, deadline_work),
    ));
    Ok(())
}

async fn bench_rebuild(sizes: &Sizes, rows: &mut Vec<Row>) -> BenchResult<()> {
    let base = DemoConfig {
        seed: SEED,
        concurrency: 512,
        days: 120,
        ..DemoConfig::default()
    };
    let complaints = complaints_for(sizes.rebuild_events, &base)?;
    let config = DemoConfig { complaints, ..base };
    let dir = data_root().join(format!("workflow-{complaints}-{SEED}"));
    cached_history(&dir, &config, rows).await?;

    let clock = ManualClock::new(config.end());
    let store = open_store(&dir.join("log"), &clock)?;
    let policy = Arc::new(Policy::builtin());
    let started = Instant::now();
    let projections = Projections::open_empty(dir.join("projections"), policy.clone())?;
    let applied = projections.catch_up(store.as_ref(), |_, _| {}).await?;
    let time = started.elapsed();
    let rate = applied as f64 / time.as_secs_f64();
    let verdict = if rate >= REBUILD_TARGET {
        "meets"
    } else {
        "MISSES"
    };
    let rate_text = format!(
        "{} ({verdict} the 500000/s target)",
        per_second(applied, time)
    );
    rows.push(Row::new(
        "projection rebuild (open empty + catch_up: read models ready)",
        format!("{applied} events"),
        time,
        rate_text,
    ));
    let started = Instant::now();
    projections.flush().await?;
    let saved = started.elapsed();
    let total = time + saved;
    rows.push(Row::new(
        "  then: save the read-model snapshot (flush)",
        String::new(),
        saved,
        format!("{} with it", per_second(applied, total)),
    ));
    rebuild_breakdown(store.as_ref(), &policy, rows).await?;
    store.close().await?;
    Ok(())
}

fn copy_dir(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_dir(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), target)?;
        }
    }
    Ok(())
}

async fn bench_timers(sizes: &Sizes, rows: &mut Vec<Row>) -> BenchResult<()> {
    let config = DemoConfig {
        complaints: sizes.backlog_complaints,
        seed: SEED,
        days: 28,
        concurrency: 1024,
        mix: Mix::Backlog,
        ..DemoConfig::default()
    };
    let cached = data_root().join(format!("backlog-{}-{SEED}", config.complaints));
    cached_history(&cached, &config, rows).await?;
    // Firing changes the data: work on a copy.
    let work = tempfile::tempdir_in(data_root())?;
    copy_dir(&cached, work.path())?;

    let clock = ManualClock::new(config.end());
    let started = Instant::now();
    let store = open_store(&work.path().join("log"), &clock)?;
    rows.push(Row::new(
        "start-up: open the log",
        format!("{} events", store.head()),
        started.elapsed(),
        String::new(),
    ));
    let started = Instant::now();
    let policy = Arc::new(Policy::builtin());
    let projections = Arc::new(Projections::open(
        work.path().join("projections"),
        policy.clone(),
    )?);
    let pending = projections.pending_timers();
    let size = format!("{pending} pending timers");
    rows.push(Row::new(
        "start-up: open the projections (load their snapshot)",
        size,
        started.elapsed(),
        String::new(),
    ));
    let started = Instant::now();
    projections.catch_up(store.as_ref(), |_, _| {}).await?;
    rows.push(Row::new(
        "start-up: catch up (nothing new)",
        String::new(),
        started.elapsed(),
        String::new(),
    ));

    // Downtime: every timer is due now.
    let far = config
        .end()
        .checked_add(SignedDuration::from_hours(24 * 365))?;
    let started = Instant::now();
    let due = projections.due_timers(far, usize::MAX)?;
    let time = started.elapsed();
    rows.push(Row::new(
        "start-up: find all due timers",
        format!("{} timers", due.len()),
        time,
        per_second(due.len() as u64, time),
    ));

    // Fire the earliest `fire_timers` (and whatever they make due by then): the clock
    // stands at the due moment of the last of them.
    let until = due
        .get(sizes.fire_timers.min(due.len()).saturating_sub(1))
        .map_or(far, |t| t.moment.at);
    drop(due);
    clock.set(until);
    let engine = Arc::new(Engine::new(store.clone(), policy, Arc::new(clock.clone())));
    let follower = tokio::spawn(
        projections
            .clone()
            .follow(store.clone() as Arc<dyn EventStore>),
    );
    let scheduler = Scheduler::new(engine, projections.clone());
    let started = Instant::now();
    let report = scheduler.fire_due().await?;
    let time = started.elapsed();
    let size = format!(
        "{} fired, {} stale, {} events",
        report.fired, report.skipped, report.events
    );
    rows.push(Row::new(
        "fire due timers (Scheduler::fire_due)",
        size,
        time,
        per_second((report.fired + report.skipped) as u64, time),
    ));
    follower.abort();
    store.close().await?;
    println!("clock {} -> {}", config.end(), clock.now());
    Ok(())
}

fn print_table(rows: &[Row]) {
    println!();
    println!("| benchmark | size | time | rate |");
    println!("|---|---|---:|---:|");
    for row in rows {
        println!(
            "| {} | {} | {:.2} s | {} |",
            row.what,
            row.size,
            row.time.as_secs_f64(),
            row.rate
        );
    }
}

fn main() -> BenchResult<()> {
    // As the `complaintflow` binary runs.
    complaintflow::process::disable_transparent_huge_pages();
    let sizes = Sizes::from_env();
    let cpus = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    println!("complaintflow workflow benchmarks");
    println!(
        "machine: {cpus} CPUs (nproc); command: {}",
        std::env::args().collect::<Vec<_>>().join(" ")
    );
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let mut rows = Vec::new();
    // `COMPLAINTFLOW_BENCH_ONLY=rebuild` or `=timers` runs one part (e.g. under perf).
    let only = std::env::var("COMPLAINTFLOW_BENCH_ONLY").unwrap_or_default();
    runtime.block_on(async {
        if only.is_empty() || only == "rebuild" {
            bench_rebuild(&sizes, &mut rows).await?;
        }
        if only.is_empty() || only == "timers" {
            bench_timers(&sizes, &mut rows).await?;
        }
        BenchResult::Ok(())
    })?;
    print_table(&rows);
    Ok(())
}
