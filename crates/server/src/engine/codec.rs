//! Between the event log's envelopes and the domain's typed events.

use complaintflow_domain::values::{ActorId, ComplaintId};
use complaintflow_domain::{Actor, ComplaintEvent, EventMeta, Role};
use complaintflow_log::codec::Envelope;
use complaintflow_log::{InvalidInput, RecordedEvent, StreamId};

use super::EngineError;

/// A complaint's stream: the same name, the store's alphabet being wider.
pub fn complaint_stream(complaint: &ComplaintId) -> Result<StreamId, InvalidInput> {
    StreamId::new(complaint.as_str())
}

/// How an actor is written in an envelope: `role:identity`.
pub fn actor_to_string(actor: &Actor) -> String {
    format!("{}:{}", actor.role.as_str(), actor.id.as_str())
}

pub fn actor_from_str(text: &str) -> Result<Actor, String> {
    let (role, id) = text
        .split_once(':')
        .ok_or_else(|| format!("actor {text:?} is not role:identity"))?;
    let role: Role = role
        .parse()
        .map_err(|_| format!("unknown actor role {role:?}"))?;
    let id = ActorId::parse(id).map_err(|e| e.to_string())?;
    Ok(Actor::new(id, role))
}

/// A stored event as the domain sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DomainEvent {
    pub event: ComplaintEvent,
    pub meta: EventMeta,
}

/// A stored event's domain event and metadata.
pub fn domain_event(recorded: &RecordedEvent) -> Result<DomainEvent, EngineError> {
    domain_event_of(&recorded.into())
}

/// The domain event of a record read borrowed (see `complaintflow_log::codec::Envelope`).
pub(crate) fn domain_event_of(envelope: &Envelope<'_>) -> Result<DomainEvent, EngineError> {
    let event = ComplaintEvent::decode(
        envelope.event_type,
        envelope.schema_version,
        envelope.payload,
    )
    .map_err(|e| EngineError::unreadable(envelope.position, e))?;
    let actor = actor_from_str(envelope.actor)
        .map_err(|e| EngineError::unreadable(envelope.position, e))?;
    Ok(DomainEvent {
        event,
        meta: EventMeta {
            version: envelope.version,
            occurred_at: envelope.occurred_at,
            recorded_at: envelope.recorded_at,
            actor,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actors_round_trip_through_their_envelope_form() {
        let actor = Actor::new(ActorId::parse("dms-sh-0042").unwrap(), Role::ServiceManager);
        let text = actor_to_string(&actor);
        assert_eq!(text, "service_manager:dms-sh-0042");
        assert_eq!(actor_from_str(&text).unwrap(), actor);
        assert!(actor_from_str("nobody").is_err());
        assert!(actor_from_str("king:x").is_err());
    }
}
