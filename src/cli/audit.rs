//! `verify` and `digest`: what an auditor runs against the log (a data directory's, or
//! a database's with `--store`), also while a server runs on it.

use std::process::ExitCode;

use complaintflow_log::verify::{
    DigestCheck, check_digest, take_digest, verify_log, verify_stream,
};
use complaintflow_log::{Digest, StreamId};

use super::StoreArg;

type CliResult = Result<ExitCode, Box<dyn std::error::Error>>;

#[derive(Debug, clap::Args)]
pub(super) struct VerifyArgs {
    #[command(flatten)]
    store: StoreArg,
    /// Verify only this complaint's stream.
    #[arg(long)]
    complaint: Option<String>,
}

pub(super) async fn verify(args: VerifyArgs) -> CliResult {
    let opened = args.store.open_for_reading().await?;
    let store = opened.reader();
    for line in opened.recorded_overrides()? {
        println!("note: an operator accepted a loss of acknowledged events: {line}");
    }
    let report = match &args.complaint {
        Some(id) => verify_stream(store.as_ref(), &StreamId::new(id.as_str())?).await?,
        None => verify_log(store.as_ref()).await?,
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
    opened.close().await?;
    Ok(code)
}

#[derive(Debug, clap::Args)]
pub(super) struct DigestArgs {
    #[command(flatten)]
    store: StoreArg,
    /// A digest saved earlier (`<position>:<hash>`): check that the log still extends it.
    #[arg(long)]
    check: Option<Digest>,
}

pub(super) async fn digest(args: DigestArgs) -> CliResult {
    let opened = args.store.open_intact_for_reading().await?;
    let store = opened.reader();
    let code = match args.check {
        None => {
            if let Some(digest) = take_digest(store.as_ref()).await? {
                println!("{digest}");
                ExitCode::SUCCESS
            } else {
                println!("the log is empty: nothing to digest");
                ExitCode::from(1)
            }
        }
        Some(saved) => match check_digest(store.as_ref(), &saved).await? {
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
    opened.close().await?;
    Ok(code)
}
