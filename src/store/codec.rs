//! The stored form of an event. The first byte is the format version, so that events
//! written today stay readable after the format evolves: a new format adds a new
//! `StoredEventVn` and a decode arm, and never touches the old ones.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::hash::Hash;
use super::types::{RecordedEvent, StreamId};

/// The newest record format this build writes.
pub const RECORD_FORMAT: u8 = 1;

#[derive(Serialize)]
struct StoredEventV1Ref<'a> {
    stream: &'a str,
    version: u64,
    position: u64,
    event_id: Uuid,
    event_type: &'a str,
    schema_version: u16,
    occurred_at_micros: i64,
    recorded_at_micros: i64,
    correlation_id: Option<Uuid>,
    causation_id: Option<Uuid>,
    actor: &'a str,
    #[serde(with = "serde_bytes")]
    payload: &'a [u8],
    content_hash: [u8; 32],
    hash: [u8; 32],
}

#[derive(Deserialize)]
struct StoredEventV1 {
    stream: String,
    version: u64,
    position: u64,
    event_id: Uuid,
    event_type: String,
    schema_version: u16,
    occurred_at_micros: i64,
    recorded_at_micros: i64,
    correlation_id: Option<Uuid>,
    causation_id: Option<Uuid>,
    actor: String,
    #[serde(with = "serde_bytes")]
    payload: Vec<u8>,
    content_hash: [u8; 32],
    hash: [u8; 32],
}

#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    #[error("empty record")]
    Empty,
    #[error("record format {0} is newer than this build understands")]
    UnknownFormat(u8),
    #[error("malformed record: {0}")]
    Malformed(String),
}

fn config() -> bincode::config::Configuration {
    bincode::config::standard()
}

/// A borrowed view of everything a record holds, so that the writer can encode an event
/// straight from the client's submission without copying its payload first.
#[derive(Debug, Clone, Copy)]
pub struct Envelope<'a> {
    pub stream: &'a StreamId,
    pub version: u64,
    pub position: u64,
    pub event_id: Uuid,
    pub event_type: &'a str,
    pub schema_version: u16,
    pub occurred_at: Timestamp,
    pub recorded_at: Timestamp,
    pub correlation_id: Option<Uuid>,
    pub causation_id: Option<Uuid>,
    pub actor: &'a str,
    pub payload: &'a [u8],
    pub content_hash: Hash,
    pub hash: Hash,
}

impl<'a> From<&'a RecordedEvent> for Envelope<'a> {
    fn from(event: &'a RecordedEvent) -> Self {
        Self {
            stream: &event.stream,
            version: event.version,
            position: event.position,
            event_id: event.event_id,
            event_type: &event.event_type,
            schema_version: event.schema_version,
            occurred_at: event.occurred_at,
            recorded_at: event.recorded_at,
            correlation_id: event.correlation_id,
            causation_id: event.causation_id,
            actor: &event.actor,
            payload: &event.payload,
            content_hash: event.content_hash,
            hash: event.hash,
        }
    }
}

/// Encodes an event in the newest record format.
pub fn encode(event: Envelope<'_>) -> Vec<u8> {
    let mut out = Vec::with_capacity(128 + event.payload.len());
    encode_into(event, &mut out);
    out
}

/// Appends the encoded event to `out`, so that the writer can build a chunk of records
/// in one buffer.
pub fn encode_into(event: Envelope<'_>, out: &mut Vec<u8>) {
    let stored = StoredEventV1Ref {
        stream: event.stream.as_str(),
        version: event.version,
        position: event.position,
        event_id: event.event_id,
        event_type: event.event_type,
        schema_version: event.schema_version,
        occurred_at_micros: event.occurred_at.as_microsecond(),
        recorded_at_micros: event.recorded_at.as_microsecond(),
        correlation_id: event.correlation_id,
        causation_id: event.causation_id,
        actor: event.actor,
        payload: event.payload,
        content_hash: event.content_hash.0,
        hash: event.hash.0,
    };
    out.push(RECORD_FORMAT);
    bincode::serde::encode_into_std_write(&stored, out, config())
        .expect("encoding into a Vec never fails");
}

/// Decodes a record of any format this build knows.
pub fn decode(bytes: &[u8]) -> Result<RecordedEvent, DecodeError> {
    let (&format, body) = bytes.split_first().ok_or(DecodeError::Empty)?;
    match format {
        1 => decode_v1(body),
        other => Err(DecodeError::UnknownFormat(other)),
    }
}

fn decode_v1(body: &[u8]) -> Result<RecordedEvent, DecodeError> {
    let (stored, read): (StoredEventV1, usize) = bincode::serde::decode_from_slice(body, config())
        .map_err(|e| DecodeError::Malformed(e.to_string()))?;
    if read != body.len() {
        return Err(DecodeError::Malformed(format!(
            "{} trailing bytes",
            body.len() - read
        )));
    }
    let timestamp = |micros: i64, field: &str| {
        Timestamp::from_microsecond(micros)
            .map_err(|e| DecodeError::Malformed(format!("{field}: {e}")))
    };
    Ok(RecordedEvent {
        stream: StreamId::new(stored.stream).map_err(|e| DecodeError::Malformed(e.to_string()))?,
        version: stored.version,
        position: stored.position,
        event_id: stored.event_id,
        event_type: stored.event_type,
        schema_version: stored.schema_version,
        occurred_at: timestamp(stored.occurred_at_micros, "occurred_at")?,
        recorded_at: timestamp(stored.recorded_at_micros, "recorded_at")?,
        correlation_id: stored.correlation_id,
        causation_id: stored.causation_id,
        actor: stored.actor,
        payload: stored.payload,
        content_hash: Hash(stored.content_hash),
        hash: Hash(stored.hash),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn sample() -> RecordedEvent {
        RecordedEvent {
            stream: StreamId::new("C-2026-0001").unwrap(),
            version: 3,
            position: 41,
            event_id: Uuid::from_u128(0x1234),
            event_type: "complaint.note_added".into(),
            schema_version: 1,
            occurred_at: Timestamp::from_second(1_764_000_000).unwrap(),
            recorded_at: Timestamp::from_microsecond(1_764_000_100_123_456).unwrap(),
            correlation_id: Some(Uuid::from_u128(1)),
            causation_id: None,
            actor: "dealer:D001".into(),
            payload: vec![1, 2, 3, 250],
            content_hash: Hash([5; 32]),
            hash: Hash([6; 32]),
        }
    }

    #[test]
    fn round_trip() {
        let event = sample();
        assert_eq!(decode(&encode((&event).into())).unwrap(), event);
    }

    #[test]
    fn rejects_unknown_format_empty_and_garbage() {
        let mut bytes = encode((&sample()).into());
        bytes[0] = 9;
        assert!(matches!(decode(&bytes), Err(DecodeError::UnknownFormat(9))));
        assert!(matches!(decode(&[]), Err(DecodeError::Empty)));
        assert!(matches!(
            decode(&[1, 0xff, 0xff]),
            Err(DecodeError::Malformed(_))
        ));
        let mut truncated = encode((&sample()).into());
        truncated.truncate(truncated.len() - 3);
        assert!(decode(&truncated).is_err());
        let mut trailing = encode((&sample()).into());
        trailing.push(0);
        assert!(decode(&trailing).is_err());
    }
}
