//! Tamper evidence: every event's hash covers its content and is chained to the previous
//! event of its stream and to the previous event of the global log.
//!
//! The hashed bytes are a hand-written, length-prefixed encoding (not bincode) so that the
//! hash of an event never changes when a serialization library does.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::error::InvalidInput;
use super::types::{NewEvent, RecordedEvent, StreamId};

const CONTENT_CONTEXT: &str = "complaintflow 2026 event content v1";
const LINK_CONTEXT: &str = "complaintflow 2026 event link v1";

/// A 32-byte BLAKE3 hash. Equality is constant-time.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
pub struct Hash(pub [u8; 32]);

impl Hash {
    /// The "previous hash" of the first event of a chain.
    pub const GENESIS: Hash = Hash([0; 32]);

    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Constant-time comparison, for values an attacker may have chosen.
    pub fn ct_eq(&self, other: &Hash) -> bool {
        blake3::Hash::from_bytes(self.0) == blake3::Hash::from_bytes(other.0)
    }
}

impl fmt::Display for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl fmt::Debug for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Hash({self})")
    }
}

impl FromStr for Hash {
    type Err = InvalidInput;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut out = [0u8; 32];
        hex::decode_to_slice(s, &mut out)
            .map_err(|_| InvalidInput::new("hash", "expected 64 hex digits"))?;
        Ok(Self(out))
    }
}

/// Feeds fields to a hasher with explicit lengths, so that no two different field lists
/// produce the same byte string.
struct FieldHasher(blake3::Hasher);

impl FieldHasher {
    fn new(context: &str) -> Self {
        Self(blake3::Hasher::new_derive_key(context))
    }

    fn bytes(&mut self, bytes: &[u8]) -> &mut Self {
        self.0.update(&(bytes.len() as u64).to_le_bytes());
        self.0.update(bytes);
        self
    }

    fn u64(&mut self, value: u64) -> &mut Self {
        self.0.update(&value.to_le_bytes());
        self
    }

    fn i64(&mut self, value: i64) -> &mut Self {
        self.0.update(&value.to_le_bytes());
        self
    }

    fn opt_uuid(&mut self, value: Option<uuid::Uuid>) -> &mut Self {
        match value {
            Some(id) => self.u64(1).bytes(id.as_bytes()),
            None => self.u64(0),
        }
    }

    fn finish(&self) -> Hash {
        Hash(*self.0.finalize().as_bytes())
    }
}

/// What a client submitted, borrowed from a new or a stored event alike, so that
/// verification hashes stored events without copying them.
#[derive(Debug, Clone, Copy)]
pub struct Content<'a> {
    pub event_id: uuid::Uuid,
    pub event_type: &'a str,
    pub schema_version: u16,
    pub occurred_at: jiff::Timestamp,
    pub correlation_id: Option<uuid::Uuid>,
    pub causation_id: Option<uuid::Uuid>,
    pub actor: &'a str,
    pub payload: &'a [u8],
}

/// New and stored events name what the client submitted with the same fields.
macro_rules! content_of {
    ($($event:ty),+) => {$(
        impl<'a> From<&'a $event> for Content<'a> {
            fn from(event: &'a $event) -> Self {
                Self {
                    event_id: event.event_id,
                    event_type: &event.event_type,
                    schema_version: event.schema_version,
                    occurred_at: event.occurred_at,
                    correlation_id: event.correlation_id,
                    causation_id: event.causation_id,
                    actor: &event.actor,
                    payload: &event.payload,
                }
            }
        }
    )+};
}

content_of!(NewEvent, RecordedEvent);

/// The hash of what a client submitted: used for idempotent retries (same id, same
/// content) and as the content part of the chain. `occurred_at` counts in microseconds,
/// the precision the log keeps.
pub fn content_hash<'a>(stream: &StreamId, event: impl Into<Content<'a>>) -> Hash {
    let event = event.into();
    FieldHasher::new(CONTENT_CONTEXT)
        .bytes(stream.as_str().as_bytes())
        .bytes(event.event_id.as_bytes())
        .bytes(event.event_type.as_bytes())
        .u64(u64::from(event.schema_version))
        .i64(event.occurred_at.as_microsecond())
        .opt_uuid(event.correlation_id)
        .opt_uuid(event.causation_id)
        .bytes(event.actor.as_bytes())
        .bytes(event.payload)
        .finish()
}

