//! Everything that can go wrong in the event log, as one enum callers can match on.

use std::path::PathBuf;
use std::sync::Arc;

use uuid::Uuid;

use super::LogLoss;
use super::types::{ExpectedVersion, StreamId};

/// A backend's own error, kept as the source of the failure it caused.
pub type BackendSource = Box<dyn std::error::Error + Send + Sync>;

/// Why a store's writer refuses every append until the store is reopened: after any of
/// these it no longer knows what is on disk, or knows that the log is not the one it
/// acknowledged. Shared by every refused append, hence kept behind an `Arc`.
#[derive(Debug, thiserror::Error)]
pub enum WriterFailure {
    #[error("the flusher could not start: {0}")]
    FlusherStart(#[source] std::io::Error),

    #[error("the flusher stopped")]
    FlusherStopped,

    #[error("commit failed: {0}")]
    Apply(#[source] BackendSource),

    #[error("commit failed: flushing the log: {0}")]
    Flush(#[source] BackendSource),

    #[error("commit failed: syncing the log's files: {0}")]
    Sync(#[source] std::io::Error),

    #[error("commit failed: cannot record the acknowledged head: {0}")]
    RecordAcknowledged(#[source] std::io::Error),

    #[error("the end of the log is unreadable: {0}")]
    TailUnreadable(#[source] Box<StoreError>),

    #[error("the log lost acknowledged events: {0}")]
    LogLoss(LogLoss),
}

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

    #[error("the event log is not accepting writes: {0}")]
    WriterStopped(#[source] Arc<WriterFailure>),

    #[error("storage backend error: {0}")]
    Backend(String),
}
