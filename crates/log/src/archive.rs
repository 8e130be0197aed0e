//! A portable archive of the log, and restoring one into an empty store of any backend.
//!
//! An archive holds every event of the log up to a digest, verbatim: position, version,
//! both times, actor, payload and both hashes, in the record format of [`codec`]. It is
//! a file of frames:
//!
//! - the header: [`MAGIC`], then the archive format as one byte;
//! - one frame per event: `E`, the record's length as a big-endian `u32`, the record;
//! - the trailer: `T`, the number of events as a big-endian `u64`, and the digest of the
//!   last event (its position as a big-endian `u64` and its 32-byte hash).
//!
//! A file cut short has no trailer and is refused as incomplete; a damaged record fails
//! to decode or breaks the chain, and is named by its position.
//!
//! Restoring goes through the ordinary [`EventStore::append`], so every backend restores
//! the same way: each run of events of one stream recorded at one moment is appended
//! with the store's clock set to that moment, and the store must give back the very
//! position, version and hash the archive holds. A store that stamps or chains events
//! differently is caught on the first event, not trusted.

use std::io::{self, BufRead, Write};

use crate::clock::ManualClock;
use crate::codec::{self, DecodeError};
use crate::hash::Hash;
use crate::{Digest, EventStore, ExpectedVersion, LogReader, NewEvent, RecordedEvent, StoreError};

/// The first bytes of every archive.
pub const MAGIC: &[u8; 8] = b"CFLOGARC";
/// The archive format this build writes and reads.
pub const FORMAT: u8 = 1;
const EVENT_TAG: u8 = b'E';
const TRAILER_TAG: u8 = b'T';
/// No record is larger than this: a length beyond it is damage, not a record to allocate.
const MAX_RECORD_BYTES: u32 = 64 * 1024 * 1024;
/// Events read from the store per page while writing an archive.
const PAGE: usize = 2_000;

#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    #[error("reading or writing the archive: {0}")]
    Io(#[from] io::Error),
    #[error("not a complaintflow log archive (it does not start with {MAGIC:?})")]
    NotAnArchive,
    #[error("archive format {0} is newer than this build reads ({FORMAT})")]
    NewerFormat(u8),
    #[error("the archive is incomplete: it ends after {events} events without its trailer")]
    Incomplete { events: u64 },
    #[error("the archive is damaged at event {index}: {reason}")]
    Damaged { index: u64, reason: String },
    #[error("the archive's record of position {position} does not decode: {source}")]
    Record {
        position: u64,
        #[source]
        source: DecodeError,
    },
    #[error("the archive's trailer says {expected}, but the events end at {found}")]
    TrailerMismatch { expected: String, found: String },
    #[error(
        "the target store is not empty (its log reaches position {head}): restore only into an empty store"
    )]
    TargetNotEmpty { head: u64 },
    #[error(
        "restoring position {position}: the target store gave {found}, the archive holds {expected}; the target does not reproduce the log verbatim"
    )]
    Diverged {
        position: u64,
        expected: String,
        found: String,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What an archive holds, as its trailer says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Summary {
    pub events: u64,
    /// `None` for the archive of an empty log.
    pub digest: Option<Digest>,
}

/// Writes the archive of `store`'s log up to its head at the moment of the call; events
/// appended meanwhile are not included. Returns what the trailer says.
pub async fn write(store: &dyn LogReader, out: &mut impl Write) -> Result<Summary, ArchiveError> {
    let end = store.head();
    out.write_all(MAGIC)?;
    out.write_all(&[FORMAT])?;
    let mut next = 0;
    let mut events = 0u64;
    let mut last: Option<Digest> = None;
    let mut record = Vec::new();
    while next < end {
        let page = store
            .read_all(next, PAGE.min((end - next) as usize))
            .await?;
        let Some(tail) = page.last() else { break };
        next = tail.position + 1;
        for event in &page {
            record.clear();
            codec::encode_into(event.into(), &mut record);
            write_event(out, &record)?;
            events += 1;
            last = Some(Digest {
                position: event.position,
                head_hash: event.hash,
            });
        }
    }
    out.write_all(&[TRAILER_TAG])?;
    out.write_all(&events.to_be_bytes())?;
    let (position, hash) = last.map_or((0, Hash::GENESIS), |d| (d.position, d.head_hash));
    out.write_all(&position.to_be_bytes())?;
    out.write_all(hash.as_bytes())?;
    out.flush()?;
    Ok(Summary {
        events,
        digest: last,
    })
}

fn write_event(out: &mut impl Write, record: &[u8]) -> io::Result<()> {
    let len = u32::try_from(record.len())
        .ok()
        .filter(|len| *len <= MAX_RECORD_BYTES)
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "a record over 64 MiB"))?;
    out.write_all(&[EVENT_TAG])?;
    out.write_all(&len.to_be_bytes())?;
    out.write_all(record)
}

