//! `rebuild` and `policy`: operator commands around the read models and the rules.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use indicatif::{ProgressBar, ProgressStyle};

use super::StoreArg;
use complaintflow_domain::policy::CALENDAR_WARNING_DAYS;
use complaintflow_server::node::load_policy;
use complaintflow_server::projections::Projections;

type CliResult = Result<ExitCode, Box<dyn std::error::Error>>;

#[derive(Debug, clap::Args)]
pub(super) struct RebuildArgs {
    #[command(flatten)]
    store: StoreArg,
    /// The policy the server runs with [default: built-in]; deadlines depend on it.
    #[arg(long, env = "COMPLAINTFLOW_POLICY")]
    policy: Option<PathBuf>,
}

/// Throws the projections away and rebuilds them from the log, with a progress bar. With
/// `--store`, the log is the database's and the read models this node's.
pub(super) async fn rebuild(args: RebuildArgs) -> CliResult {
    let opened = args.store.open_intact().await?;
    let store = opened.shared();
    let policy = Arc::new(load_policy(args.policy.as_deref())?);
    let projections = Projections::open_empty(args.store.data.dir().projections(), policy)?;
    let bar = ProgressBar::new(store.head());
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} rebuilding [{bar:40}] {pos}/{len} events ({per_sec}, {eta})",
        )?
        .progress_chars("=> "),
    );
    let started = std::time::Instant::now();
    let applied = projections
        .catch_up(store.as_ref(), |done, _| bar.set_position(done))
        .await?;
    bar.finish_and_clear();
    let rebuilt = started.elapsed().as_secs_f64();
    let started = std::time::Instant::now();
    projections.flush().await?;
    let saved = started.elapsed().as_secs_f64();
    opened.close().await?;
    println!(
        "rebuilt projections from {applied} events in {rebuilt:.2} s ({:.0} events/s), snapshot saved in {saved:.2} s; {} deadlines pending",
        applied as f64 / rebuilt.max(1e-9),
        projections.pending_timers()
    );
    // The process ends next, and the snapshot holds the read models: freeing them one
    // allocation at a time would only add a quarter of a second per million events.
    std::mem::forget(projections);
    Ok(ExitCode::SUCCESS)
}

#[derive(Debug, clap::Subcommand)]
pub(super) enum PolicyCommand {
    /// Print the policy in force (the built-in one, or FILE) as TOML.
    Show {
        #[arg(long)]
        policy: Option<PathBuf>,
    },
    /// Check a policy file; exit 1 with the offending field if it is invalid.
    Check { file: PathBuf },
}

pub(super) fn policy(command: PolicyCommand) -> CliResult {
    match command {
        PolicyCommand::Show { policy } => {
            print!("{}", load_policy(policy.as_deref())?.to_toml_string()?);
            Ok(ExitCode::SUCCESS)
        }
        PolicyCommand::Check { file } => match load_policy(Some(&file)) {
            Ok(policy) => {
                println!("{}: valid", file.display());
                // Valid, but an operator must still hear when the calendar runs out.
                let now = jiff::Timestamp::now();
                for notice in policy.calendar_notices(now, CALENDAR_WARNING_DAYS) {
                    println!("warning: {notice}");
                }
                Ok(ExitCode::SUCCESS)
            }
            Err(err) => {
                println!("{err}");
                Ok(ExitCode::from(1))
            }
        },
    }
}
