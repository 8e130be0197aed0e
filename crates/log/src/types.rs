//! The vocabulary of the event log: streams, versions, positions and envelopes.

use std::fmt;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::error::InvalidInput;
use super::hash::Hash;

/// Longest stream id accepted, in bytes.
pub(crate) const MAX_STREAM_ID_LEN: usize = 128;

/// The name of one stream (one complaint). Printable ASCII from a small alphabet, so
/// that it can be used as a key prefix and never contains the key separator.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct StreamId(String);

impl StreamId {
    pub fn new(raw: impl Into<String>) -> Result<Self, InvalidInput> {
        let raw = raw.into();
        if raw.is_empty() || raw.len() > MAX_STREAM_ID_LEN {
            return Err(InvalidInput::new(
                "stream",
                format!("must be 1 to {MAX_STREAM_ID_LEN} characters"),
            ));
        }
        if let Some(bad) = raw
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | ':' | '-')))
        {
            return Err(InvalidInput::new(
                "stream",
                format!("character {bad:?} is not allowed (use A-Z a-z 0-9 . _ : -)"),
            ));
        }
        Ok(Self(raw))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for StreamId {
    type Error = InvalidInput;
    fn try_from(raw: String) -> Result<Self, Self::Error> {
        Self::new(raw)
    }
}

impl From<StreamId> for String {
    fn from(id: StreamId) -> Self {
        id.0
    }
}

impl fmt::Display for StreamId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for StreamId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "StreamId({})", self.0)
    }
}

/// What the caller believes about the stream before its append.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ExpectedVersion {
    /// No check.
    Any,
    /// The stream must not exist yet.
    NoStream,
    /// The stream must have at least one event.
    StreamExists,
    /// The stream's last event must have exactly this version.
    Exact(u64),
}

impl ExpectedVersion {
    /// Whether a stream whose last version is `actual` satisfies this expectation.
    pub fn admits(self, actual: Option<u64>) -> bool {
        match self {
            Self::Any => true,
            Self::NoStream => actual.is_none(),
            Self::StreamExists => actual.is_some(),
            Self::Exact(v) => actual == Some(v),
        }
    }
}

impl fmt::Display for ExpectedVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Any => f.write_str("any"),
            Self::NoStream => f.write_str("no stream"),
            Self::StreamExists => f.write_str("stream exists"),
            Self::Exact(v) => write!(f, "version {v}"),
        }
    }
}

/// Reading direction through a stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Direction {
    #[default]
    Forwards,
    Backwards,
}

/// An event as the client submits it. The store adds the version, position, record time
/// and hashes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEvent {
    /// Client-chosen unique id: the idempotency key.
    pub event_id: Uuid,
    pub event_type: String,
    pub schema_version: u16,
    /// When the fact happened, as the client says (a dealer system may send it days later).
    pub occurred_at: Timestamp,
    pub correlation_id: Option<Uuid>,
    pub causation_id: Option<Uuid>,
    /// The authenticated identity that submitted it.
    pub actor: String,
    pub payload: Vec<u8>,
}

/// What was submitted, as stored: a stored event's submitted fields, for an append that
/// carries it again (a restore, a copy, a check of what a crash kept).
impl From<&RecordedEvent> for NewEvent {
    fn from(event: &RecordedEvent) -> Self {
        Self {
            event_id: event.event_id,
            event_type: event.event_type.clone(),
            schema_version: event.schema_version,
            occurred_at: event.occurred_at,
            correlation_id: event.correlation_id,
            causation_id: event.causation_id,
            actor: event.actor.clone(),
            payload: event.payload.clone(),
        }
    }
}

/// A stored event with its full envelope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedEvent {
    pub stream: StreamId,
    pub version: u64,
    pub position: u64,
    pub event_id: Uuid,
    pub event_type: String,
    pub schema_version: u16,
    pub occurred_at: Timestamp,
    pub recorded_at: Timestamp,
    pub correlation_id: Option<Uuid>,
    pub causation_id: Option<Uuid>,
    pub actor: String,
    pub payload: Vec<u8>,
    /// Hash of what the client submitted (stream, id, type, times, ids, actor, payload).
    pub content_hash: Hash,
    /// Hash chained to the previous event of the stream and of the global log.
    pub hash: Hash,
}

/// Where one appended event landed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventSlot {
    pub event_id: Uuid,
    pub version: u64,
    pub position: u64,
}

/// The answer to an append.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppendOutcome {
    pub slots: Vec<EventSlot>,
    /// True when this was a retry of an append already stored: nothing was written.
    pub replayed: bool,
}

impl AppendOutcome {
    /// The stream version after the append.
    pub fn last_version(&self) -> u64 {
        self.slots.last().map_or(0, |s| s.version)
    }

    /// The global position of the last event of the append.
    pub fn last_position(&self) -> u64 {
        self.slots.last().map_or(0, |s| s.position)
    }
}

/// A point in the global log with the hash of the event there: a commitment an auditor
/// can keep and later check against the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Digest {
    pub position: u64,
    pub head_hash: Hash,
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.position, self.head_hash)
    }
}

impl std::str::FromStr for Digest {
    type Err = InvalidInput;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || InvalidInput::new("digest", "expected <position>:<64 hex digits>");
        let (position, hash) = s.split_once(':').ok_or_else(bad)?;
        Ok(Self {
            position: position.parse().map_err(|_| bad())?,
            head_hash: hash.parse().map_err(|_| bad())?,
        })
    }
}
