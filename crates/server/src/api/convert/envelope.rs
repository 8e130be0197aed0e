//! A stored event with its whole envelope, as timelines, exports and
//! subscriptions show it.

use uuid::Uuid;

use crate::api::proto;
use complaintflow_domain::{ComplaintEvent, DecodeError};
use complaintflow_log::RecordedEvent;

use super::events::event_to_proto;
use super::time::timestamp_to_proto;

/// Decodes the payload and fills every envelope field. Fails only when the stored
/// payload does not decode (unknown type, unsupported schema version, corruption):
/// the server should report that as INTERNAL/DATA_LOSS, not as the caller's fault.
pub(crate) fn recorded_event_to_proto(
    recorded: &RecordedEvent,
) -> Result<proto::RecordedEvent, DecodeError> {
    let event = ComplaintEvent::decode(
        &recorded.event_type,
        recorded.schema_version,
        &recorded.payload,
    )?;
    Ok(proto::RecordedEvent {
        complaint_id: recorded.stream.to_string(),
        version: recorded.version,
        position: recorded.position,
        event_id: uuid_text(recorded.event_id),
        event_type: recorded.event_type.clone(),
        schema_version: recorded.schema_version.into(),
        occur_time: Some(timestamp_to_proto(recorded.occurred_at)),
        record_time: Some(timestamp_to_proto(recorded.recorded_at)),
        correlation_id: recorded.correlation_id.map(uuid_text).unwrap_or_default(),
        causation_id: recorded.causation_id.map(uuid_text).unwrap_or_default(),
        actor: recorded.actor.clone(),
        event: Some(event_to_proto(&event)),
        content_hash: recorded.content_hash.to_string(),
        hash: recorded.hash.to_string(),
    })
}

/// Lowercase hyphenated, the one spelling the API uses.
fn uuid_text(id: Uuid) -> String {
    id.hyphenated().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use complaintflow_domain::events as ev;
    use complaintflow_log::Hash;
    use complaintflow_log::StreamId;

    fn recorded(event: &ComplaintEvent) -> RecordedEvent {
        RecordedEvent {
            stream: StreamId::new("CMP-2025-0004").expect("stream id"),
            version: 3,
            position: 41,
            event_id: Uuid::from_u128(0x67e5_5044_10b1_426f_9247_bb68_0e5f_e0c8),
            event_type: event.event_type().to_owned(),
            schema_version: event.schema_version(),
            occurred_at: "2025-09-01T02:00:00Z".parse().expect("instant"),
            recorded_at: "2025-09-01T02:00:01.5Z".parse().expect("instant"),
            correlation_id: Some(Uuid::from_u128(1)),
            causation_id: None,
            actor: "dealer_staff:wang".to_owned(),
            payload: event.encode_payload(),
            content_hash: Hash([0xab; 32]),
            hash: Hash([0x0c; 32]),
        }
    }

    fn note() -> ComplaintEvent {
        ev::NoteAdded {
            text: "Customer called again".try_into().expect("text"),
        }
        .into()
    }

    #[test]
    fn every_envelope_field_is_filled() {
        let event = note();
        let pb = recorded_event_to_proto(&recorded(&event)).expect("decodes");
        assert_eq!(
            pb,
            proto::RecordedEvent {
                complaint_id: "CMP-2025-0004".into(),
                version: 3,
                position: 41,
                event_id: "67e55044-10b1-426f-9247-bb680e5fe0c8".into(),
                event_type: "complaint.note_added".into(),
                schema_version: 1,
                occur_time: Some(prost_types::Timestamp {
                    seconds: 1_756_692_000,
                    nanos: 0
                }),
                record_time: Some(prost_types::Timestamp {
                    seconds: 1_756_692_001,
                    nanos: 500_000_000
                }),
                correlation_id: "00000000-0000-0000-0000-000000000001".into(),
                causation_id: String::new(),
                actor: "dealer_staff:wang".into(),
                event: Some(event_to_proto(&event)),
                content_hash: "ab".repeat(32),
                hash: "0c".repeat(32),
            }
        );
    }

    #[test]
    fn undecodable_payloads_are_reported() {
        let mut stored = recorded(&note());
        stored.schema_version = 9;
        assert!(matches!(
            recorded_event_to_proto(&stored),
            Err(DecodeError::UnsupportedSchemaVersion { version: 9, .. })
        ));
        let mut stored = recorded(&note());
        stored.payload.push(0);
        assert!(matches!(
            recorded_event_to_proto(&stored),
            Err(DecodeError::TrailingBytes { .. })
        ));
    }
}
