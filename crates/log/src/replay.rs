//! Telling a retry from a new append or a misuse of event ids: one judgment, so that
//! every backend answers a retry exactly alike (a retry may reach another node, or another
//! backend after a copy).

use uuid::Uuid;

use super::error::StoreError;
use super::hash::Hash;
use super::limits::PreparedEvent;
use super::types::{AppendOutcome, EventSlot};

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
        if !entry.content_hash.ct_eq(&prepared.content_hash) {
            return Err(conflict(prepared.event.event_id, "stored content differs"));
        }
        if entry.version != first.version + offset || entry.position != first.position + offset {
            return Err(conflict(
                prepared.event.event_id,
                "these event ids were stored by different appends",
            ));
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
