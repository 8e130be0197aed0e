//! An endpoint's durable place in the log: the position of the next event it has not
//! yet dealt with (delivered, skipped by its filter, or put in its dead letters).
//!
//! The file is 20 bytes: a tag, the position (little-endian) and the first 8 bytes of
//! the BLAKE3 hash of both, so that a torn or damaged file is refused rather than read
//! as some other position.

use std::path::{Path, PathBuf};

use super::files::write_atomically;

const TAG: &[u8; 4] = b"CFW1";
const LEN: usize = 4 + 8 + 8;

#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    #[error("webhook checkpoint {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "webhook checkpoint {path} is damaged (wrong length, tag or checksum); remove it to start that endpoint again from the head of the log"
    )]
    Damaged { path: PathBuf },
}

/// Reads the checkpoint; `None` when the endpoint has none yet.
pub fn read(path: &Path) -> Result<Option<u64>, CheckpointError> {
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(CheckpointError::Io {
                path: path.to_owned(),
                source,
            });
        }
    };
    decode(&bytes)
        .map(Some)
        .ok_or_else(|| CheckpointError::Damaged {
            path: path.to_owned(),
        })
}

/// Replaces the checkpoint with `next`, durably.
pub fn write(path: &Path, next: u64) -> Result<(), CheckpointError> {
    write_atomically(path, &encode(next)).map_err(|source| CheckpointError::Io {
        path: path.to_owned(),
        source,
    })
}

fn encode(next: u64) -> [u8; LEN] {
    let mut bytes = [0u8; LEN];
    bytes[..4].copy_from_slice(TAG);
    bytes[4..12].copy_from_slice(&next.to_le_bytes());
    let sum = blake3::hash(&bytes[..12]);
    bytes[12..].copy_from_slice(&sum.as_bytes()[..8]);
    bytes
}

fn decode(bytes: &[u8]) -> Option<u64> {
    if bytes.len() != LEN || &bytes[..4] != TAG {
        return None;
    }
    let sum = blake3::hash(&bytes[..12]);
    if bytes[12..] != sum.as_bytes()[..8] {
        return None;
    }
    Some(u64::from_le_bytes(bytes[4..12].try_into().ok()?))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests stop at the first surprise")]

    use super::*;

    #[test]
    fn a_checkpoint_reads_back_and_a_damaged_one_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("webhooks").join("a.checkpoint");
        assert_eq!(read(&path).unwrap(), None);
        write(&path, 42).unwrap();
        assert_eq!(read(&path).unwrap(), Some(42));
        write(&path, u64::MAX - 1).unwrap();
        assert_eq!(read(&path).unwrap(), Some(u64::MAX - 1));

        let mut bytes = std::fs::read(&path).unwrap();
        bytes[5] ^= 1;
        std::fs::write(&path, &bytes).unwrap();
        assert!(matches!(read(&path), Err(CheckpointError::Damaged { .. })));
        std::fs::write(&path, &bytes[..7]).unwrap();
        assert!(matches!(read(&path), Err(CheckpointError::Damaged { .. })));
    }
}
