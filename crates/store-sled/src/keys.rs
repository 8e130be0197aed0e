//! The key space of the single sled tree that holds the log.
//!
//! Everything lives in one tree so that one `apply_batch` (atomic, and atomic across a
//! crash) commits a whole group of appends: events, stream index, stream heads and the
//! idempotency index together. Integers are big-endian so that keys sort numerically.
//!
//! | key                                   | value                                        |
//! |---------------------------------------|----------------------------------------------|
//! | `e` position                          | the records from that position (`chunk`)     |
//! | `s` stream `\0` version               | position, chain hash                         |
//! | `i` event id stream                   | position, version, content hash              |
//! | `h` stream                            | last version, last hash (format 1 only)      |
//!
//! Store format 1 wrote one record per `e` key, only the position under `s`, and kept
//! each stream's head under `h`. Format 2 finds a stream's head as its last `s` entry,
//! which saves one insert per append; format-1 entries are still read as they are.
//!
//! Formats 1 and 2 keyed event ids alone (`i` event id), so an id was unique across
//! the whole log. From format 3 an id is a retry key within its stream and the key ends
//! with the stream's name; a lookup that misses the new key falls back to a key of the
//! old form and takes it only if the stream's own index points at the same event.

use uuid::Uuid;

use complaintflow_log::{Hash, StoreError, StreamId};

const EVENT: u8 = b'e';
const STREAM: u8 = b's';
const HEAD: u8 = b'h';
const ID: u8 = b'i';
/// Stream ids never contain NUL (see `StreamId::new`), so it ends a stream prefix.
const STREAM_END: u8 = 0;

pub(crate) const EVENT_PREFIX: [u8; 1] = [EVENT];
pub(crate) const ID_PREFIX: [u8; 1] = [ID];

pub(crate) fn event_key(position: u64) -> [u8; 9] {
    let mut key = [EVENT; 9];
    key[1..].copy_from_slice(&position.to_be_bytes());
    key
}

pub(crate) fn position_of_event_key(key: &[u8]) -> Result<u64, StoreError> {
    key.get(1..9)
        .and_then(|b| b.try_into().ok())
        .map(u64::from_be_bytes)
        .ok_or_else(|| corrupt(key, "event key of the wrong length"))
}

pub(crate) fn stream_prefix(stream: &StreamId) -> Vec<u8> {
    let mut key = Vec::with_capacity(stream.as_str().len() + 10);
    key.push(STREAM);
    key.extend_from_slice(stream.as_str().as_bytes());
    key.push(STREAM_END);
    key
}

pub(crate) fn stream_key(stream: &StreamId, version: u64) -> Vec<u8> {
    let mut key = stream_prefix(stream);
    key.extend_from_slice(&version.to_be_bytes());
    key
}

pub(crate) fn head_key(stream: &StreamId) -> Vec<u8> {
    let mut key = Vec::with_capacity(stream.as_str().len() + 1);
    key.push(HEAD);
    key.extend_from_slice(stream.as_str().as_bytes());
    key
}

/// The key formats 1 and 2 wrote for an event id, whatever its stream.
pub(crate) fn legacy_id_key(event_id: &Uuid) -> [u8; 17] {
    let mut key = [ID; 17];
    key[1..].copy_from_slice(event_id.as_bytes());
    key
}

/// The key of an event id in its stream.
pub(crate) fn id_key(stream: &StreamId, event_id: &Uuid) -> Vec<u8> {
    let mut key = Vec::with_capacity(17 + stream.as_str().len());
    key.extend_from_slice(&legacy_id_key(event_id));
    key.extend_from_slice(stream.as_str().as_bytes());
    key
}

/// The event id an id key starts with, in either form.
pub(crate) fn event_id_of_id_key(key: &[u8]) -> Option<&[u8]> {
    key.get(ID_PREFIX.len()..17)
}

/// The last event of a stream, as the writer needs it to chain the next one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct StreamHead {
    pub version: u64,
    pub hash: Hash,
}

impl StreamHead {
    /// Format 1 wrote heads; only the tests still encode one.
    #[cfg(test)]
    pub(crate) fn encode(&self) -> [u8; 40] {
        let mut out = [0; 40];
        out[..8].copy_from_slice(&self.version.to_be_bytes());
        out[8..].copy_from_slice(self.hash.as_bytes());
        out
    }

    pub(crate) fn decode(bytes: &[u8]) -> Result<Self, StoreError> {
        let (version, rest) =
            u64_at(bytes).ok_or_else(|| corrupt(bytes, "stream head of the wrong length"))?;
        let hash =
            hash_of(rest).ok_or_else(|| corrupt(bytes, "stream head of the wrong length"))?;
        Ok(Self { version, hash })
    }
}

/// A stream index entry: where the event is and, from format 2 on, its chain hash, so
/// that the last entry of a stream is also its head.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct StreamEntry {
    pub position: u64,
    pub hash: Option<Hash>,
}

