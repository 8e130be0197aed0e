//! An event as JSON: one line of `complaintflow export`, the body a webhook receives, and
//! the shape `complaintflow import` reads back (ignoring the envelope's own fields).

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::engine::{EngineError, codec};
use complaintflow_log::RecordedEvent;

/// One event with its whole envelope (versions, positions, times, actor, hashes) and the
/// payload as JSON.
#[derive(Debug, Serialize, Deserialize)]
pub struct EventLine {
    pub complaint_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub position: Option<u64>,
    pub event_id: Uuid,
    pub event_type: String,
    #[serde(default = "first_schema")]
    pub schema_version: u16,
    pub occurred_at: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recorded_at: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub correlation_id: Option<Uuid>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub causation_id: Option<Uuid>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_hash: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hash: Option<String>,
    pub payload: serde_json::Value,
}

fn first_schema() -> u16 {
    1
}

impl EventLine {
    /// A recorded complaint event as the export writes it.
    pub fn exported(recorded: &RecordedEvent) -> Result<Self, EngineError> {
        let event = codec::domain_event(recorded)?;
        Ok(Self {
            complaint_id: recorded.stream.to_string(),
            version: Some(recorded.version),
            position: Some(recorded.position),
            event_id: recorded.event_id,
            event_type: recorded.event_type.clone(),
            schema_version: recorded.schema_version,
            occurred_at: recorded.occurred_at,
            recorded_at: Some(recorded.recorded_at),
            correlation_id: recorded.correlation_id,
            causation_id: recorded.causation_id,
            actor: Some(recorded.actor.clone()),
            content_hash: Some(recorded.content_hash.to_string()),
            hash: Some(recorded.hash.to_string()),
            payload: event.event.payload_json(),
        })
    }
}
