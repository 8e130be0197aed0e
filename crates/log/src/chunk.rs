//! Several consecutive records under one key.
//!
//! sled 0.34, the embedded backend, pays for every key it inserts: a walk down the
//! tree, a copy of the leaf, a log entry, and a split every few inserts (its leaves hold
//! 16 entries). Storing each event under its own key made those costs the larger part
//! of the writer's work. The writer therefore packs the events of a group commit into
//! chunks, each stored under the position of its first event; a reader finds the chunk
//! that holds position `p` as the last event key at or before `p`. A page of the log
//! (see `page`) hands chunks over whole.
//!
//! A value is either one record (its first byte is the record format, see
//! `store::codec`) or a chunk: `CHUNK_TAG`, then each record as a big-endian `u32`
//! length and the record itself. Record formats are small numbers, so the two never
//! collide, and the directories written before chunks existed read unchanged.

use crate::codec;

/// The first byte of a chunk value.
pub(crate) const CHUNK_TAG: u8 = b'C';
/// A chunk closes before it grows past this many bytes. sled writes a page larger than
/// about 128 KiB to a blob file of its own, and a leaf holds up to 17 values: 6 KiB
/// chunks keep a full leaf near 100 KiB.
pub(crate) const MAX_CHUNK_BYTES: usize = 6 * 1024;
const LEN_BYTES: usize = 4;

/// Builds the chunks of one group commit.
#[derive(Debug)]
pub struct ChunkBuilder {
    first_position: u64,
    count: usize,
    buf: Vec<u8>,
}

impl ChunkBuilder {
    pub fn new(first_position: u64) -> Self {
        let mut buf = Vec::with_capacity(MAX_CHUNK_BYTES + 1024);
        buf.push(CHUNK_TAG);
        Self {
            first_position,
            count: 0,
            buf,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    pub fn first_position(&self) -> u64 {
        self.first_position
    }

    /// True when a record of about `len` bytes should start a new chunk.
    pub fn is_full_for(&self, len: usize) -> bool {
        self.count > 0 && self.buf.len() + LEN_BYTES + len > MAX_CHUNK_BYTES
    }

    /// Appends the record that `encode` writes into the buffer it is given.
    pub fn push(&mut self, encode: impl FnOnce(&mut Vec<u8>)) {
        let at = self.buf.len();
        self.buf.extend_from_slice(&[0; LEN_BYTES]);
        encode(&mut self.buf);
        #[allow(
            clippy::expect_used,
            reason = "the store's limits keep a record far below 4 GiB before it reaches a chunk"
        )]
        let len = u32::try_from(self.buf.len() - at - LEN_BYTES)
            .expect("records are limited far below 4 GiB");
        self.buf[at..at + LEN_BYTES].copy_from_slice(&len.to_be_bytes());
        self.count += 1;
    }

    /// The value to store: a lone record is stored bare, as before chunks existed.
    pub fn finish(self) -> Vec<u8> {
        if self.count == 1 {
            self.buf[1 + LEN_BYTES..].to_vec()
        } else {
            self.buf
        }
    }
}

/// The records of a stored value, in order.
pub fn records(value: &[u8]) -> Records<'_> {
    match value.split_first() {
        Some((&CHUNK_TAG, rest)) => Records::Chunk(rest),
        _ => Records::Single(Some(value)),
    }
}

pub enum Records<'a> {
    Single(Option<&'a [u8]>),
    Chunk(&'a [u8]),
}

impl<'a> Iterator for Records<'a> {
    type Item = Result<&'a [u8], codec::DecodeError>;

    fn next(&mut self) -> Option<Self::Item> {
        match self {
            Records::Single(record) => record.take().map(Ok),
            Records::Chunk([]) => None,
            Records::Chunk(rest) => {
                let malformed = |why: &str| codec::DecodeError::Malformed(format!("chunk: {why}"));
                let Some((len, tail)) = rest.split_first_chunk::<LEN_BYTES>() else {
                    *rest = &[];
                    return Some(Err(malformed("truncated length")));
                };
                let len = u32::from_be_bytes(*len) as usize;
                if len > tail.len() {
                    *rest = &[];
                    return Some(Err(malformed("record runs past the end")));
                }
                let (record, tail) = tail.split_at(len);
                *rest = tail;
                Some(Ok(record))
            }
        }
    }
}

/// Re-packs edited records into a value, for tests that tamper with the raw tree.
pub fn pack(records: &[Vec<u8>]) -> Vec<u8> {
    let mut builder = ChunkBuilder::new(0);
    for record in records {
        builder.push(|buf| buf.extend_from_slice(record));
    }
    builder.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn collect(value: &[u8]) -> Vec<Vec<u8>> {
        records(value).map(|r| r.unwrap().to_vec()).collect()
    }

    #[test]
    fn a_lone_record_is_stored_bare() {
        let value = pack(&[vec![1, 2, 3]]);
        assert_eq!(value, vec![1, 2, 3]);
        assert_eq!(collect(&value), vec![vec![1, 2, 3]]);
    }

    #[test]
    fn chunks_round_trip() {
        let input = vec![vec![1, 9], vec![1], vec![1, 7, 7, 7]];
        let value = pack(&input);
        assert_eq!(value[0], CHUNK_TAG);
        assert_eq!(collect(&value), input);
    }

    #[test]
    fn a_chunk_closes_before_it_outgrows_its_limit() {
        let mut builder = ChunkBuilder::new(7);
        assert!(
            !builder.is_full_for(MAX_CHUNK_BYTES * 2),
            "an empty chunk takes anything"
        );
        builder.push(|buf| buf.extend_from_slice(&[1; 100]));
        assert!(!builder.is_full_for(100));
        assert!(builder.is_full_for(MAX_CHUNK_BYTES));
        assert_eq!(builder.first_position(), 7);
    }

    #[test]
    fn damaged_chunks_are_errors_not_panics() {
        let mut value = pack(&[vec![1, 2], vec![1, 3, 4]]);
        value.truncate(value.len() - 1);
        assert!(records(&value).any(|r| r.is_err()));
        assert!(records(&[CHUNK_TAG, 0, 0]).next().unwrap().is_err());
        assert_eq!(records(&[CHUNK_TAG]).count(), 0);
    }
}