/// Reads an archive's events in order. The iterator's last item is an error unless the
/// archive ends with a trailer that matches its events; [`Reader::summary`] then says
/// what it held.
pub struct Reader<R> {
    input: R,
    read: u64,
    last: Option<Digest>,
    summary: Option<Summary>,
    failed: bool,
}

impl<R: BufRead> Reader<R> {
    pub fn open(mut input: R) -> Result<Self, ArchiveError> {
        let mut header = [0u8; 9];
        input
            .read_exact(&mut header)
            .map_err(|err| match err.kind() {
                io::ErrorKind::UnexpectedEof => ArchiveError::NotAnArchive,
                _ => ArchiveError::Io(err),
            })?;
        let (magic, format) = header.split_at(MAGIC.len());
        if magic != MAGIC {
            return Err(ArchiveError::NotAnArchive);
        }
        if format[0] != FORMAT {
            return Err(ArchiveError::NewerFormat(format[0]));
        }
        Ok(Self {
            input,
            read: 0,
            last: None,
            summary: None,
            failed: false,
        })
    }

    /// What the trailer said, once the reader has reached it.
    pub fn summary(&self) -> Option<Summary> {
        self.summary
    }

    fn next_event(&mut self) -> Result<Option<RecordedEvent>, ArchiveError> {
        let mut tag = [0u8; 1];
        if let Err(err) = self.input.read_exact(&mut tag) {
            return Err(match err.kind() {
                io::ErrorKind::UnexpectedEof => ArchiveError::Incomplete { events: self.read },
                _ => ArchiveError::Io(err),
            });
        }
        match tag[0] {
            EVENT_TAG => {
                let len = u32::from_be_bytes(self.exact::<4>()?);
                if len > MAX_RECORD_BYTES {
                    return Err(self.damaged(format!("a record claims {len} bytes")));
                }
                let mut record = vec![0u8; len as usize];
                self.fill(&mut record)?;
                let event = codec::decode(&record).map_err(|source| ArchiveError::Record {
                    position: self.last.map_or(0, |d| d.position + 1),
                    source,
                })?;
                self.read += 1;
                self.last = Some(Digest {
                    position: event.position,
                    head_hash: event.hash,
                });
                Ok(Some(event))
            }
            TRAILER_TAG => {
                let events = u64::from_be_bytes(self.exact::<8>()?);
                let position = u64::from_be_bytes(self.exact::<8>()?);
                let hash = Hash(self.exact::<32>()?);
                let said = (events, (events > 0).then_some((position, hash)));
                let found = (self.read, self.last.map(|d| (d.position, d.head_hash)));
                if said != found {
                    return Err(ArchiveError::TrailerMismatch {
                        expected: describe(said.0, said.1),
                        found: describe(found.0, found.1),
                    });
                }
                self.summary = Some(Summary {
                    events,
                    digest: self.last,
                });
                Ok(None)
            }
            other => Err(self.damaged(format!("unknown frame tag {other:#04x}"))),
        }
    }

