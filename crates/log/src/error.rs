//! Everything that can go wrong in the event log, as one enum callers can match on.

use std::path::PathBuf;
use std::sync::Arc;

use uuid::Uuid;

use super::LogLoss;
use super::types::{ExpectedVersion, StreamId};

/// A backend's own error, kept as the source of the failure it caused.
pub(crate) type BackendSource = Box<dyn std::error::Error + Send + Sync>;

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
    Backend(#[source] BackendError),
}

impl StoreError {
    /// Nothing, unless `loss` says that the log in `path` lost acknowledged events: for
    /// commands that read the log as the truth.
    pub fn unless_lost(path: impl Into<PathBuf>, loss: Option<LogLoss>) -> Result<(), Self> {
        match loss {
            None => Ok(()),
            Some(loss) => Err(Self::LogLoss {
                path: path.into(),
                loss,
            }),
        }
    }

    /// A backend failure with no error underneath (a poisoned lock, a task that panicked).
    pub fn backend(what: impl Into<String>) -> Self {
        Self::Backend(BackendError::new(what))
    }

    /// A backend failure caused by `source`: what was being done, and the error itself.
    pub fn backend_from(
        what: impl AsRef<str>,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        Self::Backend(BackendError::from_source(what, source))
    }
}

/// A backend failure none of the other variants names: what failed and, when there is
/// one, the backend's own error, kept as the source. Cheap to clone, so that every
/// append of a failed group can carry it.
///
/// Its message includes what the source says: the command line, the logs and the
/// operators read messages, not source chains.
#[derive(Debug, Clone)]
pub struct BackendError {
    message: String,
    source: Option<Arc<dyn std::error::Error + Send + Sync>>,
}

impl BackendError {
    pub fn new(what: impl Into<String>) -> Self {
        Self {
            message: what.into(),
            source: None,
        }
    }

    /// `what` was being done when `source` happened.
    pub fn from_source(
        what: impl AsRef<str>,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        Self {
            message: format!("{}: {source}", what.as_ref()),
            source: Some(Arc::new(source)),
        }
    }

    /// `source`, with a message that already says all it should (its causes included).
    pub fn described(
        message: impl Into<String>,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        Self {
            message: message.into(),
            source: Some(Arc::new(source)),
        }
    }
}

impl std::fmt::Display for BackendError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for BackendError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|source| source as &(dyn std::error::Error + 'static))
    }
}

#[cfg(test)]
mod backend_error_tests {
    use std::error::Error as _;

    use super::*;

    #[test]
    fn a_backend_error_keeps_its_source_and_says_what_it_says() {
        let io = std::io::Error::new(
            std::io::ErrorKind::PermissionDenied,
            "read-only file system",
        );
        let err = StoreError::backend_from("cannot sync /data/events", io);
        assert_eq!(
            err.to_string(),
            "storage backend error: cannot sync /data/events: read-only file system"
        );
        let backend = err.source().expect("the backend error");
        let io = backend.source().expect("the io error underneath");
        assert_eq!(
            io.downcast_ref::<std::io::Error>()
                .map(std::io::Error::kind),
            Some(std::io::ErrorKind::PermissionDenied)
        );
        assert!(
            StoreError::backend("a lock was poisoned")
                .source()
                .is_some()
        );
        assert!(
            StoreError::backend("a lock was poisoned")
                .source()
                .and_then(|backend| backend.source())
                .is_none()
        );
    }
}
