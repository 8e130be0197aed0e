//! The append counters every backend keeps alike, so that dashboards do not depend on
//! where the log lives.

use super::{AppendOutcome, StoreError};

/// Counts one answered append in `complaintflow_store_appends_total{result}`.
pub fn record_outcome(outcome: &Result<AppendOutcome, StoreError>) {
    let result = match outcome {
        Ok(o) if o.replayed => "replayed",
        Ok(_) => "appended",
        Err(StoreError::WrongExpectedVersion { .. }) => "version_conflict",
        Err(StoreError::IdempotencyConflict { .. }) => "idempotency_conflict",
        Err(_) => "error",
    };
    metrics::counter!("complaintflow_store_appends_total", "result" => result).increment(1);
}
