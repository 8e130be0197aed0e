//! `backup`, `restore` and `copy`: the log as a portable archive (see
//! `complaintflow_log::archive`), loaded verbatim into an empty store.

use std::fs::File;
use std::io::{BufReader, BufWriter};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use complaintflow_log::archive::{self, Reader, Summary};
use complaintflow_log::clock::ManualClock;
use complaintflow_server::node::{DataDir, OpenOptions, OpenedStore, StoreLocation};
use jiff::Timestamp;

use super::StoreArg;

type CliResult = Result<ExitCode, Box<dyn std::error::Error>>;

#[derive(Debug, clap::Args)]
pub(super) struct BackupArgs {
    #[command(flatten)]
    store: StoreArg,
    /// The archive to write (written beside it first, then renamed: a cut-short backup
    /// never takes the name).
    #[arg(long)]
    out: PathBuf,
}

#[derive(Debug, clap::Args)]
pub(super) struct RestoreArgs {
    /// The archive `backup` wrote.
    #[arg(long = "from")]
    archive: PathBuf,
    /// Where to load it: a new or empty data directory, or with `--store` an empty
    /// PostgreSQL database.
    #[command(flatten)]
    store: StoreArg,
}

#[derive(Debug, clap::Args)]
pub(super) struct CopyArgs {
    /// The log to copy: a data directory (`./data` or `sled:./data`) or a PostgreSQL URL.
    #[arg(long = "from")]
    from: String,
    /// Where to copy it, new or empty: a data directory or a PostgreSQL URL.
    #[arg(long = "to")]
    to: String,
}

/// `--from`/`--to` of `copy`: a PostgreSQL URL, else a data directory.
fn location(text: &str) -> StoreLocation {
    if text.starts_with("postgres://") || text.starts_with("postgresql://") {
        StoreLocation::Postgres(text.to_owned())
    } else {
        StoreLocation::DataDir(DataDir::new(text.strip_prefix("sled:").unwrap_or(text)))
    }
}

/// A location for messages: a URL may hold a password, so only its kind is named.
fn shown(location: &StoreLocation) -> String {
    match location {
        StoreLocation::DataDir(dir) => dir.root().display().to_string(),
        StoreLocation::Postgres(_) => "the PostgreSQL database".to_owned(),
    }
}

pub(super) async fn backup(args: BackupArgs) -> CliResult {
    let store = args.store.open_intact_for_reading().await?;
    let partial = partial_name(&args.out);
    let mut out = BufWriter::new(File::create(&partial)?);
    let summary = archive::write(store.reader().as_ref(), &mut out).await?;
    let file = out
        .into_inner()
        .map_err(std::io::IntoInnerError::into_error)?;
    file.sync_all()?;
    std::fs::rename(&partial, &args.out)?;
    store.close().await?;
    println!("{}: {}", args.out.display(), describe(summary));
    Ok(ExitCode::SUCCESS)
}

pub(super) async fn restore(args: RestoreArgs) -> CliResult {
    let mut reader = Reader::open(BufReader::new(File::open(&args.archive)?))?;
    let location = args.store.location();
    let (store, clock) = open_target(&location).await?;
    let restored = archive::restore(store.shared().as_ref(), &clock, reader.by_ref()).await;
    store.close().await?;
    restored?;
    let summary = reader
        .summary()
        .ok_or("the archive ended without its trailer")?;
    println!("restored into {}: {}", shown(&location), describe(summary));
    Ok(ExitCode::SUCCESS)
}

pub(super) async fn copy(args: CopyArgs) -> CliResult {
    let (from, to) = (location(&args.from), location(&args.to));
    let options = OpenOptions {
        create: false,
        ..OpenOptions::default()
    };
    let source = OpenedStore::open(&from, options).await?.intact()?;
    let (target, clock) = open_target(&to).await?;
    let copied = archive::copy(source.shared().as_ref(), target.shared().as_ref(), &clock).await;
    source.close().await?;
    target.close().await?;
    let copied = copied?;
    println!("copied {copied} events into {}", shown(&to));
    Ok(ExitCode::SUCCESS)
}

/// A new or empty store whose clock the restore sets to each archived moment.
async fn open_target(
    location: &StoreLocation,
) -> Result<(OpenedStore, ManualClock), Box<dyn std::error::Error>> {
    let clock = ManualClock::new(Timestamp::UNIX_EPOCH);
    let options = OpenOptions {
        create: true,
        clock: Arc::new(clock.clone()),
        ..OpenOptions::default()
    };
    let store = OpenedStore::open(location, options).await?;
    let head = store.shared().head();
    if head > 0 {
        store.close().await?;
        return Err(format!(
            "{} already holds {head} events: restore only into a new or empty store",
            shown(location)
        )
        .into());
    }
    Ok((store, clock))
}

fn partial_name(out: &Path) -> PathBuf {
    let mut name = out.as_os_str().to_owned();
    name.push(".partial");
    PathBuf::from(name)
}

fn describe(summary: Summary) -> String {
    match summary.digest {
        Some(digest) => format!("{} events, digest {digest}", summary.events),
        None => "an empty log".to_owned(),
    }
}
