//! Where an append's events land and what they chain to: the one rule every backend's
//! writer follows, so that the same appends give the same positions, versions and hashes
//! on any of them (a backup restores byte for byte, a copy keeps its digest).

use crate::hash::{Link, chain_hash};
use crate::{AppendOutcome, EventSlot, ExpectedVersion, Hash, PreparedEvent, StoreError, StreamId};

/// The end of the global log, as its writer sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogEnd {
    pub next_position: u64,
    /// The hash of the event at `next_position - 1` (genesis for an empty log).
    pub last_hash: Hash,
}

/// One event of an append, placed: where it lands and the hash that chains it.
#[derive(Debug, Clone, Copy)]
pub struct Placed<'a> {
    pub prepared: &'a PreparedEvent,
    pub version: u64,
    pub position: u64,
    pub hash: Hash,
}

/// Checks `expected` against the stream's `head` (its last version and that event's
/// hash), then places each event after `end`, hands it to `write` and moves `end` past
/// it. When the check fails, nothing is handed over and `end` stays. The stream's new
/// head is the answer's last version with `end.last_hash`.
pub fn place_append<'a>(
    stream: &StreamId,
    expected: ExpectedVersion,
    head: Option<(u64, Hash)>,
    end: &mut LogEnd,
    recorded_at_micros: i64,
    events: &'a [PreparedEvent],
    mut write: impl FnMut(Placed<'a>),
) -> Result<AppendOutcome, StoreError> {
    let actual = head.map(|(version, _)| version);
    if !expected.admits(actual) {
        return Err(StoreError::WrongExpectedVersion {
            stream: stream.clone(),
            expected,
            actual,
        });
    }
    let mut prev_stream_hash = head.map_or(Hash::GENESIS, |(_, hash)| hash);
    let first_version = actual.map_or(0, |v| v + 1);
    let mut slots = Vec::with_capacity(events.len());
    for (version, prepared) in (first_version..).zip(events) {
        let position = end.next_position;
        let hash = chain_hash(
            &prepared.content_hash,
            &Link {
                position,
                version,
                recorded_at_micros,
                prev_stream_hash,
                prev_global_hash: end.last_hash,
            },
        );
        write(Placed {
            prepared,
            version,
            position,
            hash,
        });
        slots.push(EventSlot {
            event_id: prepared.event.event_id,
            version,
            position,
        });
        prev_stream_hash = hash;
        *end = LogEnd {
            next_position: position + 1,
            last_hash: hash,
        };
    }
    Ok(AppendOutcome {
        slots,
        replayed: false,
    })
}

#[cfg(test)]
mod tests {
    use jiff::Timestamp;
    use uuid::Uuid;

    use super::*;
    use crate::{NewEvent, StoreLimits};

    fn prepared(stream: &StreamId, ids: &[u128]) -> Vec<PreparedEvent> {
        let events = ids
            .iter()
            .map(|&n| NewEvent {
                event_id: Uuid::from_u128(n),
                event_type: "complaint.note_added".into(),
                schema_version: 1,
                occurred_at: Timestamp::UNIX_EPOCH,
                correlation_id: None,
                causation_id: None,
                actor: "dealer_staff:a".into(),
                payload: vec![1, 2, 3],
            })
            .collect();
        StoreLimits::default()
            .prepare(stream, events)
            .expect("within the limits")
    }

    #[test]
    fn events_follow_the_stream_head_and_the_log_end_and_chain_to_both() {
        let stream = StreamId::new("SH-0042:C-1").expect("a stream");
        let events = prepared(&stream, &[1, 2]);
        let before = LogEnd {
            next_position: 10,
            last_hash: Hash([7; 32]),
        };
        let mut end = before;
        let mut placed = Vec::new();
        let outcome = place_append(
            &stream,
            ExpectedVersion::Exact(4),
            Some((4, Hash([9; 32]))),
            &mut end,
            1_000,
            &events,
            |p| placed.push((p.version, p.position, p.hash)),
        )
        .expect("admitted");
        assert_eq!(
            placed.iter().map(|(v, p, _)| (*v, *p)).collect::<Vec<_>>(),
            [(5, 10), (6, 11)]
        );
        let first = chain_hash(
            &events[0].content_hash,
            &Link {
                position: 10,
                version: 5,
                recorded_at_micros: 1_000,
                prev_stream_hash: Hash([9; 32]),
                prev_global_hash: Hash([7; 32]),
            },
        );
        assert_eq!(placed[0].2, first);
        assert_eq!(
            end,
            LogEnd {
                next_position: 12,
                last_hash: placed[1].2
            }
        );
        assert_eq!(outcome.last_version(), 6);
        assert!(!outcome.replayed);
    }

    #[test]
    fn a_refused_version_places_nothing_and_leaves_the_end() {
        let stream = StreamId::new("SH-0042:C-1").expect("a stream");
        let events = prepared(&stream, &[1]);
        let before = LogEnd {
            next_position: 3,
            last_hash: Hash([7; 32]),
        };
        let mut end = before;
        let mut calls = 0;
        let refused = place_append(
            &stream,
            ExpectedVersion::NoStream,
            Some((0, Hash([9; 32]))),
            &mut end,
            0,
            &events,
            |_| calls += 1,
        );
        assert!(matches!(
            refused,
            Err(StoreError::WrongExpectedVersion {
                actual: Some(0),
                ..
            })
        ));
        assert_eq!((calls, end), (0, before));
    }
}
