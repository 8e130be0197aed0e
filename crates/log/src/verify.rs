//! Recomputes hash chains and checks digests, against any [`LogReader`].

use std::collections::HashMap;
use std::fmt;

use super::hash::{Hash, Link, chain_hash, content_hash};
use super::{Digest, Direction, LogLoss, LogReader, RecordedEvent, StoreError, StreamId};

const PAGE: usize = 4096;

/// What is wrong at a broken link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BreakKind {
    /// An event's content no longer matches its stored content hash.
    ContentAltered,
    /// The chained hash does not match what its links give.
    ChainBroken,
    /// A global position is missing, or holds an event that claims another position.
    PositionOutOfOrder { expected: u64, found: u64 },
    /// A stream version is missing or out of order.
    VersionOutOfOrder { expected: u64, found: u64 },
    /// The record cannot be decoded at all.
    Unreadable(String),
    /// The backend's record of what was acknowledged says events are missing or replaced.
    Lost(LogLoss),
}

/// The first place where the log stops proving itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokenLink {
    pub position: u64,
    pub stream: Option<StreamId>,
    pub version: Option<u64>,
    pub kind: BreakKind,
    pub expected_hash: Option<Hash>,
    pub found_hash: Option<Hash>,
}

impl fmt::Display for BrokenLink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "position {}", self.position)?;
        if let (Some(stream), Some(version)) = (&self.stream, self.version) {
            write!(f, " (stream {stream} version {version})")?;
        }
        match &self.kind {
            BreakKind::ContentAltered => f.write_str(": content altered")?,
            BreakKind::ChainBroken => f.write_str(": chain broken")?,
            BreakKind::PositionOutOfOrder { expected, found } => {
                write!(f, ": expected position {expected}, found {found}")?;
            }
            BreakKind::VersionOutOfOrder { expected, found } => {
                write!(f, ": expected version {expected}, found {found}")?;
            }
            BreakKind::Unreadable(why) => write!(f, ": unreadable ({why})")?,
            BreakKind::Lost(loss) => write!(f, ": {loss}")?,
        }
        if let (Some(expected), Some(found)) = (self.expected_hash, self.found_hash) {
            write!(f, "; expected hash {expected}, found {found}")?;
        }
        Ok(())
    }
}

/// The result of a verification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyReport {
    pub events_checked: u64,
    pub first_break: Option<BrokenLink>,
}

impl VerifyReport {
    pub fn is_intact(&self) -> bool {
        self.first_break.is_none()
    }
}

/// Checks one event against the chain state before it. Returns the break if any.
fn check_event(
    event: &RecordedEvent,
    expected_position: u64,
    expected_version: u64,
    prev_stream_hash: Hash,
    prev_global_hash: Hash,
) -> Option<BrokenLink> {
    let broken = |kind, expected_hash, found_hash| {
        Some(BrokenLink {
            position: expected_position,
            stream: Some(event.stream.clone()),
            version: Some(event.version),
            kind,
            expected_hash,
            found_hash,
        })
    };
    if event.position != expected_position {
        let kind = BreakKind::PositionOutOfOrder {
            expected: expected_position,
            found: event.position,
        };
        return broken(kind, None, None);
    }
    if event.version != expected_version {
        let kind = BreakKind::VersionOutOfOrder {
            expected: expected_version,
            found: event.version,
        };
        return broken(kind, None, None);
    }
    let content = content_hash(&event.stream, event);
    if !content.ct_eq(&event.content_hash) {
        return broken(
            BreakKind::ContentAltered,
            Some(content),
            Some(event.content_hash),
        );
    }
    let link = Link {
        position: event.position,
        version: event.version,
        recorded_at_micros: event.recorded_at.as_microsecond(),
        prev_stream_hash,
        prev_global_hash,
    };
    let chained = chain_hash(&content, &link);
    if !chained.ct_eq(&event.hash) {
        return broken(BreakKind::ChainBroken, Some(chained), Some(event.hash));
    }
    None
}

fn unreadable(position: u64, err: &StoreError) -> BrokenLink {
    BrokenLink {
        position,
        stream: None,
        version: None,
        kind: BreakKind::Unreadable(err.to_string()),
        expected_hash: None,
        found_hash: None,
    }
}

