//! Telling a retry from a new append or a misuse of event ids: one judgment, so that
//! every backend answers a retry exactly alike (a retry may reach another node, or another
//! backend after a copy), and a writer above the log (the engine, whose rules would judge a
//! retry as new once the state has moved on) asks the same judgment before it decides.

use uuid::Uuid;

use super::EventStore;
use super::error::StoreError;
use super::hash::{Hash, content_hash};
use super::limits::{PreparedEvent, truncate_to_micros};
use super::types::{AppendOutcome, EventSlot, NewEvent, RecordedEvent, StreamId};

/// Where a stored event id landed and what it held.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoredId {
    pub version: u64,
    pub position: u64,
    pub content_hash: Hash,
}

/// If every event id of the append is already stored with the same content, as one
/// append, this is a retry: the answer is what the original got. Any other overlap with
/// stored ids is a conflict. `None` when no id of the append is stored.
pub fn judge(
    events: &[PreparedEvent],
    mut stored: impl FnMut(&Uuid) -> Result<Option<StoredId>, StoreError>,
) -> Result<Option<AppendOutcome>, StoreError> {
    let mut found = Vec::new();
    for prepared in events {
        if let Some(entry) = stored(&prepared.event.event_id)? {
            found.push((prepared, entry));
        }
    }
    let Some((_, first)) = found.first().copied() else {
        return Ok(None);
    };
    let conflict = |event_id: Uuid, reason: &str| StoreError::IdempotencyConflict {
        event_id,
        reason: reason.to_owned(),
    };
    if found.len() < events.len() {
        let (prepared, _) = found[0];
        return Err(conflict(
            prepared.event.event_id,
            "some events of this append are stored and others are not",
        ));
    }
    let mut slots = Vec::with_capacity(found.len());
    for (offset, (prepared, entry)) in (0u64..).zip(&found) {
        if entry.version != first.version + offset || entry.position != first.position + offset {
            return Err(conflict(
                prepared.event.event_id,
                "these event ids were stored by different appends",
            ));
        }
        if !entry.content_hash.ct_eq(&prepared.content_hash) {
            return Err(conflict(prepared.event.event_id, "stored content differs"));
        }
        slots.push(EventSlot {
            event_id: prepared.event.event_id,
            version: entry.version,
            position: entry.position,
        });
    }
    Ok(Some(AppendOutcome {
        slots,
        replayed: true,
    }))
}

/// One event of an append as its writer was asked for it, before anything was decided
/// from the log's state: what a retry of it must match.
#[derive(Debug, Clone)]
pub struct Requested {
    /// The event as it would be appended now.
    pub event: NewEvent,
    /// What `event.occurred_at` is: the requester's own time, or one the writer filled in
    /// (the time of this attempt, which no retry shares, so it is no part of the request).
    pub time: RequestedTime,
}

/// Whose time a requested event carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestedTime {
    /// The requester said when it happened: a retry must say the same.
    Given,
    /// The writer stamped it: a retry matches whatever time the original was stored with.
    Filled,
}