/// Where an event sits and what it links to: everything the chain hash covers besides
/// the content.
#[derive(Debug, Clone, Copy)]
pub struct Link {
    pub position: u64,
    pub version: u64,
    pub recorded_at_micros: i64,
    pub prev_stream_hash: Hash,
    pub prev_global_hash: Hash,
}

/// The chained hash of one event.
pub fn chain_hash(content: &Hash, link: &Link) -> Hash {
    FieldHasher::new(LINK_CONTEXT)
        .bytes(content.as_bytes())
        .u64(link.position)
        .u64(link.version)
        .i64(link.recorded_at_micros)
        .bytes(link.prev_stream_hash.as_bytes())
        .bytes(link.prev_global_hash.as_bytes())
        .finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::Timestamp;
    use uuid::Uuid;

    fn event(payload: &[u8]) -> NewEvent {
        NewEvent {
            event_id: Uuid::from_u128(7),
            event_type: "complaint.filed".into(),
            schema_version: 1,
            occurred_at: Timestamp::from_second(1_700_000_000).unwrap(),
            correlation_id: None,
            causation_id: Some(Uuid::from_u128(9)),
            actor: "dealer:D001".into(),
            payload: payload.to_vec(),
        }
    }

    #[test]
    fn content_hash_depends_on_every_field() {
        let stream = StreamId::new("C-1").unwrap();
        let base = content_hash(&stream, &event(b"x"));
        assert_eq!(base, content_hash(&stream, &event(b"x")));
        assert_ne!(base, content_hash(&stream, &event(b"y")));
        assert_ne!(
            base,
            content_hash(&StreamId::new("C-2").unwrap(), &event(b"x"))
        );
        let mut other = event(b"x");
        other.causation_id = None;
        assert_ne!(base, content_hash(&stream, &other));
        let mut other = event(b"x");
        other.actor = "dealer:D002".into();
        assert_ne!(base, content_hash(&stream, &other));
    }

    #[test]
    fn length_prefixes_keep_field_boundaries() {
        let stream = StreamId::new("C-1").unwrap();
        let mut a = event(b"");
        a.event_type = "ab".into();
        a.actor = "c".into();
        let mut b = event(b"");
        b.event_type = "a".into();
        b.actor = "bc".into();
        assert_ne!(content_hash(&stream, &a), content_hash(&stream, &b));
    }

    #[test]
    fn chain_hash_depends_on_both_links() {
        let content = Hash([1; 32]);
        let link = Link {
            position: 4,
            version: 2,
            recorded_at_micros: 10,
            prev_stream_hash: Hash([2; 32]),
            prev_global_hash: Hash([3; 32]),
        };
        let base = chain_hash(&content, &link);
        assert_ne!(
            base,
            chain_hash(
                &content,
                &Link {
                    prev_stream_hash: Hash([9; 32]),
                    ..link
                }
            )
        );
        assert_ne!(
            base,
            chain_hash(
                &content,
                &Link {
                    prev_global_hash: Hash([9; 32]),
                    ..link
                }
            )
        );
        assert_ne!(
            base,
            chain_hash(
                &content,
                &Link {
                    position: 5,
                    ..link
                }
            )
        );
        assert_ne!(
            base,
            chain_hash(
                &content,
                &Link {
                    recorded_at_micros: 11,
                    ..link
                }
            )
        );
    }

    #[test]
    fn hash_round_trips_through_hex() {
        let hash = Hash([0xab; 32]);
        assert_eq!(hash.to_string().parse::<Hash>().unwrap(), hash);
        assert!("zz".parse::<Hash>().is_err());
        assert!(hash.ct_eq(&Hash([0xab; 32])));
    }
}
