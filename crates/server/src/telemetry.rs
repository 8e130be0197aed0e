//! Logs and metrics: structured `tracing` logs (text or JSON) and a Prometheus exporter on
//! its own port.

use std::net::SocketAddr;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder};
use tracing_subscriber::EnvFilter;

use crate::config::LogFormat;

/// Installs the global log subscriber. `COMPLAINTFLOW_LOG` (or `RUST_LOG`) sets the filter,
/// `info` by default.
pub fn init_logging(format: LogFormat) {
    let filter = EnvFilter::try_from_env("COMPLAINTFLOW_LOG")
        .or_else(|_| EnvFilter::try_from_default_env())
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .try_init(),
    };
}

/// Durations, in seconds: from a fast read to a slow snapshot.
const SECONDS_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];
/// Events per group commit: one lone append up to the writer's largest groups.
const GROUP_EVENTS_BUCKETS: &[f64] = &[
    1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0, 1024.0, 4096.0,
];

/// Starts the Prometheus endpoint (`GET /metrics`) and describes the engine's metrics.
pub(crate) fn init_metrics(listen: SocketAddr) -> Result<(), String> {
    PrometheusBuilder::new()
        .with_http_listener(listen)
        .set_buckets(SECONDS_BUCKETS)
        .and_then(|builder| {
            builder.set_buckets_for_metric(
                Matcher::Full("complaintflow_store_group_events".into()),
                GROUP_EVENTS_BUCKETS,
            )
        })
        .map_err(|e| e.to_string())?
        .install()
        .map_err(|e| format!("cannot start the metrics endpoint on {listen}: {e}"))?;
    describe_metrics();
    Ok(())
}

fn describe_metrics() {
    use metrics::{describe_counter, describe_gauge, describe_histogram};
    describe_counter!(
        "complaintflow_store_appends_total",
        "Appends by result: appended, replayed, version_conflict, idempotency_conflict, error"
    );
    describe_counter!(
        "complaintflow_store_events_appended_total",
        "Events made durable"
    );
    describe_histogram!(
        "complaintflow_store_commit_seconds",
        "Time to apply and fsync one group commit"
    );
    describe_histogram!(
        "complaintflow_store_group_events",
        "Events per group commit"
    );
    describe_counter!(
        "complaintflow_grpc_requests_total",
        "gRPC requests by method and status code"
    );
    describe_histogram!(
        "complaintflow_grpc_request_seconds",
        "gRPC request latency by method"
    );
    describe_gauge!("complaintflow_subscriptions_live", "Open Subscribe streams");
    describe_gauge!(
        "complaintflow_projection_lag_events",
        "Events in the log not yet applied to the projections"
    );
    describe_gauge!(
        "complaintflow_deadlines_pending",
        "Deadlines waiting to fire"
    );
    describe_gauge!(
        "complaintflow_calendar_days_left",
        "Days until the policy's business calendar runs out of public holidays"
    );
    describe_counter!(
        "complaintflow_deadlines_fired_total",
        "Deadline firings by stage: warning, due"
    );
}