/// Walks the global log from the start up to `until` (exclusive), checking every link.
/// Returns the report and the hash of the last event checked.
async fn walk_log(store: &dyn LogReader, until: u64) -> Result<(VerifyReport, Hash), StoreError> {
    let mut streams: HashMap<StreamId, (u64, Hash)> = HashMap::new();
    let mut prev_global = Hash::GENESIS;
    let mut next = 0u64;
    let mut page_size = PAGE;
    while next < until {
        let page = match store
            .read_all(next, page_size.min((until - next) as usize))
            .await
        {
            Ok(page) => page,
            // A page with an unreadable record: read it one event at a time to find where.
            Err(StoreError::Corrupt { .. }) if page_size > 1 => {
                page_size = 1;
                continue;
            }
            Err(err @ StoreError::Corrupt { .. }) => {
                let report = VerifyReport {
                    events_checked: next,
                    first_break: Some(unreadable(next, &err)),
                };
                return Ok((report, prev_global));
            }
            Err(err) => return Err(err),
        };
        if page.is_empty() {
            break;
        }
        for event in &page {
            let (expected_version, prev_stream) = streams
                .get(&event.stream)
                .map_or((0, Hash::GENESIS), |&(v, h)| (v + 1, h));
            if let Some(broken) =
                check_event(event, next, expected_version, prev_stream, prev_global)
            {
                let report = VerifyReport {
                    events_checked: next,
                    first_break: Some(broken),
                };
                return Ok((report, prev_global));
            }
            streams.insert(event.stream.clone(), (event.version, event.hash));
            prev_global = event.hash;
            next += 1;
        }
    }
    if next < until {
        // The log ends before the point it should reach: events were removed at the end.
        let report = VerifyReport {
            events_checked: next,
            first_break: Some(BrokenLink {
                position: next,
                stream: None,
                version: None,
                kind: BreakKind::PositionOutOfOrder {
                    expected: next,
                    found: until,
                },
                expected_hash: None,
                found_hash: None,
            }),
        };
        return Ok((report, prev_global));
    }
    Ok((
        VerifyReport {
            events_checked: next,
            first_break: None,
        },
        prev_global,
    ))
}

/// Verifies the whole global log: every content hash, every stream link, every global link.
/// A log that lost acknowledged events is never intact, however well what is left verifies.
pub async fn verify_log(store: &dyn LogReader) -> Result<VerifyReport, StoreError> {
    let mut report = walk_log(store, store.head()).await?.0;
    if report.first_break.is_none()
        && let Some(loss) = store.known_loss()
    {
        let position = match &loss {
            LogLoss::Truncated { found, .. } => *found,
            LogLoss::Diverged { position, .. } => *position,
            LogLoss::RecordUnreadable { .. } => report.events_checked,
        };
        report.first_break = Some(BrokenLink {
            position,
            stream: None,
            version: None,
            kind: BreakKind::Lost(loss),
            expected_hash: None,
            found_hash: None,
        });
    }
    Ok(report)
}

/// Verifies one stream: its versions, content hashes, and each event's links to the
/// previous event of the stream and of the global log.
pub async fn verify_stream(
    store: &dyn LogReader,
    stream: &StreamId,
) -> Result<VerifyReport, StoreError> {
    let mut prev_stream = Hash::GENESIS;
    let mut next_version = 0u64;
    loop {
        let page = store
            .read_stream(stream, next_version, Direction::Forwards, PAGE)
            .await?;
        if page.is_empty() {
            break;
        }
        for event in &page {
            let prev_global = match event.position.checked_sub(1) {
                None => Hash::GENESIS,
                Some(before) => match store.read_all(before, 1).await {
                    Ok(events) => match events.first() {
                        Some(prev) if prev.position == before => prev.hash,
                        _ => {
                            let missing = StoreError::Corrupt {
                                location: format!("position {before}"),
                                reason: "missing".into(),
                            };
                            return Ok(stream_break(next_version, unreadable(before, &missing)));
                        }
                    },
                    Err(err @ StoreError::Corrupt { .. }) => {
                        return Ok(stream_break(next_version, unreadable(before, &err)));
                    }
                    Err(err) => return Err(err),
                },
            };
            if let Some(broken) = check_event(
                event,
                event.position,
                next_version,
                prev_stream,
                prev_global,
            ) {
                return Ok(stream_break(next_version, broken));
            }
            prev_stream = event.hash;
            next_version += 1;
        }
    }
    Ok(VerifyReport {
        events_checked: next_version,
        first_break: None,
    })
}

fn stream_break(checked: u64, broken: BrokenLink) -> VerifyReport {
    VerifyReport {
        events_checked: checked,
        first_break: Some(broken),
    }
}

/// A digest of the log as it is now: the last durable position and its hash.
pub async fn take_digest(store: &dyn LogReader) -> Result<Option<Digest>, StoreError> {
    let Some(last) = store.head().checked_sub(1) else {
        return Ok(None);
    };
    let events = store.read_all(last, 1).await?;
    Ok(events.first().map(|e| Digest {
        position: e.position,
        head_hash: e.hash,
    }))
}

/// Whether the log up to a saved digest is still a prefix of today's log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DigestCheck {
    /// The chain up to the digest verifies and ends in the digest's hash.
    Consistent,
    /// The log no longer reaches the digest's position.
    Truncated { head: u64 },
    /// The chain verifies, but ends in another hash: history was rewritten consistently.
    HashMismatch { found: Hash },
    /// The chain before the digest is broken.
    Broken(BrokenLink),
}

pub async fn check_digest(
    store: &dyn LogReader,
    digest: &Digest,
) -> Result<DigestCheck, StoreError> {
    let head = store.head();
    if digest.position >= head {
        return Ok(DigestCheck::Truncated { head });
    }
    let (report, last_hash) = walk_log(store, digest.position + 1).await?;
    if let Some(broken) = report.first_break {
        return Ok(DigestCheck::Broken(broken));
    }
    if !last_hash.ct_eq(&digest.head_hash) {
        return Ok(DigestCheck::HashMismatch { found: last_hash });
    }
    Ok(DigestCheck::Consistent)
}
