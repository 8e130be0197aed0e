//! Bounds on what one append may carry, and the checks that enforce them before anything
//! reaches the writer.

use std::collections::HashSet;

use super::error::{InvalidInput, StoreError};
use super::hash::{Hash, content_hash};
use super::types::{NewEvent, StreamId};

/// Configurable bounds on one append.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StoreLimits {
    pub max_events_per_append: usize,
    pub max_payload_bytes: usize,
    pub max_event_type_bytes: usize,
    pub max_actor_bytes: usize,
    /// Free space the embedded store keeps on its disk: appends are refused (UNAVAILABLE)
    /// while less is free, and resume by themselves once space is freed. A storage
    /// engine that runs out of space mid-write cannot go on until it is reopened.
    pub min_free_disk_bytes: u64,
}

impl Default for StoreLimits {
    fn default() -> Self {
        Self {
            max_events_per_append: 100,
            max_payload_bytes: 64 * 1024,
            max_event_type_bytes: 128,
            max_actor_bytes: 256,
            min_free_disk_bytes: 64 * 1024 * 1024,
        }
    }
}

/// An event that passed the limits, with its content hash computed on the caller's task
/// (so the single writer does less).
#[derive(Debug, Clone)]
pub struct PreparedEvent {
    pub event: NewEvent,
    pub content_hash: Hash,
}

impl StoreLimits {
    /// Checks one append against the limits and hashes its events. Times are cut to the
    /// microsecond precision the log keeps, so that what is stored is what was hashed.
    pub fn prepare(
        &self,
        stream: &StreamId,
        events: Vec<NewEvent>,
    ) -> Result<Vec<PreparedEvent>, StoreError> {
        if events.is_empty() {
            return Err(InvalidInput::new("events", "an append needs at least one event").into());
        }
        if events.len() > self.max_events_per_append {
            return Err(InvalidInput::new(
                "events",
                format!(
                    "{} events in one append; the limit is {}",
                    events.len(),
                    self.max_events_per_append
                ),
            )
            .into());
        }
        let mut seen = HashSet::with_capacity(events.len());
        events
            .into_iter()
            .enumerate()
            .map(|(i, mut event)| {
                self.check_event(i, &event)?;
                if !seen.insert(event.event_id) {
                    return Err(InvalidInput::new(
                        format!("events[{i}].event_id"),
                        format!("{} appears twice in one append", event.event_id),
                    )
                    .into());
                }
                event.occurred_at = truncate_to_micros(event.occurred_at);
                let content_hash = content_hash(stream, &event);
                Ok(PreparedEvent {
                    event,
                    content_hash,
                })
            })
            .collect()
    }

    fn check_event(&self, i: usize, event: &NewEvent) -> Result<(), InvalidInput> {
        let field = |name: &str| format!("events[{i}].{name}");
        if event.event_id.is_nil() {
            return Err(InvalidInput::new(
                field("event_id"),
                "must not be the nil UUID",
            ));
        }
        if event.event_type.is_empty() || event.event_type.len() > self.max_event_type_bytes {
            return Err(InvalidInput::new(
                field("event_type"),
                format!("must be 1 to {} bytes", self.max_event_type_bytes),
            ));
        }
        if event.actor.is_empty() || event.actor.len() > self.max_actor_bytes {
            return Err(InvalidInput::new(
                field("actor"),
                format!("must be 1 to {} bytes", self.max_actor_bytes),
            ));
        }
        if event.payload.len() > self.max_payload_bytes {
            return Err(InvalidInput::new(
                field("payload"),
                format!(
                    "{} bytes; the limit is {}",
                    event.payload.len(),
                    self.max_payload_bytes
                ),
            ));
        }
        Ok(())
    }
}

pub(crate) fn truncate_to_micros(at: jiff::Timestamp) -> jiff::Timestamp {
    jiff::Timestamp::from_microsecond(at.as_microsecond()).unwrap_or(at)
}
