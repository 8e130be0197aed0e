//! What a backend's own records say is missing from its log.

use std::fmt;

use super::hash::Hash;

/// The log no longer holds everything that was acknowledged: found when a store opens,
/// by comparing the log with the backend's durable record of how far it reached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogLoss {
    /// The log ends before the acknowledged end: `found..acknowledged` is missing.
    Truncated { found: u64, acknowledged: u64 },
    /// The event at `position` is not the one acknowledged there: the log was replaced
    /// by another, or rewritten.
    Diverged {
        position: u64,
        acknowledged: Hash,
        found: Hash,
    },
    /// The record of how far the log reached cannot be read, so a loss cannot be ruled out.
    RecordUnreadable { location: String, reason: String },
}

impl fmt::Display for LogLoss {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Truncated {
                found,
                acknowledged,
            } => write!(
                f,
                "the log ends at position {found} but {acknowledged} events were acknowledged: \
                 positions {found}..{} are missing",
                acknowledged - 1
            ),
            Self::Diverged {
                position,
                acknowledged,
                found,
            } => write!(
                f,
                "the event at position {position} is not the one acknowledged there \
                 (acknowledged hash {acknowledged}, found {found}): the log was replaced or rewritten"
            ),
            Self::RecordUnreadable { location, reason } => write!(
                f,
                "the record of how far the log reached ({location}) is unreadable ({reason}): \
                 a loss cannot be ruled out"
            ),
        }
    }
}
