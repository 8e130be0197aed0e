//! The read models on disk: one file with the checkpoint, every complaint's record and
//! the statistics, written to a temporary file, synced, then renamed over the last one.
//!
//! A snapshot is only a shortcut: the log is the truth. A snapshot that is missing,
//! torn, from another format or built under another policy is set aside and the read
//! models are rebuilt from the log, so nothing here has to be migrated.
//!
//! Layout: `MAGIC`, then bincode values: `Header`, the records (`ComplaintRecord`s) in
//! the parts the header lists, `buckets` × (`BucketKey`, `StatsBucket`), `follow_ups` ×
//! `FollowUpState`, and last the BLAKE3 hash of all the bytes before it.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::record::ComplaintRecord;
use super::stats::Buckets;
use complaintflow_domain::follow_up::FollowUpState;
use complaintflow_log::Hash;
use complaintflow_log::parallel;
use rayon::iter::{IntoParallelIterator, ParallelIterator};
use rayon::slice::ParallelSlice;

const MAGIC: &[u8; 16] = b"complaintflow-rm";
/// Bump when the layout or the meaning of what is stored changes.
pub(crate) const FORMAT: u32 = 4;
/// More parts than this cannot have been written (one per core).
const MAX_PARTS: usize = 1024;
const FILE: &str = "read-models.snapshot";

#[derive(Debug, Serialize, Deserialize)]
struct Header {
    format: u32,
    /// The policy and layout the records were worked out under.
    fingerprint: Vec<u8>,
    checkpoint: u64,
    /// The log's chain hash at `checkpoint - 1`.
    log_hash: [u8; 32],
    /// The records come in parts, decoded on every core: (records, bytes) of each.
    parts: Vec<(u64, u64)>,
    buckets: u64,
    follow_ups: u64,
}

/// What a snapshot holds.
#[derive(Debug)]
pub(crate) struct Contents {
    pub checkpoint: u64,
    pub log_hash: Hash,
    /// The records, in parts.
    pub records: Vec<Vec<Arc<ComplaintRecord>>>,
    pub stats: Buckets,
    pub follow_ups: Vec<FollowUpState>,
}

