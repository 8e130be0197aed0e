//! "The store": the embedded log in the data directory, or a PostgreSQL database when a
//! URL is given. The one place that knows both, for `serve` and the commands that read.

use std::sync::Arc;

use super::DataDir;
use complaintflow_log::clock::SharedClock;
use complaintflow_log::{EventStore, LogLoss, StoreError, StoreLimits};
use complaintflow_store_postgres::{PgOptions, PgStore};
use complaintflow_store_sled::{OVERRIDES_FILE, SledOptions, SledStore, recorded_overrides};

/// Where the log is.
#[derive(Clone, PartialEq, Eq)]
pub enum StoreLocation {
    /// `<data-dir>/events`, the embedded default.
    DataDir(DataDir),
    /// A PostgreSQL URL (`postgres://user@host/db?sslmode=require`).
    Postgres(String),
}

impl std::fmt::Debug for StoreLocation {
    /// A URL may hold a password: it is never printed.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::DataDir(dir) => write!(f, "DataDir({})", dir.root().display()),
            Self::Postgres(_) => f.write_str("Postgres(…)"),
        }
    }
}

impl StoreLocation {
    /// The database at `url` if one is given, else the data directory's log.
    pub fn new(url: Option<&str>, data_dir: &DataDir) -> Self {
        match url.filter(|url| !url.is_empty()) {
            Some(url) => Self::Postgres(url.to_owned()),
            None => Self::DataDir(data_dir.clone()),
        }
    }
}

/// How to open the store.
#[derive(Debug, Clone)]
pub struct OpenOptions {
    pub limits: StoreLimits,
    pub clock: SharedClock,
    /// Create an embedded log that does not exist yet (a database is always migrated).
    pub create: bool,
    /// The embedded log's one-off override of a lost tail (see `SledOptions`).
    pub accept_log_loss: bool,
}

impl Default for OpenOptions {
    fn default() -> Self {
        let sled = SledOptions::default();
        Self {
            limits: sled.limits,
            clock: sled.clock,
            create: sled.create,
            accept_log_loss: sled.accept_log_loss,
        }
    }
}

/// The embedded log of `data_dir`.
pub(crate) fn open_sled(data_dir: &DataDir, options: SledOptions) -> Result<SledStore, StoreError> {
    SledStore::open(data_dir.events(), options).map_err(|err| match err {
        // Name the directory the user gave, not the log inside it.
        StoreError::NotADataDir { .. } => StoreError::NotADataDir {
            path: data_dir.root().to_path_buf(),
        },
        other => other,
    })
}

/// An open store, of either kind.
#[derive(Debug, Clone)]
pub enum OpenedStore {
    Sled(Arc<SledStore>),
    Postgres(Arc<PgStore>),
}

impl OpenedStore {
    pub async fn open(location: &StoreLocation, options: OpenOptions) -> Result<Self, StoreError> {
        match location {
            StoreLocation::DataDir(data_dir) => {
                let sled = SledOptions {
                    limits: options.limits,
                    clock: options.clock,
                    create: options.create,
                    accept_log_loss: options.accept_log_loss,
                    ..SledOptions::default()
                };
                let store = open_sled(data_dir, sled)?;
                Ok(Self::Sled(Arc::new(store)))
            }
            StoreLocation::Postgres(url) => {
                let pg = PgOptions {
                    limits: options.limits,
                    clock: options.clock,
                    ..PgOptions::default()
                };
                Ok(Self::Postgres(Arc::new(
                    PgStore::connect_url(url, pg).await?,
                )))
            }
        }
    }

    pub fn shared(&self) -> Arc<dyn EventStore> {
        match self {
            Self::Sled(store) => store.clone(),
            Self::Postgres(store) => store.clone(),
        }
    }

    /// Where the log is, for messages.
    pub fn describe(&self) -> String {
        match self {
            Self::Sled(store) => store.path().display().to_string(),
            Self::Postgres(store) => store.describe(),
        }
    }

    /// The store, unless it lost acknowledged events: for commands that read the log as
    /// the truth.
    pub fn intact(self) -> Result<Self, StoreError> {
        StoreError::unless_lost(self.describe(), self.shared().known_loss())?;
        Ok(self)
    }

    /// Why `serve` must not start on this log, if it lost acknowledged events.
    pub fn refusal(&self) -> Option<String> {
        let loss: LogLoss = self.shared().known_loss()?;
        Some(match self {
            Self::Sled(store) => format!(
                "refusing to start: the event log in {} lost acknowledged events: {loss}. \
                 Restore the data directory from a backup, or start once with --accept-log-loss \
                 to carry on from what the log holds (the override is recorded in {}).",
                store.path().display(),
                store.path().join(OVERRIDES_FILE).display(),
            ),
            Self::Postgres(store) => format!(
                "refusing to start: the event log in {} lost acknowledged events: {loss}. \
                 Restore the database from a backup.",
                store.describe()
            ),
        })
    }

    /// The overrides an operator recorded (the embedded log keeps them).
    pub fn recorded_overrides(&self) -> std::io::Result<Vec<String>> {
        match self {
            Self::Sled(store) => recorded_overrides(store.path()),
            Self::Postgres(_) => Ok(Vec::new()),
        }
    }

    pub async fn close(&self) -> Result<(), StoreError> {
        match self {
            Self::Sled(store) => store.close().await,
            Self::Postgres(store) => store.close().await,
        }
    }
}