impl StreamEntry {
    pub(crate) fn encode(position: u64, hash: &Hash) -> [u8; 40] {
        let mut out = [0; 40];
        out[..8].copy_from_slice(&position.to_be_bytes());
        out[8..].copy_from_slice(hash.as_bytes());
        out
    }

    pub(crate) fn decode(bytes: &[u8]) -> Result<Self, StoreError> {
        match bytes.len() {
            8 => Ok(Self {
                position: decode_position(bytes)?,
                hash: None,
            }),
            40 => Ok(Self {
                position: decode_position(&bytes[..8])?,
                hash: Some(
                    hash_of(&bytes[8..])
                        .ok_or_else(|| corrupt(bytes, "stream entry of the wrong length"))?,
                ),
            }),
            _ => Err(corrupt(bytes, "stream entry of the wrong length")),
        }
    }
}

/// The version in a stream index key.
pub(crate) fn version_of_stream_key(key: &[u8]) -> Result<u64, StoreError> {
    key.len()
        .checked_sub(8)
        .map_or(Err(corrupt(key, "stream key too short")), |at| {
            decode_position(&key[at..])
        })
}

/// Where an already stored event id landed, and what it contained.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct IdEntry {
    pub position: u64,
    pub version: u64,
    pub content_hash: Hash,
}

impl IdEntry {
    pub(crate) fn encode(&self) -> [u8; 48] {
        let mut out = [0; 48];
        out[..8].copy_from_slice(&self.position.to_be_bytes());
        out[8..16].copy_from_slice(&self.version.to_be_bytes());
        out[16..].copy_from_slice(self.content_hash.as_bytes());
        out
    }

    pub(crate) fn decode(bytes: &[u8]) -> Result<Self, StoreError> {
        let wrong = || corrupt(bytes, "id entry of the wrong length");
        let (position, rest) = u64_at(bytes).ok_or_else(wrong)?;
        let (version, rest) = u64_at(rest).ok_or_else(wrong)?;
        let content_hash = hash_of(rest).ok_or_else(wrong)?;
        Ok(Self {
            position,
            version,
            content_hash,
        })
    }
}

pub(crate) fn decode_position(bytes: &[u8]) -> Result<u64, StoreError> {
    bytes
        .try_into()
        .map(u64::from_be_bytes)
        .map_err(|_| corrupt(bytes, "position of the wrong length"))
}

fn corrupt(bytes: &[u8], reason: &str) -> StoreError {
    StoreError::Corrupt {
        location: format!(
            "key or value {}",
            hex::encode(&bytes[..bytes.len().min(24)])
        ),
        reason: reason.into(),
    }
}

/// The big-endian number at the start of `bytes`, and what follows it.
fn u64_at(bytes: &[u8]) -> Option<(u64, &[u8])> {
    let (number, rest) = bytes.split_first_chunk::<8>()?;
    Some((u64::from_be_bytes(*number), rest))
}

/// `bytes` as a hash, if it is exactly one.
fn hash_of(bytes: &[u8]) -> Option<Hash> {
    <[u8; 32]>::try_from(bytes).ok().map(Hash)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_keys_sort_by_position() {
        assert!(event_key(255) < event_key(256));
        assert_eq!(position_of_event_key(&event_key(1 << 40)).unwrap(), 1 << 40);
    }

    #[test]
    fn stream_prefixes_do_not_overlap() {
        let a = StreamId::new("C-1").unwrap();
        let b = StreamId::new("C-10").unwrap();
        assert!(!stream_key(&b, 0).starts_with(&stream_prefix(&a)));
        assert!(stream_key(&a, 9) < stream_key(&a, 10));
    }

    #[test]
    fn values_round_trip_and_reject_wrong_lengths() {
        let head = StreamHead {
            version: 7,
            hash: Hash([3; 32]),
        };
        assert_eq!(StreamHead::decode(&head.encode()).unwrap(), head);
        let id = IdEntry {
            position: 9,
            version: 2,
            content_hash: Hash([4; 32]),
        };
        assert_eq!(IdEntry::decode(&id.encode()).unwrap(), id);
        assert!(StreamHead::decode(&[1, 2]).is_err());
        let entry = StreamEntry::decode(&StreamEntry::encode(5, &Hash([8; 32]))).unwrap();
        assert_eq!((entry.position, entry.hash), (5, Some(Hash([8; 32]))));
        assert_eq!(StreamEntry::decode(&5u64.to_be_bytes()).unwrap().hash, None);
        assert!(StreamEntry::decode(&[0; 9]).is_err());
        assert_eq!(
            version_of_stream_key(&stream_key(&StreamId::new("C-1").unwrap(), 4)).unwrap(),
            4
        );
        assert!(IdEntry::decode(&[]).is_err());
        assert!(decode_position(&[0; 7]).is_err());
    }
}
