//! The `complaintflow` command line.

mod audit;
mod backup;
mod demo;
mod duration;
mod loadtest;
mod maintenance;
mod serve;
mod timelines;
mod tokens;
mod webhooks;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand};

use complaintflow_log::{LogReader, StoreError};
use complaintflow_server::node::DataDir;

#[derive(Debug, Parser)]
#[command(
    name = "complaintflow",
    version,
    about = "Event-sourced complaint workflow engine"
)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// Where the data lives; shared by every command that opens the store.
#[derive(Debug, Clone, clap::Args)]
pub struct DataDirArg {
    /// Data directory.
    #[arg(long, env = "COMPLAINTFLOW_DATA_DIR", default_value = "./data")]
    pub data_dir: PathBuf,
}

impl DataDirArg {
    pub fn dir(&self) -> DataDir {
        DataDir::new(&self.data_dir)
    }
}

/// Where the event log is, for the commands that use it: the data directory's, or a
/// PostgreSQL database.
#[derive(Debug, Clone, clap::Args)]
pub struct StoreArg {
    #[command(flatten)]
    pub data: DataDirArg,
    /// The event log in PostgreSQL (`postgres://user@host/db`) instead of
    /// `<data-dir>/events`; the data directory then holds only read-model snapshots.
    #[arg(long = "store", env = "COMPLAINTFLOW_STORE", hide_env_values = true)]
    pub url: Option<String>,
}

impl StoreArg {
    /// Where the log is.
    pub fn location(&self) -> complaintflow_server::node::StoreLocation {
        complaintflow_server::node::StoreLocation::new(self.url.as_deref(), &self.data.dir())
    }

    /// The log, whatever it lost: for `verify`, which reports a loss instead of refusing
    /// it. A path that holds no data directory is refused, never created.
    pub async fn open_existing(
        &self,
    ) -> Result<complaintflow_server::node::OpenedStore, StoreError> {
        let options = complaintflow_server::node::OpenOptions {
            create: false,
            ..Default::default()
        };
        complaintflow_server::node::OpenedStore::open(&self.location(), options).await
    }

    /// The log, if it lost nothing acknowledged: for commands that read it as the truth.
    pub async fn open_intact(&self) -> Result<complaintflow_server::node::OpenedStore, StoreError> {
        self.open_existing().await?.intact()
    }

    /// The log to write to, created if it is a data directory that does not exist yet,
    /// refused if it lost acknowledged events. `clock` stamps what is appended.
    pub async fn open_for_writes(
        &self,
        clock: complaintflow_log::clock::SharedClock,
    ) -> Result<complaintflow_server::node::OpenedStore, StoreError> {
        let options = complaintflow_server::node::OpenOptions {
            create: true,
            clock,
            ..Default::default()
        };
        complaintflow_server::node::OpenedStore::open(&self.location(), options)
            .await?
            .intact()
    }

    /// The log for a command that only reads it, whatever it lost: opened here, or read
    /// through the local socket of the server that holds the data directory.
    pub async fn open_for_reading(&self) -> Result<LogSource, Box<dyn std::error::Error>> {
        match self.open_existing().await {
            Ok(opened) => Ok(LogSource::Opened(opened)),
            Err(StoreError::DataDirLocked { path }) => {
                let socket = self.data.dir().local_socket();
                match complaintflow_server::local_log::ServedLog::connect(&socket).await {
                    Ok(served) => Ok(LogSource::Served {
                        log: Arc::new(served),
                        data_dir: self.data.dir(),
                    }),
                    Err(err) => Err(format!(
                        "data directory {} is in use by another process, and no server answers \
                         on its local socket: {err}",
                        path.display()
                    )
                    .into()),
                }
            }
            Err(other) => Err(other.into()),
        }
    }

    /// As [`StoreArg::open_for_reading`], if the log lost nothing acknowledged: for
    /// commands that read it as the truth.
    pub async fn open_intact_for_reading(&self) -> Result<LogSource, Box<dyn std::error::Error>> {
        Ok(self.open_for_reading().await?.intact()?)
    }
}

/// A log a read-only command reads: a store it opened, or a running server's, read
/// through that server's local socket.
pub enum LogSource {
    Opened(complaintflow_server::node::OpenedStore),
    Served {
        log: Arc<complaintflow_server::local_log::ServedLog>,
        data_dir: DataDir,
    },
}

