//! `verify` and `digest`: what an auditor runs against a data directory.

use std::process::ExitCode;

use complaintflow_log::verify::{
    DigestCheck, check_digest, take_digest, verify_log, verify_stream,
};
use complaintflow_log::{Digest, StreamId};

use super::DataDirArg;

type CliResult = Result<ExitCode, Box<dyn std::error::Error>>;

#[derive(Debug, clap::Args)]
pub struct VerifyArgs {
    #[command(flatten)]
    data: DataDirArg,
    /// Verify only this complaint's stream.
    #[arg(long)]
    complaint: Option<String>,
}

pub async fn verify(args: VerifyArgs) -> CliResult {
    let store = args.data.open_existing()?;
    for line in complaintflow_store_sled::recorded_overrides(store.path())? {
        println!("note: an operator accepted a loss of acknowledged events: {line}");
    }
    let report = match &args.complaint {
        Some(id) => verify_stream(&store, &StreamId::new(id.as_str())?).await?,
        None => verify_log(&store).await?,
    };
    let code = match &report.first_break {
        None => {
            println!("intact: {} events verified", report.events_checked);
            ExitCode::SUCCESS
        }
        Some(broken) => {
            println!(
                "BROKEN after {} good events: {broken}",
                report.events_checked
            );
            ExitCode::from(1)
        }
    };
    store.close().await?;
    Ok(code)
}

#[derive(Debug, clap::Args)]
pub struct DigestArgs {
    #[command(flatten)]
    data: DataDirArg,
    /// A digest saved earlier (`<position>:<hash>`): check that the log still extends it.
    #[arg(long)]
    check: Option<Digest>,
}

pub async fn digest(args: DigestArgs) -> CliResult {
    let store = args.data.open_intact()?;
    let code = match args.check {
        None => match take_digest(&store).await? {
            Some(digest) => {
                println!("{digest}");
                ExitCode::SUCCESS
            }
            None => {
                println!("the log is empty: nothing to digest");
                ExitCode::from(1)
            }
        },
        Some(saved) => match check_digest(&store, &saved).await? {
            DigestCheck::Consistent => {
                println!("consistent: the log still extends {saved}");
                ExitCode::SUCCESS
            }
            other => {
                println!("INCONSISTENT with {saved}: {other:?}");
                ExitCode::from(1)
            }
        },
    };
    store.close().await?;
    Ok(code)
}
