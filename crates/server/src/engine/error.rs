//! What the engine can refuse, as one enum the API maps to status codes in one place.

use complaintflow_domain::follow_up::FollowUpViolation;
use complaintflow_domain::values::{ComplaintId, FollowUpId};
use complaintflow_domain::{DecodeError, RuleViolation};
use complaintflow_log::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(transparent)]
    Store(#[from] StoreError),

    #[error("events[{index}] ({event_type}) breaks rule {}: {violation}", violation.code())]
    Rule {
        index: usize,
        event_type: &'static str,
        violation: RuleViolation,
    },

    #[error("complaint {0} not found")]
    NotFound(ComplaintId),

    #[error("events[{index}] ({event_type}) breaks rule {}: {violation}", violation.code())]
    FollowUpRule {
        index: usize,
        event_type: &'static str,
        violation: FollowUpViolation,
    },

    #[error("follow-up {0} not found")]
    FollowUpNotFound(FollowUpId),

    #[error("permission denied: {0}")]
    Forbidden(String),

    #[error("stored event at position {position} cannot be read: {reason}")]
    Unreadable { position: u64, reason: String },

    #[error("complaint {0} kept changing while its events were checked; try again")]
    Contention(ComplaintId),

    #[error("follow-up {0} kept changing while its events were checked; try again")]
    FollowUpContention(FollowUpId),
}

impl EngineError {
    pub(crate) fn unreadable(position: u64, err: impl std::fmt::Display) -> Self {
        Self::Unreadable {
            position,
            reason: err.to_string(),
        }
    }
}

impl From<(u64, DecodeError)> for EngineError {
    fn from((position, err): (u64, DecodeError)) -> Self {
        Self::unreadable(position, err)
    }
}
