//! Everything that can go wrong in the event log, as one enum callers can match on.

use std::path::PathBuf;

use uuid::Uuid;

use super::types::{ExpectedVersion, StreamId};

/// One offending field of a request and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct InvalidInput {
    pub field: String,
    pub reason: String,
}

impl InvalidInput {
    pub fn new(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            reason: reason.into(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("invalid input: {0}")]
    InvalidInput(#[from] InvalidInput),

    #[error("wrong expected version for stream {stream}: expected {expected}, actual {}",
        .actual.map_or_else(|| "no stream".to_owned(), |v| format!("version {v}")))]
    WrongExpectedVersion {
        stream: StreamId,
        expected: ExpectedVersion,
        actual: Option<u64>,
    },

    #[error("event id {event_id} was already used with different content ({reason})")]
    IdempotencyConflict { event_id: Uuid, reason: String },

    #[error("data directory {path} is in use by another process")]
    DataDirLocked { path: PathBuf },

    #[error(
        "data directory {path} was written by a newer complaintflow (format {found}, this build reads up to {supported})"
    )]
    NewerFormat {
        path: PathBuf,
        found: u32,
        supported: u32,
    },

    #[error("{path} is not a complaintflow data directory (it has no event log): check the path")]
    NotADataDir { path: PathBuf },

    #[error("the event log in {path} lost acknowledged events: {loss}")]
    LogLoss { path: PathBuf, loss: super::LogLoss },

    #[error("corrupt record at {location}: {reason}")]
    Corrupt { location: String, reason: String },

    #[error("the event log is not accepting writes: {0}")]
    Unavailable(String),

    #[error("storage backend error: {0}")]
    Backend(String),
}
