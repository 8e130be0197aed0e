//! Read-your-writes across nodes: a query that names a `min_position` is answered once
//! this node's read models have applied the log through it, or refused when that does
//! not happen in time (the node is behind, or cut off from the log).

use std::time::Duration;

use tonic::metadata::MetadataMap;

use crate::api::status::ApiError;
use crate::projections::Projections;

/// The share of the caller's deadline spent waiting: the rest carries the refusal back
/// before the caller gives up on its own and learns nothing.
const DEADLINE_SHARE: (u32, u32) = (9, 10);

/// How long to wait for a position: the configured maximum, or less when the call's
/// deadline (`grpc-timeout`) is nearer.
pub(super) fn wait_bound(metadata: &MetadataMap, max: Duration) -> Duration {
    match grpc_timeout(metadata) {
        Some(deadline) => max.min(deadline * DEADLINE_SHARE.0 / DEADLINE_SHARE.1),
        None => max,
    }
}

/// Waits, at most `bound`, until the read models have applied `min_position`.
pub(super) async fn reach(
    projections: &Projections,
    min_position: Option<u64>,
    bound: Duration,
) -> Result<(), ApiError> {
    let Some(position) = min_position else {
        return Ok(());
    };
    // The checkpoint is the next position to apply.
    let wanted = position.saturating_add(1);
    if tokio::time::timeout(bound, projections.wait_for(wanted))
        .await
        .is_ok()
    {
        return Ok(());
    }
    Err(ApiError::PositionNotReached {
        min_position: position,
        next_position: projections.checkpoint(),
        waited: bound,
    })
}

/// The call's deadline as the client sent it (`grpc-timeout: 250m`), if it did.
fn grpc_timeout(metadata: &MetadataMap) -> Option<Duration> {
    let text = metadata.get("grpc-timeout")?.to_str().ok()?;
    // At most 8 digits and a unit, by the gRPC protocol.
    if text.len() < 2 || text.len() > 9 {
        return None;
    }
    let (digits, unit) = text.split_at(text.len() - 1);
    let amount: u64 = digits.parse().ok()?;
    Some(match unit {
        "H" => Duration::from_secs(amount.checked_mul(3600)?),
        "M" => Duration::from_secs(amount.checked_mul(60)?),
        "S" => Duration::from_secs(amount),
        "m" => Duration::from_millis(amount),
        "u" => Duration::from_micros(amount),
        "n" => Duration::from_nanos(amount),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_timeout(value: &str) -> MetadataMap {
        let mut metadata = MetadataMap::new();
        metadata.insert("grpc-timeout", value.parse().unwrap());
        metadata
    }

    #[test]
    fn the_deadline_bounds_the_wait_below_the_configured_maximum() {
        let max = Duration::from_secs(10);
        assert_eq!(wait_bound(&MetadataMap::new(), max), max);
        assert_eq!(
            wait_bound(&with_timeout("1000m"), max),
            Duration::from_millis(900)
        );
        assert_eq!(wait_bound(&with_timeout("1M"), max), max);
        assert_eq!(
            wait_bound(&with_timeout("2S"), max),
            Duration::from_millis(1800)
        );
        for nonsense in ["", "S", "12", "1x", "-1S", "123456789S"] {
            assert_eq!(wait_bound(&with_timeout(nonsense), max), max, "{nonsense}");
        }
    }
}
