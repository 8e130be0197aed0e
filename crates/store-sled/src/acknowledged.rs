//! The store's own durable record of how far the log reached: the position one past the
//! last acknowledged event and that event's global chain hash.
//!
//! sled 0.34 recovers a damaged log by dropping everything after the damage, without an
//! error. Without a record of its own, a log that comes back shorter than what callers
//! were told is stored would verify as intact. The flusher writes this record after every
//! flush that made new events durable and before it answers their callers, so the record
//! never claims less than was acknowledged and never more than is on the disk.
//!
//! The file holds two slots in different sectors, written alternately, each with a
//! sequence number and a BLAKE3 checksum: a write torn by a crash spoils at most the slot
//! being written, and the other still holds the previous record.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use complaintflow_log::Hash;

pub(crate) const FILE_NAME: &str = "acknowledged";
const MAGIC: &[u8; 8] = b"CFACK\x00\x00\x01";
const SLOT_SIZE: u64 = 512;
/// magic, sequence, next position, hash, checksum.
const RECORD_LEN: usize = 8 + 8 + 8 + 32 + 32;

/// How far the log reached when it was last acknowledged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Acknowledged {
    /// One past the last acknowledged event: the number of events the log must hold.
    pub next_position: u64,
    /// The global chain hash of the event at `next_position - 1` (genesis when empty).
    pub last_hash: Hash,
}

/// The record file cannot be read as one.
#[derive(Debug, thiserror::Error)]
pub(crate) enum RecordError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("{path} is damaged: neither of its two slots holds a valid record")]
    Damaged { path: PathBuf },
}

/// The open record file, written by the flusher.
pub(crate) struct AcknowledgedFile {
    file: File,
    sequence: u64,
}

impl AcknowledgedFile {
    pub(crate) fn path_in(dir: &Path) -> PathBuf {
        dir.join(FILE_NAME)
    }

    /// Reads the record in `dir`, if there is one.
    pub(crate) fn read(dir: &Path) -> Result<Option<Acknowledged>, RecordError> {
        let path = Self::path_in(dir);
        let io_error = |source| RecordError::Io {
            path: path.clone(),
            source,
        };
        let bytes = match std::fs::read(&path) {
            Ok(bytes) => bytes,
            Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(err) => return Err(io_error(err)),
        };
        match newest_slot(&bytes) {
            Some((_, record)) => Ok(Some(record)),
            None => Err(RecordError::Damaged { path }),
        }
    }

    /// Opens the record file in `dir` for writing, creating it with `initial` when it
    /// does not exist yet.
    pub(crate) fn open(dir: &Path, initial: Acknowledged) -> io::Result<Self> {
        let path = Self::path_in(dir);
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)?;
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut &file, &mut bytes)?;
        let sequence = newest_slot(&bytes).map_or(0, |(sequence, _)| sequence);
        let mut opened = Self { file, sequence };
        if bytes.is_empty() {
            opened.write(initial)?;
            // The file's directory entry must survive a crash too.
            File::open(dir)?.sync_all()?;
        }
        Ok(opened)
    }

    /// Durably replaces the record: returns once it is on the device.
    pub(crate) fn write(&mut self, record: Acknowledged) -> io::Result<()> {
        self.sequence += 1;
        let slot = self.sequence % 2;
        self.file
            .write_all_at(&encode(self.sequence, record), slot * SLOT_SIZE)?;
        self.file.sync_data()
    }
}

fn encode(sequence: u64, record: Acknowledged) -> [u8; RECORD_LEN] {
    let mut out = [0u8; RECORD_LEN];
    out[..8].copy_from_slice(MAGIC);
    out[8..16].copy_from_slice(&sequence.to_be_bytes());
    out[16..24].copy_from_slice(&record.next_position.to_be_bytes());
    out[24..56].copy_from_slice(record.last_hash.as_bytes());
    let checksum = blake3::hash(&out[..56]);
    out[56..].copy_from_slice(checksum.as_bytes());
    out
}

fn decode(slot: &[u8]) -> Option<(u64, Acknowledged)> {
    let slot = slot.get(..RECORD_LEN)?;
    if &slot[..8] != MAGIC || blake3::hash(&slot[..56]).as_bytes()[..] != slot[56..] {
        return None;
    }
    let number = |range: std::ops::Range<usize>| {
        <[u8; 8]>::try_from(slot.get(range)?)
            .ok()
            .map(u64::from_be_bytes)
    };
    let hash: [u8; 32] = slot.get(24..56)?.try_into().ok()?;
    Some((
        number(8..16)?,
        Acknowledged {
            next_position: number(16..24)?,
            last_hash: Hash(hash),
        },
    ))
}

/// The valid slot with the highest sequence number.
fn newest_slot(bytes: &[u8]) -> Option<(u64, Acknowledged)> {
    (0..2)
        .filter_map(|slot| bytes.get((slot * SLOT_SIZE) as usize..))
        .filter_map(decode)
        .max_by_key(|(sequence, _)| *sequence)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(next_position: u64) -> Acknowledged {
        Acknowledged {
            next_position,
            last_hash: Hash([next_position as u8; 32]),
        }
    }

    #[test]
    fn the_newest_write_is_read_back() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(AcknowledgedFile::read(dir.path()).unwrap(), None);
        let mut file = AcknowledgedFile::open(dir.path(), record(0)).unwrap();
        assert_eq!(AcknowledgedFile::read(dir.path()).unwrap(), Some(record(0)));
        for n in 1..5 {
            file.write(record(n)).unwrap();
            assert_eq!(AcknowledgedFile::read(dir.path()).unwrap(), Some(record(n)));
        }
        let mut reopened = AcknowledgedFile::open(dir.path(), record(0)).unwrap();
        assert_eq!(AcknowledgedFile::read(dir.path()).unwrap(), Some(record(4)));
        reopened.write(record(9)).unwrap();
        assert_eq!(AcknowledgedFile::read(dir.path()).unwrap(), Some(record(9)));
    }

    #[test]
    fn a_torn_slot_leaves_the_previous_record() {
        let dir = tempfile::tempdir().unwrap();
        let mut file = AcknowledgedFile::open(dir.path(), record(0)).unwrap();
        file.write(record(7)).unwrap();
        file.write(record(8)).unwrap();
        // The slot of the newest write is damaged: the other one still stands.
        let path = AcknowledgedFile::path_in(dir.path());
        let mut bytes = std::fs::read(&path).unwrap();
        let newest = (file.sequence % 2 * SLOT_SIZE) as usize;
        bytes[newest + 20] ^= 0xff;
        std::fs::write(&path, &bytes).unwrap();
        assert_eq!(AcknowledgedFile::read(dir.path()).unwrap(), Some(record(7)));
    }

    #[test]
    fn a_file_with_no_valid_slot_is_damaged() {
        let dir = tempfile::tempdir().unwrap();
        AcknowledgedFile::open(dir.path(), record(3)).unwrap();
        let path = AcknowledgedFile::path_in(dir.path());
        std::fs::write(&path, b"not a record").unwrap();
        assert!(matches!(
            AcknowledgedFile::read(dir.path()),
            Err(RecordError::Damaged { .. })
        ));
    }
}
