//! Which events an endpoint wants: by type, then by the complaint's region, dealer and
//! escalation level as they stood right after the event (replayed from its stream, so
//! that a delivery repeated later decides the same way).

use complaintflow_domain::values::ComplaintId;
use complaintflow_domain::{ComplaintState, Policy, follow_up};
use complaintflow_log::RecordedEvent;

use super::config::{EventKind, WebhookConfig};
use crate::engine::{AsOf, Engine, EngineError};

impl EventKind {
    /// The event type this kind is about; `None` for `Any`.
    fn event_type(self) -> Option<&'static str> {
        Some(match self {
            Self::DeadlineWarning => "complaint.deadline_warning",
            Self::DeadlineMissed => "complaint.deadline_missed",
            Self::Escalated => "complaint.escalated",
            Self::EmergencyFiled => "complaint.filed",
            Self::CustomerUnreachable => "complaint.customer_unreachable",
            Self::Reopened => "complaint.reopened",
            Self::Any => return None,
        })
    }
}

/// Whether `webhook` wants `event`. Only complaint events are delivered: follow-up
/// streams have no region, dealer or level to filter on.
pub(super) async fn wants(
    webhook: &WebhookConfig,
    engine: &Engine,
    event: &RecordedEvent,
) -> Result<bool, EngineError> {
    if follow_up::of_stream(event.stream.as_str()).is_some() {
        return Ok(false);
    }
    let Ok(complaint) = ComplaintId::parse(event.stream.as_str()) else {
        return Ok(false);
    };
    let kinds: Vec<EventKind> = webhook
        .events
        .iter()
        .copied()
        .filter(|kind| kind.event_type().is_none_or(|t| t == event.event_type))
        .collect();
    if kinds.is_empty() {
        return Ok(false);
    }
    let emergency_only = kinds.iter().all(|kind| *kind == EventKind::EmergencyFiled);
    let scoped =
        !webhook.regions.is_empty() || !webhook.dealers.is_empty() || webhook.min_level.is_some();
    if !emergency_only && !scoped {
        return Ok(true);
    }
    let state = engine
        .load(&complaint, AsOf::Version(event.version))
        .await?;
    if emergency_only && state.emergency.is_none() {
        return Ok(false);
    }
    Ok(in_scope(webhook, &state, engine.policy()))
}

fn in_scope(webhook: &WebhookConfig, state: &ComplaintState, policy: &Policy) -> bool {
    let region =
        webhook.regions.is_empty() || webhook.regions.iter().any(|r| r == state.region.as_str());
    let dealer =
        webhook.dealers.is_empty() || webhook.dealers.iter().any(|d| d == state.dealer.as_str());
    let level = webhook.min_level.is_none_or(|min| {
        // Levels off the ladder (approvers who own no case) count as its first rung.
        policy.rung(state.level).unwrap_or(0) >= policy.rung(min).unwrap_or(0)
    });
    region && dealer && level
}
