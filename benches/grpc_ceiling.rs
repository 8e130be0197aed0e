//! The ceiling of gRPC itself on this machine: how many calls per second tonic serves
//! over loopback when each call does nothing, with the clients on the same machine as the
//! load generator puts them (`complaintflow loadtest`).
//!
//! `cargo bench --bench grpc_ceiling` starts a tonic server with only the standard health
//! service on an ephemeral port, then 64 tasks over 8 HTTP/2 connections call
//! `grpc.health.v1.Health/Check` for 8 seconds. Whatever a complaintflow call costs comes
//! on top of this. `COMPLAINTFLOW_BENCH_SECONDS`, `COMPLAINTFLOW_BENCH_TASKS` and
//! `COMPLAINTFLOW_BENCH_CONNECTIONS` change the run.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test or benchmark stops at the first surprise"
)]

use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use tokio::net::TcpListener;
use tokio_stream::wrappers::TcpListenerStream;
use tonic::transport::{Endpoint, Server};
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_client::HealthClient;

/// The allocator the `complaintflow` binary runs with.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn setting(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(default)
}

/// User and system CPU time of this process so far: every thread, sled's and tokio's
/// included.
fn process_cpu() -> Duration {
    complaintflow::loadtest::server::cpu_time(std::process::id()).unwrap_or_default()
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let seconds = setting("COMPLAINTFLOW_BENCH_SECONDS", 8);
    let tasks = setting("COMPLAINTFLOW_BENCH_TASKS", 64);
    let connections = setting("COMPLAINTFLOW_BENCH_CONNECTIONS", 8).max(1);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let address = listener.local_addr()?;
        let (_reporter, health) = tonic_health::server::health_reporter();
        tokio::spawn(
            Server::builder()
                .add_service(health)
                .serve_with_incoming(TcpListenerStream::new(listener)),
        );
        let mut clients = Vec::new();
        for _ in 0..connections {
            let channel = Endpoint::from_shared(format!("http://{address}"))?
                .tcp_nodelay(true)
                .connect()
                .await?;
            clients.push(HealthClient::new(channel));
        }
        let cpu_before = process_cpu();
        let started = Instant::now();
        let until = started + Duration::from_secs(seconds);
        let runs: Vec<_> = (0..tasks)
            .map(|task| {
                let mut client = clients[task as usize % clients.len()].clone();
                tokio::spawn(async move {
                    let mut latency = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3)?;
                    while Instant::now() < until {
                        let call = Instant::now();
                        client.check(HealthCheckRequest::default()).await?;
                        latency.saturating_record(call.elapsed().as_micros().max(1) as u64);
                    }
                    Ok::<_, Box<dyn std::error::Error + Send + Sync>>(latency)
                })
            })
            .collect();
        let mut latency = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3)?;
        for run in runs {
            latency.add(run.await?.map_err(|e| e.to_string())?)?;
        }
        let elapsed = started.elapsed().as_secs_f64();
        let cpu = process_cpu().checked_sub(cpu_before).unwrap();
        println!("gRPC ceiling: grpc.health.v1.Health/Check over loopback, server and clients on this machine");
        println!(
            "machine: {} cores; {tasks} tasks over {connections} connections for {seconds} s",
            std::thread::available_parallelism().map_or(0, std::num::NonZero::get)
        );
        println!(
            "{} calls, {:.0} calls/s, p50 {} µs, p99 {} µs",
            latency.len(),
            latency.len() as f64 / elapsed,
            latency.value_at_quantile(0.5),
            latency.value_at_quantile(0.99)
        );
        println!(
            "CPU: {:.1} µs per call, server and client together ({:.2} of the machine's cores busy)",
            cpu.as_secs_f64() * 1e6 / latency.len() as f64,
            cpu.as_secs_f64() / elapsed
        );
        Ok::<_, Box<dyn std::error::Error>>(())
    })
}
