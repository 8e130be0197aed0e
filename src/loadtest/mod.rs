//! The load generator behind `complaintflow loadtest`: many concurrent dealer systems,
//! each filing complaints and working them to resolution through the gRPC API, with
//! timeline queries in between; measured per method, with the server's CPU, memory
//! and group-commit figures alongside.
//!
//! Only loopback targets are accepted: this is a tool for measuring a server on the
//! same machine, and it must never become a way to flood someone else's.

pub mod client;
pub mod lag;
pub mod metrics;
pub mod report;
pub mod server;
pub mod session;
pub mod stats;
pub mod workload;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use rand::SeedableRng;
use rand::rngs::StdRng;

use self::client::{BearerAuth, ComplaintClient};
use self::metrics::{Scrape, ServerFigures};
use self::report::{Report, ServerReport};
use self::server::SpawnedServer;
use self::stats::{Method, Tally};

/// Where the load goes.
#[derive(Debug, Clone)]
pub enum Target {
    /// A server that is already running.
    Running {
        /// One node, or several serving one database: connections go round them.
        addresses: Vec<SocketAddr>,
        token: String,
        /// Its process id, for CPU and peak memory.
        pid: Option<u32>,
        /// Its Prometheus endpoint, for the group-commit figures.
        metrics: Option<SocketAddr>,
    },
    /// Start `binary serve` in a temporary directory, and throw it away afterwards.
    Spawn { binary: PathBuf },
}

#[derive(Debug, Clone)]
pub struct LoadConfig {
    pub target: Target,
    /// Concurrent virtual dealer systems.
    pub clients: usize,
    /// HTTP/2 connections the clients are spread over.
    pub connections: usize,
    /// The measured time.
    pub duration: Duration,
    /// Load before the measured time, not counted.
    pub warmup: Duration,
    /// Timeline queries per complaint: 0, 1 (the events at the end) or 2 (the
    /// complaint after the first contact as well).
    pub reads_per_complaint: u32,
    /// Seeds the shape of every client's complaints (dealers, categories, notes).
    /// Request ids are always fresh, so that runs against one server never collide.
    pub seed: u64,
    /// Draw a progress bar on stderr.
    pub progress: bool,
    /// With two nodes or more: probe, this often, how long an append through the first
    /// takes to show on the second (see [`lag`]).
    pub lag_probe: Option<Duration>,
}

/// A run longer than this is a mistake, not a load test.
pub const MAX_DURATION: Duration = Duration::from_secs(3600);

/// Runs the load and measures it.
pub async fn run(config: LoadConfig) -> Result<Report, String> {
    validate(&config)?;
    // Held until the end: dropping it kills the server and removes its directory.
    let mut spawned = None;
    let (addresses, token, pid, metrics_at) = match &config.target {
        Target::Running {
            addresses,
            token,
            pid,
            metrics,
        } => (addresses.clone(), token.clone(), *pid, *metrics),
        Target::Spawn { binary } => {
            let binary = binary.clone();
            let server = tokio::task::spawn_blocking(move || SpawnedServer::start(&binary))
                .await
                .map_err(|e| e.to_string())??;
            let found = (
                vec![server.address],
                server.token.clone(),
                Some(server.pid()),
                Some(server.metrics),
            );
            spawned = Some(server);
            found
        }
    };
    if let Some(address) = addresses.iter().find(|a| !a.ip().is_loopback()) {
        return Err(format!(
            "{address} is not a loopback address: the load generator only targets this machine"
        ));
    }
    let Some(&address) = addresses.first() else {
        return Err("no target to load".into());
    };
    let auth = BearerAuth::new(&token)?;
    let mut connections = Vec::with_capacity(config.connections);
    for (_, &address) in (0..config.connections).zip(addresses.iter().cycle()) {
        let client = client::connect(address, auth.clone())
            .await
            .map_err(|e| format!("cannot connect to {address}: {e}"))?;
        connections.push(client);
    }

    let start = Instant::now();
    let measure_from = start + config.warmup;
    let shared = session::Shared {
        deadline: measure_from + config.duration,
        events: Arc::new(AtomicU64::new(0)),
        reads_per_complaint: config.reads_per_complaint,
    };
    let clients = spawn_clients(&config, &connections, &shared, measure_from);
    let progress = config
        .progress
        .then(|| spawn_progress(&config, &shared, start));
    let lag = match (config.lag_probe, addresses.get(1)) {
        (Some(every), Some(&to)) => Some(tokio::spawn(lag::probe(
            address,
            to,
            auth.clone(),
            every,
            shared.deadline,
        ))),
        (Some(_), None) => return Err("the lag probe needs two targets or more".into()),
        (None, _) => None,
    };

    // The process and metrics figures are taken at the same two moments as the
    // clients' window: the end of the warm-up and the last answer.
    tokio::time::sleep_until(measure_from.into()).await;
    let before = Sample::take(pid, metrics_at).await;
    let mut tally = Tally::new(measure_from);
    for client in clients {
        tally.merge(
            client
                .await
                .map_err(|e| format!("a client task failed: {e}"))?,
        );
    }
    let after = Sample::take(pid, metrics_at).await;
    if let Some(progress) = progress {
        let _ = progress.await;
    }
    let lag = match lag {
        Some(probe) => Some(
            probe
                .await
                .map_err(|e| format!("the lag probe failed: {e}"))??,
        ),
        None => None,
    };

    let server = ServerReport {
        pid,
        peak_rss_kib: pid.and_then(server::peak_rss_kib),
        cpu: after
            .server_cpu
            .zip(before.server_cpu)
            .map(|(a, b)| a.saturating_sub(b)),
        disk_writes: after
            .server_disk_writes
            .zip(before.server_disk_writes)
            .map(|(a, b)| a.saturating_sub(b)),
        figures: after
            .scrape
            .as_ref()
            .zip(before.scrape.as_ref())
            .map(|(a, b)| ServerFigures::between(b, a)),
        threads: match (pid, &before.threads, &after.threads) {
            (Some(_), b, a) => server::thread_usage(b, a),
            _ => Vec::new(),
        },
        means: match (&before.scrape, &after.scrape) {
            (Some(b), Some(a)) => Method::ALL
                .into_iter()
                .filter_map(|method| Some((method, metrics::server_mean(b, a, method.name())?)))
                .collect(),
            _ => Vec::new(),
        },
    };
    drop(spawned);
    Ok(Report {
        target: address,
        nodes: addresses.len(),
        lag,
        spawned: matches!(config.target, Target::Spawn { .. }),
        clients: config.clients,
        connections: config.connections,
        warmup: config.warmup,
        tally,
        server,
        client_cpu: after
            .own_cpu
            .zip(before.own_cpu)
            .map(|(a, b)| a.saturating_sub(b)),
        machine_busy: after
            .machine_busy
            .zip(before.machine_busy)
            .map(|(a, b)| a.saturating_sub(b)),
    })
}

