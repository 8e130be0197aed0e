//! What can go wrong talking to PostgreSQL, with its source, and how the trait's callers
//! see it: an outage is `Unavailable` (a retry later may succeed), a damaged row is
//! `Corrupt` with its place, anything else a backend error.

use std::path::PathBuf;

use complaintflow_log::{BackendError, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum PgError {
    #[error("invalid PostgreSQL URL: {0}")]
    Url(#[source] tokio_postgres::Error),

    #[error("cannot read the TLS root certificates in {path}: {source}")]
    RootCert {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("TLS to the database: {0}")]
    Tls(#[from] rustls::Error),

    #[error("cannot set up the connection pool: {0}")]
    Pool(#[from] deadpool_postgres::BuildError),

    #[error("the database is unreachable: {0}")]
    Connect(#[from] deadpool_postgres::PoolError),

    #[error("database error: {0}")]
    Db(#[from] tokio_postgres::Error),

    #[error(
        "the database holds complaintflow schema version {found}, newer than this build knows \
         (up to {supported}): run a complaintflow at least as new as the one that migrated it"
    )]
    NewerSchema { found: i32, supported: i32 },

    #[error("corrupt row at {location}: {reason}")]
    Corrupt { location: String, reason: String },
}

impl PgError {
    pub(super) fn corrupt(location: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::Corrupt {
            location: location.into(),
            reason: reason.into(),
        }
    }

    /// Whether the database could not be reached or went away: the operation may succeed
    /// once it is back, and an append answered so may still have committed (its retry is
    /// then a replay).
    fn is_outage(&self) -> bool {
        match self {
            Self::Connect(_) => true,
            Self::Db(err) => match err.as_db_error() {
                // Connection exceptions, a server shutting down or starting, too many clients.
                Some(db) => {
                    let code = db.code().code();
                    code.starts_with("08") || matches!(code, "57P01" | "57P02" | "57P03" | "53300")
                }
                None => true,
            },
            _ => false,
        }
    }
}

/// The error and what caused it ("error performing TLS handshake: invalid peer
/// certificate: UnknownIssuer"): the trait's errors carry text only, and the cause is
/// what an operator needs.
fn with_causes(err: &PgError) -> String {
    let mut text = err.to_string();
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

impl From<PgError> for StoreError {
    fn from(err: PgError) -> Self {
        match err {
            PgError::Corrupt { location, reason } => StoreError::Corrupt { location, reason },
            err if err.is_outage() => StoreError::Unavailable(with_causes(&err)),
            err => StoreError::Backend(BackendError::described(with_causes(&err), err)),
        }
    }
}
