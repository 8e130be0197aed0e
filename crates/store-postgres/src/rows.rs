//! Rows of `complaintflow_events` to and from events, checking every value read: a row
//! edited by hand is a located error, never a panic.

use jiff::Timestamp;
use tokio_postgres::Row;
use tokio_postgres::types::FromSql;
use uuid::Uuid;

use super::error::PgError;
use complaintflow_log::{Hash, RecordedEvent, StreamId};

/// The columns of an event, in the order [`event`] reads them.
pub(crate) const COLUMNS: &str = "position, stream, version, event_id, event_type, schema_version, \
     occurred_at_us, recorded_at_us, correlation_id, causation_id, actor, payload, \
     content_hash, hash";

/// A count or place the log keeps as `bigint`. Positions and versions never reach 2^63;
/// a bound from a caller beyond it means "to the end".
pub(crate) fn bigint(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

fn column<'a, T: FromSql<'a>>(row: &'a Row, index: usize, at: &str) -> Result<T, PgError> {
    row.try_get(index)
        .map_err(|err| PgError::corrupt(at, format!("column {index}: {err}")))
}

fn unsigned(value: i64, at: &str, name: &str) -> Result<u64, PgError> {
    u64::try_from(value).map_err(|_| PgError::corrupt(at, format!("negative {name} {value}")))
}

pub(crate) fn hash(bytes: &[u8], at: &str, name: &str) -> Result<Hash, PgError> {
    <[u8; 32]>::try_from(bytes)
        .map(Hash)
        .map_err(|_| PgError::corrupt(at, format!("{name} is {} bytes, not 32", bytes.len())))
}

fn micros(value: i64, at: &str, name: &str) -> Result<Timestamp, PgError> {
    Timestamp::from_microsecond(value)
        .map_err(|err| PgError::corrupt(at, format!("{name} {value}: {err}")))
}

/// Decodes a row selected with [`COLUMNS`].
pub(crate) fn event(row: &Row) -> Result<RecordedEvent, PgError> {
    let position: i64 = column(row, 0, "a row of complaintflow_events")?;
    let at = format!("position {position}");
    let at = at.as_str();
    let stream: String = column(row, 1, at)?;
    let schema_version: i32 = column(row, 5, at)?;
    let payload: Vec<u8> = column(row, 11, at)?;
    let content_hash: &[u8] = column(row, 12, at)?;
    let chained: &[u8] = column(row, 13, at)?;
    Ok(RecordedEvent {
        stream: StreamId::new(stream).map_err(|err| PgError::corrupt(at, err.to_string()))?,
        version: unsigned(column(row, 2, at)?, at, "version")?,
        position: unsigned(position, at, "position")?,
        event_id: column::<Uuid>(row, 3, at)?,
        event_type: column(row, 4, at)?,
        schema_version: u16::try_from(schema_version)
            .map_err(|_| PgError::corrupt(at, format!("schema version {schema_version}")))?,
        occurred_at: micros(column(row, 6, at)?, at, "occurred_at_us")?,
        recorded_at: micros(column(row, 7, at)?, at, "recorded_at_us")?,
        correlation_id: column(row, 8, at)?,
        causation_id: column(row, 9, at)?,
        actor: column(row, 10, at)?,
        payload,
        content_hash: hash(content_hash, at, "content_hash")?,
        hash: hash(chained, at, "hash")?,
    })
}

pub(crate) fn events(rows: &[Row]) -> Result<Vec<RecordedEvent>, PgError> {
    rows.iter().map(event).collect()
}