fn validate(config: &LoadConfig) -> Result<(), String> {
    if config.clients == 0 || config.connections == 0 {
        return Err("--clients and --connections must be at least 1".into());
    }
    if config.duration.is_zero() || config.duration + config.warmup > MAX_DURATION {
        return Err(format!(
            "the run must last between 0 and {} s",
            MAX_DURATION.as_secs()
        ));
    }
    Ok(())
}

fn spawn_clients(
    config: &LoadConfig,
    connections: &[ComplaintClient],
    shared: &session::Shared,
    measure_from: Instant,
) -> Vec<tokio::task::JoinHandle<Tally>> {
    (0..config.clients)
        .map(|index| {
            let client = connections[index % connections.len()].clone();
            let rng = StdRng::seed_from_u64(
                config.seed ^ (index as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15),
            );
            tokio::spawn(session::run(
                client,
                rng,
                shared.clone(),
                Tally::new(measure_from),
            ))
        })
        .collect()
}

/// A bar over the whole run with the live events/s; hidden when stderr is not a
/// terminal. It clears itself at the deadline, before the report is printed.
fn spawn_progress(
    config: &LoadConfig,
    shared: &session::Shared,
    start: Instant,
) -> tokio::task::JoinHandle<()> {
    let total = config.warmup + config.duration;
    let bar = indicatif::ProgressBar::new(total.as_millis() as u64);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{bar:40} {elapsed}/{duration} {msg}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let (events, deadline) = (shared.events.clone(), shared.deadline);
    tokio::spawn(async move {
        let mut last = (Instant::now(), 0u64);
        while Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(500)).await;
            let now = Instant::now();
            let count = events.load(Ordering::Relaxed);
            let rate = (count - last.1) as f64 / now.duration_since(last.0).as_secs_f64();
            last = (now, count);
            bar.set_position(now.duration_since(start).as_millis().min(total.as_millis()) as u64);
            bar.set_message(format!("{count} events, {rate:.0} events/s"));
        }
        bar.finish_and_clear();
    })
}

/// CPU times and the server's metrics at one moment.
struct Sample {
    server_cpu: Option<Duration>,
    server_disk_writes: Option<u64>,
    threads: Vec<server::ThreadTimes>,
    own_cpu: Option<Duration>,
    machine_busy: Option<Duration>,
    scrape: Option<Scrape>,
}

impl Sample {
    async fn take(pid: Option<u32>, metrics: Option<SocketAddr>) -> Self {
        let scrape = match metrics {
            Some(address) => tokio::task::spawn_blocking(move || Scrape::fetch(address).ok())
                .await
                .ok()
                .flatten(),
            None => None,
        };
        Self {
            server_cpu: pid.and_then(server::cpu_time),
            server_disk_writes: pid.and_then(server::disk_writes),
            threads: pid.map(server::thread_times).unwrap_or_default(),
            own_cpu: server::cpu_time(std::process::id()),
            machine_busy: server::machine_busy(),
            scrape,
        }
    }
}