/// Whether `requested` is already stored in `stream`, asked before the append is decided:
/// the answer the original got if it is, `None` if no event of it is stored, and the
/// same conflicts [`judge`] reports otherwise. Its events are compared by content hash,
/// as an append's are, with each filled-in time taken from the stored event.
pub async fn stored_retry<L: EventStore + ?Sized>(
    log: &L,
    stream: &StreamId,
    requested: &[Requested],
) -> Result<Option<AppendOutcome>, StoreError> {
    let Some(first) = requested.first() else {
        return Ok(None);
    };
    let Some(slot) = log.find_event(stream, &first.event.event_id).await? else {
        return Ok(None);
    };
    // An append's events sit side by side in the log: one read finds them all, and an id
    // found anywhere else is a misuse that `judge` names.
    let window = log.read_all(slot.position, requested.len()).await?;
    let mut stored: Vec<Option<RecordedEvent>> = Vec::with_capacity(requested.len());
    for request in requested {
        let id = &request.event.event_id;
        let in_window = window
            .iter()
            .find(|recorded| &recorded.event_id == id && &recorded.stream == stream);
        stored.push(match in_window {
            Some(recorded) => Some(recorded.clone()),
            None => match log.find_event(stream, id).await? {
                Some(elsewhere) => log.read_all(elsewhere.position, 1).await?.pop(),
                None => None,
            },
        });
    }
    let prepared: Vec<PreparedEvent> = requested
        .iter()
        .zip(&stored)
        .map(|(request, stored)| {
            let mut event = request.event.clone();
            if let (RequestedTime::Filled, Some(stored)) = (request.time, stored) {
                event.occurred_at = stored.occurred_at;
            }
            event.occurred_at = truncate_to_micros(event.occurred_at);
            PreparedEvent {
                content_hash: content_hash(stream, &event),
                event,
            }
        })
        .collect();
    let outcome = judge(&prepared, |id| {
        Ok(stored
            .iter()
            .flatten()
            .find(|r| &r.event_id == id)
            .map(|r| StoredId {
                version: r.version,
                position: r.position,
                content_hash: r.content_hash,
            }))
    })?;
    if outcome.is_some() {
        metrics::counter!("complaintflow_store_appends_total", "result" => "replayed").increment(1);
    }
    Ok(outcome)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use jiff::{SignedDuration, Timestamp};

    use super::*;
    use crate::clock::{Clock, ManualClock};
    use crate::memory::MemStore;
    use crate::{ExpectedVersion, StoreLimits};

    fn stream(name: &str) -> StreamId {
        StreamId::new(format!("SH-0042:{name}")).expect("a stream")
    }

    fn event(n: u128, at: Timestamp) -> NewEvent {
        NewEvent {
            event_id: Uuid::from_u128(n),
            event_type: "complaint.note_added".into(),
            schema_version: 1,
            occurred_at: at,
            correlation_id: None,
            causation_id: None,
            actor: "dealer_staff:a".into(),
            payload: format!("note {n}").into_bytes(),
        }
    }

    fn requested(event: NewEvent, time: RequestedTime) -> Requested {
        Requested { event, time }
    }

    /// A log holding one append of events 1 and 2 in `C-1`, stamped by the server at
    /// `stamped`, after an unrelated event 9 in `C-0`.
    async fn log_with_one_append() -> (MemStore, ManualClock, Timestamp) {
        let clock = ManualClock::new(Timestamp::from_second(1_770_000_000).expect("a time"));
        let store = MemStore::with_clock(Arc::new(clock.clone()), StoreLimits::default());
        let stamped = clock.now();
        store
            .append(
                &stream("C-0"),
                ExpectedVersion::Any,
                vec![event(9, stamped)],
            )
            .await
            .expect("first append");
        store
            .append(
                &stream("C-1"),
                ExpectedVersion::Any,
                vec![event(1, stamped), event(2, stamped)],
            )
            .await
            .expect("second append");
        clock.advance(SignedDuration::from_hours(3));
        (store, clock, stamped)
    }

    #[tokio::test]
    async fn a_retry_whose_time_the_server_filled_matches_at_any_later_time() {
        let (store, clock, _) = log_with_one_append().await;
        let later = clock.now();
        let retry = [1, 2].map(|n| requested(event(n, later), RequestedTime::Filled));
        let outcome = stored_retry(&store, &stream("C-1"), &retry)
            .await
            .expect("judged")
            .expect("a retry");
        assert!(outcome.replayed);
        let at: Vec<_> = outcome
            .slots
            .iter()
            .map(|s| (s.version, s.position))
            .collect();
        assert_eq!(at, vec![(0, 1), (1, 2)]);
    }

    #[tokio::test]
    async fn a_given_time_is_part_of_the_request() {
        let (store, clock, stamped) = log_with_one_append().await;
        let same = [1, 2].map(|n| requested(event(n, stamped), RequestedTime::Given));
        assert!(
            stored_retry(&store, &stream("C-1"), &same)
                .await
                .expect("judged")
                .is_some()
        );

        let other = [1, 2].map(|n| requested(event(n, clock.now()), RequestedTime::Given));
        let err = stored_retry(&store, &stream("C-1"), &other)
            .await
            .expect_err("differs");
        assert!(
            matches!(&err, StoreError::IdempotencyConflict { reason, .. } if reason == "stored content differs"),
            "{err:?}"
        );
    }

    #[tokio::test]
    async fn other_content_under_a_stored_id_is_a_conflict() {
        let (store, clock, _) = log_with_one_append().await;
        let mut changed = event(2, clock.now());
        changed.payload = b"something else".to_vec();
        let retry = [
            requested(event(1, clock.now()), RequestedTime::Filled),
            requested(changed, RequestedTime::Filled),
        ];
        let err = stored_retry(&store, &stream("C-1"), &retry)
            .await
            .expect_err("differs");
        assert!(
            matches!(err, StoreError::IdempotencyConflict { event_id, .. } if event_id == Uuid::from_u128(2))
        );
    }

    #[tokio::test]
    async fn ids_of_several_appends_or_a_part_of_one_are_not_a_retry() {
        let (store, clock, _) = log_with_one_append().await;
        let now = clock.now();
        let part = [1, 3].map(|n| requested(event(n, now), RequestedTime::Filled));
        let err = stored_retry(&store, &stream("C-1"), &part)
            .await
            .expect_err("partial");
        assert!(
            matches!(&err, StoreError::IdempotencyConflict { reason, .. } if reason.contains("others are not")),
            "{err:?}"
        );

        store
            .append(&stream("C-1"), ExpectedVersion::Any, vec![event(3, now)])
            .await
            .expect("a third event");
        let apart = [1, 3].map(|n| requested(event(n, now), RequestedTime::Filled));
        let err = stored_retry(&store, &stream("C-1"), &apart)
            .await
            .expect_err("apart");
        assert!(
            matches!(&err, StoreError::IdempotencyConflict { reason, .. } if reason.contains("different appends")),
            "{err:?}"
        );
    }

    #[tokio::test]
    async fn an_id_is_a_retry_key_within_its_stream_only() {
        let (store, clock, _) = log_with_one_append().await;
        let elsewhere = [requested(event(9, clock.now()), RequestedTime::Filled)];
        let answer = stored_retry(&store, &stream("C-1"), &elsewhere)
            .await
            .expect("judged");
        assert_eq!(answer, None, "event 9 is C-0's");
    }
}
