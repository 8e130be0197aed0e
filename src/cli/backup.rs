//! `backup`, `restore` and `copy`: the log as a portable archive (see
//! `complaintflow_log::archive`), loaded verbatim into an empty store.

use std::fs::File;
use std::io::{BufReader, BufWriter};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use complaintflow_log::EventStore;
use complaintflow_log::archive::{self, Reader, Summary};
use complaintflow_log::clock::ManualClock;
use jiff::Timestamp;

use super::DataDirArg;

type CliResult = Result<ExitCode, Box<dyn std::error::Error>>;

#[derive(Debug, clap::Args)]
pub(super) struct BackupArgs {
    #[command(flatten)]
    data: DataDirArg,
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
    /// The data directory to load it into: new or empty.
    #[command(flatten)]
    data: DataDirArg,
}

#[derive(Debug, clap::Args)]
pub(super) struct CopyArgs {
    /// The data directory to copy the log from.
    #[arg(long = "from")]
    from: PathBuf,
    /// The data directory to copy it into: new or empty.
    #[arg(long = "to")]
    to: PathBuf,
}

pub(super) async fn backup(args: BackupArgs) -> CliResult {
    let store = args.data.open_intact()?;
    let partial = partial_name(&args.out);
    let mut out = BufWriter::new(File::create(&partial)?);
    let summary = archive::write(&store, &mut out).await?;
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
    let (store, clock) = open_target(&args.data)?;
    let restored = archive::restore(&store, &clock, reader.by_ref()).await;
    store.close().await?;
    restored?;
    let summary = reader
        .summary()
        .ok_or("the archive ended without its trailer")?;
    println!(
        "restored into {}: {}",
        args.data.data_dir.display(),
        describe(summary)
    );
    Ok(ExitCode::SUCCESS)
}

pub(super) async fn copy(args: CopyArgs) -> CliResult {
    let source = DataDirArg {
        data_dir: args.from,
    }
    .open_intact()?;
    let target_dir = DataDirArg { data_dir: args.to };
    let (target, clock) = open_target(&target_dir)?;
    let copied = archive::copy(&source, &target, &clock).await;
    source.close().await?;
    target.close().await?;
    let copied = copied?;
    println!(
        "copied {copied} events into {}",
        target_dir.data_dir.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// A new or empty store whose clock the restore sets to each archived moment.
fn open_target(
    data: &DataDirArg,
) -> Result<(complaintflow_store_sled::SledStore, ManualClock), Box<dyn std::error::Error>> {
    let clock = ManualClock::new(Timestamp::UNIX_EPOCH);
    let store = data.open_with_clock(Arc::new(clock.clone()))?;
    if store.head() > 0 {
        return Err(format!(
            "{} already holds {} events: restore only into a new or empty data directory",
            data.data_dir.display(),
            store.head()
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
