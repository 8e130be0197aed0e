//! The webhook metrics, labelled by endpoint.

pub(super) fn describe() {
    use metrics::{describe_counter, describe_gauge};
    describe_counter!(
        "complaintflow_webhook_deliveries_total",
        "Events an endpoint answered with 2xx"
    );
    describe_counter!(
        "complaintflow_webhook_failures_total",
        "Delivery attempts that failed (error, timeout or non-2xx answer)"
    );
    describe_counter!(
        "complaintflow_webhook_dead_letters_total",
        "Events moved to an endpoint's dead letters"
    );
    describe_gauge!(
        "complaintflow_webhook_lag_events",
        "Events of the log an endpoint has not yet dealt with"
    );
}

pub(super) fn delivered(endpoint: &str) {
    metrics::counter!("complaintflow_webhook_deliveries_total", "endpoint" => endpoint.to_owned())
        .increment(1);
}

pub(super) fn failed(endpoint: &str) {
    metrics::counter!("complaintflow_webhook_failures_total", "endpoint" => endpoint.to_owned())
        .increment(1);
}

pub(super) fn dead(endpoint: &str) {
    metrics::counter!("complaintflow_webhook_dead_letters_total", "endpoint" => endpoint.to_owned())
        .increment(1);
}

pub(super) fn lag(endpoint: &str, events: u64) {
    metrics::gauge!("complaintflow_webhook_lag_events", "endpoint" => endpoint.to_owned())
        .set(events as f64);
}
