//! The stored form of an event. The first byte is the format version, so that events
//! written today stay readable after the format evolves: a new format adds a new
//! `StoredEventVn` and a decode arm, and never touches the old ones.

use jiff::Timestamp;
use serde::Serialize;
use uuid::Uuid;

use super::hash::Hash;
use super::types::{RecordedEvent, StreamId};

/// The newest record format this build writes.
pub(crate) const RECORD_FORMAT: u8 = 1;

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

/// Format 1 as it is read back: the same bytes as `StoredEventV1Ref` writes through serde
/// (bincode's serde and native encodings agree field by field: varints, length-prefixed
/// strings and bytes for the ids, raw bytes for the hashes), decoded natively and
/// borrowed, so that reading the log copies each field once and reads hashes whole.
type StoredEventV1<'a> = (
    &'a str,          // stream
    u64,              // version
    u64,              // position
    &'a [u8],         // event_id
    &'a str,          // event_type
    u16,              // schema_version
    i64,              // occurred_at_micros
    i64,              // recorded_at_micros
    Option<&'a [u8]>, // correlation_id
    Option<&'a [u8]>, // causation_id
    &'a str,          // actor
    &'a [u8],         // payload
    [u8; 32],         // content_hash
    [u8; 32],         // hash
);

#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    #[error("empty record")]
    Empty,
    #[error("record format {0} is newer than this build understands")]
    UnknownFormat(u8),
    #[error("malformed record: {0}")]
    Malformed(String),
    #[error("malformed record: {0}")]
    Undecodable(#[source] bincode::error::DecodeError),
    #[error("malformed record: {0}")]
    BadStream(#[source] crate::InvalidInput),
}

fn config() -> bincode::config::Configuration {
    bincode::config::standard()
}

/// A borrowed view of everything a record holds: the writer encodes an event straight
/// from the client's submission without copying its payload first, and a reader that
/// goes through the whole log decodes records without copying them.
#[derive(Debug, Clone, Copy)]
pub struct Envelope<'a> {
    /// Checked as a `StreamId` when written; a decoded envelope leaves it unchecked
    /// until it is made into a `RecordedEvent`.
    pub stream: &'a str,
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
            stream: event.stream.as_str(),
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
        stream: event.stream,
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
    #[allow(
        clippy::expect_used,
        reason = "writing to a Vec cannot fail, and every field has a fixed or length-prefixed encoding"
    )]
    bincode::serde::encode_into_std_write(&stored, out, config())
        .expect("encoding into a Vec never fails");
}

/// Decodes a record of any format this build knows.
pub fn decode(bytes: &[u8]) -> Result<RecordedEvent, DecodeError> {
    decode_envelope(bytes)?.to_recorded()
}

/// Decodes a record of any format this build knows, borrowing its strings and payload.
pub fn decode_envelope(bytes: &[u8]) -> Result<Envelope<'_>, DecodeError> {
    let (&format, body) = bytes.split_first().ok_or(DecodeError::Empty)?;
    match format {
        1 => decode_v1(body),
        other => Err(DecodeError::UnknownFormat(other)),
    }
}

/// The stream a record belongs to, read without decoding the rest of it: the stream
/// comes first in every format.
pub fn stream_of(bytes: &[u8]) -> Result<&str, DecodeError> {
    let (&format, body) = bytes.split_first().ok_or(DecodeError::Empty)?;
    match format {
        1 => bincode::borrow_decode_from_slice::<&str, _>(body, config())
            .map(|(stream, _)| stream)
            .map_err(DecodeError::Undecodable),
        other => Err(DecodeError::UnknownFormat(other)),
    }
}

fn decode_v1(body: &[u8]) -> Result<Envelope<'_>, DecodeError> {
    let malformed = DecodeError::Malformed;
    let (stored, read): (StoredEventV1<'_>, usize) =
        bincode::borrow_decode_from_slice(body, config()).map_err(DecodeError::Undecodable)?;
    if read != body.len() {
        return Err(malformed(format!("{} trailing bytes", body.len() - read)));
    }
    let (
        stream,
        version,
        position,
        event_id,
        event_type,
        schema_version,
        occurred_at_micros,
        recorded_at_micros,
        correlation_id,
        causation_id,
        actor,
        payload,
        content_hash,
        hash,
    ) = stored;
    let timestamp = |micros: i64, field: &str| {
        Timestamp::from_microsecond(micros).map_err(|e| malformed(format!("{field}: {e}")))
    };
    let uuid = |bytes: &[u8], field: &str| {
        Uuid::from_slice(bytes).map_err(|e| malformed(format!("{field}: {e}")))
    };
    Ok(Envelope {
        stream,
        version,
        position,
        event_id: uuid(event_id, "event_id")?,
        event_type,
        schema_version,
        occurred_at: timestamp(occurred_at_micros, "occurred_at")?,
        recorded_at: timestamp(recorded_at_micros, "recorded_at")?,
        correlation_id: correlation_id
            .map(|id| uuid(id, "correlation_id"))
            .transpose()?,
        causation_id: causation_id
            .map(|id| uuid(id, "causation_id"))
            .transpose()?,
        actor,
        payload,
        content_hash: Hash(content_hash),
        hash: Hash(hash),
    })
}

impl Envelope<'_> {
    /// The event as an owned value, its stream checked.
    pub(crate) fn to_recorded(self) -> Result<RecordedEvent, DecodeError> {
        Ok(RecordedEvent {
            stream: StreamId::new(self.stream).map_err(DecodeError::BadStream)?,
            version: self.version,
            position: self.position,
            event_id: self.event_id,
            event_type: self.event_type.to_owned(),
            schema_version: self.schema_version,
            occurred_at: self.occurred_at,
            recorded_at: self.recorded_at,
            correlation_id: self.correlation_id,
            causation_id: self.causation_id,
            actor: self.actor.to_owned(),
            payload: self.payload.to_vec(),
            content_hash: self.content_hash,
            hash: self.hash,
        })
    }
}

#[cfg(test)]
pub(crate) mod tests {
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
    fn the_stream_is_read_without_the_rest() {
        let event = sample();
        let bytes = encode((&event).into());
        assert_eq!(stream_of(&bytes).unwrap(), "C-2026-0001");
        assert_eq!(decode_envelope(&bytes).unwrap().stream, "C-2026-0001");
        assert!(stream_of(&[]).is_err());
        assert!(stream_of(&[9, 1, b'x']).is_err());
        assert!(stream_of(&[1, 200]).is_err());
    }

    #[test]
    fn rejects_unknown_format_empty_and_garbage() {
        let mut bytes = encode((&sample()).into());
        bytes[0] = 9;
        assert!(matches!(decode(&bytes), Err(DecodeError::UnknownFormat(9))));
        assert!(matches!(decode(&[]), Err(DecodeError::Empty)));
        assert!(matches!(
            decode(&[1, 0xff, 0xff]),
            Err(DecodeError::Undecodable(_))
        ));
        let mut truncated = encode((&sample()).into());
        truncated.truncate(truncated.len() - 3);
        assert!(decode(&truncated).is_err());
        let mut trailing = encode((&sample()).into());
        trailing.push(0);
        assert!(decode(&trailing).is_err());
    }
}