/// Why a snapshot was not used.
#[derive(Debug, thiserror::Error)]
pub(crate) enum Unusable {
    #[error("no snapshot")]
    Missing,
    #[error("built under another policy or format")]
    Outdated,
    #[error("damaged: {0}")]
    Damaged(String),
    #[error("unreadable: {0}")]
    Io(#[from] io::Error),
}

pub(crate) fn path_in(dir: &Path) -> PathBuf {
    dir.join(FILE)
}

/// Writes the snapshot and makes it durable before it replaces the previous one.
/// Records are encoded on every core.
pub(crate) fn write(
    dir: &Path,
    fingerprint: &[u8],
    (checkpoint, log_hash): (u64, Hash),
    records: &[Arc<ComplaintRecord>],
    (stats, follow_ups): (&Buckets, &[FollowUpState]),
) -> io::Result<u64> {
    let chunk = records.len().div_ceil(parallel::cores()).max(1);
    let parts = records
        .par_chunks(chunk)
        .map(|part| {
            let mut bytes = Vec::new();
            for record in part {
                encode(record.as_ref(), &mut bytes)?;
            }
            Ok::<_, io::Error>((part.len() as u64, bytes))
        })
        .collect::<io::Result<Vec<_>>>()?;
    let header = Header {
        format: FORMAT,
        fingerprint: fingerprint.to_vec(),
        checkpoint,
        log_hash: log_hash.0,
        parts: parts
            .iter()
            .map(|(count, bytes)| (*count, bytes.len() as u64))
            .collect(),
        buckets: stats.len() as u64,
        follow_ups: follow_ups.len() as u64,
    };
    let mut head = MAGIC.to_vec();
    encode(&header, &mut head)?;
    let mut tail = Vec::new();
    for bucket in stats {
        encode(&bucket, &mut tail)?;
    }
    for follow_up in follow_ups {
        encode(follow_up, &mut tail)?;
    }
    let mut hasher = blake3::Hasher::new();
    let sections = std::iter::once(&head)
        .chain(parts.iter().map(|(_, bytes)| bytes))
        .chain(std::iter::once(&tail));
    let temporary = dir.join(format!("{FILE}.tmp"));
    let mut file = File::create(&temporary)?;
    let mut written = 0;
    for section in sections {
        hasher.update(section);
        file.write_all(section)?;
        written += section.len() as u64;
    }
    file.write_all(hasher.finalize().as_bytes())?;
    file.sync_all()?;
    fs::rename(&temporary, path_in(dir))?;
    File::open(dir)?.sync_all()?;
    Ok(written + 32)
}

/// Reads the snapshot in `dir` if it is whole and was built under `fingerprint`.
pub(crate) fn read(dir: &Path, fingerprint: &[u8]) -> Result<Contents, Unusable> {
    let bytes = match fs::read(path_in(dir)) {
        Ok(bytes) => bytes,
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Err(Unusable::Missing),
        Err(err) => return Err(err.into()),
    };
    let damaged = |why: &str| Unusable::Damaged(why.to_owned());
    let (body, stored_hash) = bytes
        .split_at_checked(bytes.len().saturating_sub(32))
        .ok_or_else(|| damaged("too short"))?;
    if stored_hash != blake3::hash(body).as_bytes() {
        return Err(damaged("checksum mismatch"));
    }
    let mut input = body
        .strip_prefix(MAGIC.as_slice())
        .ok_or_else(|| damaged("not a read-model snapshot"))?;
    let header: Header = decode(&mut input)?;
    if header.format != FORMAT || header.fingerprint != fingerprint {
        return Err(Unusable::Outdated);
    }
    if header.parts.len() > MAX_PARTS {
        return Err(damaged("too many parts"));
    }
    let mut sections = Vec::with_capacity(header.parts.len());
    for &(count, bytes) in &header.parts {
        let (section, rest) = usize::try_from(bytes)
            .ok()
            .and_then(|bytes| input.split_at_checked(bytes))
            .ok_or_else(|| damaged("a part runs past the end"))?;
        sections.push((count, section));
        input = rest;
    }
    let records = sections
        .into_par_iter()
        .map(|(count, mut section)| {
            let records = (0..count)
                .map(|_| decode(&mut section).map(Arc::new))
                .collect::<Result<Vec<Arc<ComplaintRecord>>, _>>()?;
            if section.is_empty() {
                Ok(records)
            } else {
                Err(damaged("a part is longer than its records"))
            }
        })
        .collect::<Result<Vec<_>, _>>()?;
    let stats = (0..header.buckets)
        .map(|_| decode(&mut input))
        .collect::<Result<Buckets, _>>()?;
    // Pushed one by one: a count is not trusted to size an allocation.
    let mut follow_ups = Vec::new();
    for _ in 0..header.follow_ups {
        follow_ups.push(decode::<FollowUpState>(&mut input)?);
    }
    if !input.is_empty() {
        return Err(damaged("bytes after the last follow-up"));
    }
    Ok(Contents {
        checkpoint: header.checkpoint,
        log_hash: Hash(header.log_hash),
        records,
        stats,
        follow_ups,
    })
}

/// Forgets the snapshot (a missing one is fine).
pub(crate) fn remove(dir: &Path) -> io::Result<()> {
    match fs::remove_file(path_in(dir)) {
        Err(err) if err.kind() != io::ErrorKind::NotFound => Err(err),
        _ => Ok(()),
    }
}

fn encode<T: Serialize + ?Sized>(value: &T, out: &mut Vec<u8>) -> io::Result<()> {
    bincode::serde::encode_into_std_write(value, out, bincode::config::standard())
        .map(|_| ())
        .map_err(io::Error::other)
}

/// Decodes one value from the front of `input` and moves past it.
fn decode<T: DeserializeOwned>(input: &mut &[u8]) -> Result<T, Unusable> {
    let (value, used) = bincode::serde::decode_from_slice(input, bincode::config::standard())
        .map_err(|e| Unusable::Damaged(e.to_string()))?;
    *input = &input[used..];
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::projections::BucketKey;
    use crate::projections::stats::StatsBucket;

    fn stats() -> Buckets {
        let key = BucketKey {
            region: "EAST".into(),
            dealer: "SH-01".into(),
            month: "2026-11".into(),
        };
        let bucket = StatsBucket {
            complaints: 3,
            escalated: 1,
            ..StatsBucket::default()
        };
        Buckets::from([(key, bucket)])
    }

    #[test]
    fn a_snapshot_reads_back_as_written() {
        let dir = tempfile::tempdir().unwrap();
        assert!(matches!(read(dir.path(), b"p"), Err(Unusable::Missing)));
        write(dir.path(), b"p", (42, Hash::GENESIS), &[], (&stats(), &[])).unwrap();
        let contents = read(dir.path(), b"p").unwrap();
        assert_eq!(contents.checkpoint, 42);
        assert_eq!(contents.stats, stats());
        assert!(contents.records.is_empty());
        assert!(!dir.path().join(format!("{FILE}.tmp")).exists());
    }

    #[test]
    fn another_policy_makes_it_outdated() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), b"p", (1, Hash::GENESIS), &[], (&stats(), &[])).unwrap();
        assert!(matches!(read(dir.path(), b"q"), Err(Unusable::Outdated)));
    }

    #[test]
    fn any_damage_is_detected() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), b"p", (7, Hash::GENESIS), &[], (&stats(), &[])).unwrap();
        let whole = fs::read(path_in(dir.path())).unwrap();
        for at in [0, MAGIC.len() + 3, whole.len() / 2, whole.len() - 1] {
            let mut bytes = whole.clone();
            bytes[at] ^= 0x40;
            fs::write(path_in(dir.path()), &bytes).unwrap();
            assert!(
                matches!(read(dir.path(), b"p"), Err(Unusable::Damaged(_))),
                "flipped byte {at}"
            );
        }
        for length in [0, 10, whole.len() - 1] {
            fs::write(path_in(dir.path()), &whole[..length]).unwrap();
            assert!(
                matches!(read(dir.path(), b"p"), Err(Unusable::Damaged(_))),
                "cut at {length}"
            );
        }
    }

    #[test]
    fn removing_a_missing_snapshot_is_fine() {
        let dir = tempfile::tempdir().unwrap();
        remove(dir.path()).unwrap();
        write(dir.path(), b"p", (1, Hash::GENESIS), &[], (&stats(), &[])).unwrap();
        remove(dir.path()).unwrap();
        assert!(matches!(read(dir.path(), b"p"), Err(Unusable::Missing)));
    }
}