    fn exact<const N: usize>(&mut self) -> Result<[u8; N], ArchiveError> {
        let mut bytes = [0u8; N];
        self.fill(&mut bytes)?;
        Ok(bytes)
    }

    fn fill(&mut self, bytes: &mut [u8]) -> Result<(), ArchiveError> {
        self.input
            .read_exact(bytes)
            .map_err(|err| match err.kind() {
                io::ErrorKind::UnexpectedEof => ArchiveError::Incomplete { events: self.read },
                _ => ArchiveError::Io(err),
            })
    }

    fn damaged(&self, reason: String) -> ArchiveError {
        ArchiveError::Damaged {
            index: self.read,
            reason,
        }
    }
}

fn describe(events: u64, last: Option<(u64, Hash)>) -> String {
    match last {
        Some((position, hash)) => format!("{events} events ending at {position}:{hash}"),
        None => format!("{events} events"),
    }
}

impl<R: BufRead> Iterator for Reader<R> {
    type Item = Result<RecordedEvent, ArchiveError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || self.summary.is_some() {
            return None;
        }
        let next = self.next_event().transpose();
        if matches!(next, Some(Err(_))) {
            self.failed = true;
        }
        next
    }
}

/// Loads `events` (in log order, from position 0) into an empty `store` whose clock is
/// `clock`, verbatim. Nothing is trusted: the store's answer for every event must be
/// the archived position, version and hash.
pub async fn restore(
    store: &dyn EventStore,
    clock: &ManualClock,
    events: impl IntoIterator<Item = Result<RecordedEvent, ArchiveError>>,
) -> Result<u64, ArchiveError> {
    let mut restorer = Restorer::new(store, clock)?;
    for event in events {
        restorer.push(event?).await?;
    }
    restorer.finish().await
}

/// Copies the log of `source` into the empty `target` whose clock is `clock`, page by
/// page, checked as a restore is.
pub async fn copy(
    source: &dyn LogReader,
    target: &dyn EventStore,
    clock: &ManualClock,
) -> Result<u64, ArchiveError> {
    let end = source.head();
    let mut restorer = Restorer::new(target, clock)?;
    let mut next = 0;
    while next < end {
        let page = source
            .read_all(next, PAGE.min((end - next) as usize))
            .await?;
        let Some(tail) = page.last() else { break };
        next = tail.position + 1;
        for event in page {
            restorer.push(event).await?;
        }
    }
    restorer.finish().await
}

/// Appends archived events to an empty store, each run of events of one stream recorded
/// at one moment as one append, with the store's clock set to that moment.
struct Restorer<'a> {
    store: &'a dyn EventStore,
    clock: &'a ManualClock,
    run: Vec<RecordedEvent>,
    restored: u64,
}

impl<'a> Restorer<'a> {
    fn new(store: &'a dyn EventStore, clock: &'a ManualClock) -> Result<Self, ArchiveError> {
        match store.head() {
            0 => Ok(Self {
                store,
                clock,
                run: Vec::new(),
                restored: 0,
            }),
            head => Err(ArchiveError::TargetNotEmpty { head }),
        }
    }

    async fn push(&mut self, event: RecordedEvent) -> Result<(), ArchiveError> {
        let joins = self.run.last().is_some_and(|last| {
            last.stream == event.stream
                && last.recorded_at == event.recorded_at
                && last.version + 1 == event.version
                && last.position + 1 == event.position
        });
        if !joins {
            self.flush().await?;
        }
        self.run.push(event);
        Ok(())
    }

    async fn flush(&mut self) -> Result<(), ArchiveError> {
        let run = std::mem::take(&mut self.run);
        self.restored += append_run(self.store, self.clock, run).await?;
        Ok(())
    }

    async fn finish(mut self) -> Result<u64, ArchiveError> {
        self.flush().await?;
        Ok(self.restored)
    }
}

