//! `complaintflow loadtest`: drives a server on this machine with concurrent dealer
//! systems and prints events/s, latency per method, errors, and the server's CPU and
//! peak memory. The work is in [`crate::loadtest`].

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use std::io::IsTerminal;

use crate::loadtest::{self, LoadConfig, Target};

#[derive(Debug, clap::Args)]
pub(super) struct LoadtestArgs {
    /// The server's gRPC address (loopback only). Repeat it for several nodes serving one
    /// database: the connections go round them.
    #[arg(
        long,
        default_value = "127.0.0.1:50051",
        conflicts_with = "spawn_server"
    )]
    target: Vec<SocketAddr>,
    /// A file holding a token that may file complaints in region EAST (e.g. the admin token).
    #[arg(
        long,
        default_value = "data/admin.token",
        conflicts_with = "spawn_server"
    )]
    token_file: PathBuf,
    /// Start a server of this binary in a temporary directory instead, and report its
    /// CPU, peak memory and group-commit figures.
    #[arg(long)]
    spawn_server: bool,
    /// The target server's process id, for its CPU time and peak memory.
    #[arg(long, conflicts_with = "spawn_server")]
    server_pid: Option<u32>,
    /// The target server's Prometheus address, for its group-commit figures.
    #[arg(long, conflicts_with = "spawn_server")]
    server_metrics: Option<SocketAddr>,
    /// Concurrent virtual dealer systems.
    #[arg(long, default_value_t = 64)]
    clients: usize,
    /// HTTP/2 connections they share [default: one per 8 clients, at most 16].
    #[arg(long)]
    connections: Option<usize>,
    /// Measured time: 20s, 500ms, 2m, 1m30s.
    #[arg(long, default_value = "20s", value_parser = super::duration::positive_std)]
    duration: Duration,
    /// Load before the measured time, not counted.
    #[arg(long, default_value = "2s", value_parser = super::duration::positive_std)]
    warmup: Duration,
    /// Timeline queries per complaint: 0, 1 (ListComplaintEvents) or 2 (and GetComplaint).
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u32).range(0..=2))]
    reads_per_complaint: u32,
    /// Seed of the generated requests.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// With two targets or more: every this often, append through the first and time
    /// how long the event takes to show in the second's queries and subscriptions.
    #[arg(long, value_parser = super::duration::positive_std, conflicts_with = "spawn_server")]
    lag_probe: Option<Duration>,
    /// Exit 1 unless at least this many events/s were durably appended.
    #[arg(long)]
    expect_events_per_second: Option<f64>,
    /// Exit 1 unless the p99 of writes (FileComplaint and AppendEvents) is at most this.
    #[arg(long, value_parser = super::duration::positive_std)]
    expect_write_p99: Option<Duration>,
}

pub(super) async fn run(args: LoadtestArgs) -> Result<ExitCode, Box<dyn std::error::Error>> {
    let target = if args.spawn_server {
        Target::Spawn {
            binary: std::env::current_exe()?,
        }
    } else {
        let token = std::fs::read_to_string(&args.token_file).map_err(|e| {
            format!(
                "cannot read the token file {}: {e}",
                args.token_file.display()
            )
        })?;
        Target::Running {
            addresses: args.target,
            token: token.trim().to_owned(),
            pid: args.server_pid,
            metrics: args.server_metrics,
        }
    };
    let config = LoadConfig {
        target,
        clients: args.clients,
        connections: args
            .connections
            .unwrap_or(args.clients.div_ceil(8).clamp(1, 16)),
        duration: args.duration,
        warmup: args.warmup,
        reads_per_complaint: args.reads_per_complaint,
        seed: args.seed,
        progress: std::io::stderr().is_terminal(),
        lag_probe: args.lag_probe,
    };
    let report = loadtest::run(config).await?;
    print!("{report}");

    let mut met = true;
    if let Some(minimum) = args.expect_events_per_second
        && report.events_per_second() < minimum
    {
        println!(
            "FAIL: {:.0} events/s, expected at least {minimum:.0}",
            report.events_per_second()
        );
        met = false;
    }
    if let Some(limit) = args.expect_write_p99 {
        let p99 = report.writes().map_or(Duration::MAX, |s| s.p99);
        if p99 > limit {
            println!("FAIL: write p99 {p99:?}, expected at most {limit:?}");
            met = false;
        }
    }
    Ok(if met {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