impl LogSource {
    pub fn reader(&self) -> Arc<dyn LogReader> {
        match self {
            Self::Opened(opened) => opened.shared(),
            Self::Served { log, .. } => log.clone(),
        }
    }

    /// The source, unless its log lost acknowledged events.
    pub fn intact(self) -> Result<Self, StoreError> {
        match self {
            Self::Opened(opened) => Ok(Self::Opened(opened.intact()?)),
            Self::Served { log, data_dir } => {
                StoreError::unless_lost(data_dir.events(), log.known_loss())?;
                Ok(Self::Served { log, data_dir })
            }
        }
    }

    /// The losses an operator accepted (the embedded log records them in its directory,
    /// which a running server does not lock for reading).
    pub fn recorded_overrides(&self) -> std::io::Result<Vec<String>> {
        match self {
            Self::Opened(opened) => opened.recorded_overrides(),
            Self::Served { data_dir, .. } => {
                complaintflow_store_sled::recorded_overrides(&data_dir.events())
            }
        }
    }

    pub async fn close(&self) -> Result<(), StoreError> {
        match self {
            Self::Opened(opened) => opened.close().await,
            Self::Served { .. } => Ok(()),
        }
    }
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the gRPC server (embedded sled store; works with no configuration).
    Serve(serve::ServeArgs),
    /// Rebuild the projections (state, indexes, statistics, deadlines) from the log.
    Rebuild(maintenance::RebuildArgs),
    /// Export timelines as JSON lines, for auditors.
    Export(timelines::ExportArgs),
    /// Import events from JSON lines (a dealer system's back-fill), through every rule.
    Import(timelines::ImportArgs),
    /// Print or check the workflow policy.
    #[command(subcommand)]
    Policy(maintenance::PolicyCommand),
    /// Fill an empty data directory with a realistic, deterministic sample.
    Demo(demo::DemoArgs),
    /// Manage bearer tokens.
    #[command(subcommand)]
    Token(tokens::TokenCommand),
    /// Recompute the hash chains of one complaint or of the whole log (exit 1 on a broken link).
    Verify(audit::VerifyArgs),
    /// Take a digest of the log, or check a saved one against today's log.
    Digest(audit::DigestArgs),
    /// Write the whole log, verbatim, to a portable archive (positions, times, hashes).
    Backup(backup::BackupArgs),
    /// Load an archive verbatim into a new data directory; every hash is checked.
    Restore(backup::RestoreArgs),
    /// Copy the log into a new, empty store, verbatim and checked: data directory or
    /// PostgreSQL, either way (`--from ./data --to postgres://…` moves to PostgreSQL).
    Copy(backup::CopyArgs),
    /// Drive a server on this machine with concurrent clients and measure it.
    Loadtest(loadtest::LoadtestArgs),
    /// Webhook endpoints: checkpoints and dead letters; replay dead letters.
    #[command(subcommand)]
    Webhooks(webhooks::WebhooksCommand),
}

/// Exit codes: 0 success, 1 a check found a problem, 2 the command could not run.
pub fn main() -> ExitCode {
    crate::process::disable_transparent_huge_pages();
    let cli = Cli::parse();
    if !matches!(cli.command, Command::Serve(_)) {
        init_cli_logging();
    }
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("error: cannot start the async runtime: {err}");
            return ExitCode::from(2);
        }
    };
    let outcome = runtime.block_on(async {
        match cli.command {
            Command::Serve(args) => serve::run(args).await,
            Command::Token(command) => tokens::run(command),
            Command::Demo(args) => demo::run(args).await,
            Command::Rebuild(args) => maintenance::rebuild(args).await,
            Command::Export(args) => timelines::export(args).await,
            Command::Import(args) => timelines::import(args).await,
            Command::Policy(command) => maintenance::policy(command),
            Command::Verify(args) => audit::verify(args).await,
            Command::Digest(args) => audit::digest(args).await,
            Command::Backup(args) => backup::backup(args).await,
            Command::Restore(args) => backup::restore(args).await,
            Command::Copy(args) => backup::copy(args).await,
            Command::Loadtest(args) => loadtest::run(args).await,
            Command::Webhooks(command) => webhooks::run(command),
        }
    });
    match outcome {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::from(2)
        }
    }
}

fn init_cli_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("COMPLAINTFLOW_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}