async fn append_run(
    store: &dyn EventStore,
    clock: &ManualClock,
    run: Vec<RecordedEvent>,
) -> Result<u64, ArchiveError> {
    let Some(first) = run.first() else {
        return Ok(0);
    };
    let stream = first.stream.clone();
    let expected = match first.version {
        0 => ExpectedVersion::NoStream,
        version => ExpectedVersion::Exact(version - 1),
    };
    // The store stamps each commit with its clock, never going back.
    clock.set(first.recorded_at);
    let new_events = run.iter().map(NewEvent::from).collect();
    let outcome = store.append(&stream, expected, new_events).await?;
    let stored = store.read_all(first.position, run.len()).await?;
    for (index, original) in run.iter().enumerate() {
        let (Some(slot), Some(copy)) = (outcome.slots.get(index), stored.get(index)) else {
            return Err(diverged(original, "nothing"));
        };
        // The whole record, not only the chain hash: a damaged field the store recomputes
        // (the content hash) would otherwise restore cleanly from a damaged archive.
        if slot.position != original.position || copy != original {
            return Err(diverged(original, &summary(copy)));
        }
    }
    Ok(run.len() as u64)
}

fn diverged(original: &RecordedEvent, found: &str) -> ArchiveError {
    ArchiveError::Diverged {
        position: original.position,
        expected: summary(original),
        found: found.to_owned(),
    }
}

fn summary(event: &RecordedEvent) -> String {
    format!(
        "position {} version {} hash {} content hash {}",
        event.position, event.version, event.hash, event.content_hash
    )
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use jiff::Timestamp;
    use uuid::Uuid;

    use super::*;
    use crate::clock::Clock;
    use crate::memory::MemStore;
    use crate::{StoreLimits, StreamId};

    fn clock() -> ManualClock {
        ManualClock::new(Timestamp::from_second(1_770_000_000).expect("a time"))
    }

    async fn archived_log() -> (Vec<RecordedEvent>, Vec<u8>) {
        let clock = clock();
        let store = MemStore::with_clock(Arc::new(clock.clone()), StoreLimits::default());
        for n in 0..4u128 {
            let stream = StreamId::new(format!("SH-0042:C-{}", n % 2)).expect("a stream");
            let event = NewEvent {
                event_id: Uuid::from_u128(n + 1),
                event_type: "complaint.note_added".into(),
                schema_version: 1,
                occurred_at: clock.now(),
                correlation_id: None,
                causation_id: None,
                actor: "dealer_staff:a".into(),
                payload: format!("note {n}").into_bytes(),
            };
            store
                .append(&stream, ExpectedVersion::Any, vec![event])
                .await
                .expect("append");
            clock.advance(jiff::SignedDuration::from_secs(60));
        }
        let events = store.read_all(0, 10).await.expect("read");
        let mut bytes = Vec::new();
        write(&store, &mut bytes).await.expect("archive");
        (events, bytes)
    }

    async fn restored(bytes: &[u8]) -> Result<u64, ArchiveError> {
        let clock = clock();
        let store = MemStore::with_clock(Arc::new(clock.clone()), StoreLimits::default());
        let reader = Reader::open(bytes)?;
        restore(&store, &clock, reader).await
    }

    #[tokio::test]
    async fn an_intact_archive_restores_every_event() {
        let (_, bytes) = archived_log().await;
        assert_eq!(restored(&bytes).await.expect("restores"), 4);
    }

    /// Every field of a record counts, even one the store recomputes on restore: a
    /// damaged content hash is refused, at the event that holds it.
    #[tokio::test]
    async fn a_damaged_content_hash_is_refused_and_located() {
        let (events, bytes) = archived_log().await;
        let needle = events[2].content_hash.as_bytes();
        let at = bytes
            .windows(needle.len())
            .position(|window| window == needle)
            .expect("the archive holds the content hash");
        let mut damaged = bytes.clone();
        damaged[at + 5] ^= 0x40;
        match restored(&damaged).await {
            Err(ArchiveError::Diverged { position, .. }) => assert_eq!(position, 2),
            other => panic!("a damaged archive restored: {other:?}"),
        }
    }
}
