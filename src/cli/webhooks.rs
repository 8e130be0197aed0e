//! `complaintflow webhooks status | replay`: what each endpoint has delivered and which
//! events it gave up on. Both work on the files under `<data-dir>/webhooks/` alone, so
//! they can run beside a server that holds the log: a replay is picked up by the running
//! server within a second, or by the next one to start.

use std::process::ExitCode;

use super::DataDirArg;
use complaintflow_server::notify::checkpoint;
use complaintflow_server::notify::dead_letter::{self, DeadLetter};
use complaintflow_server::notify::files::{EndpointFiles, known_endpoints};

type CliResult = Result<ExitCode, Box<dyn std::error::Error>>;

#[derive(Debug, clap::Subcommand)]
pub(super) enum WebhooksCommand {
    /// Each endpoint's checkpoint, dead letters and replays waiting.
    Status(StatusArgs),
    /// Queue an endpoint's dead letters (all, or those at --position) to be sent again.
    Replay(ReplayArgs),
}

#[derive(Debug, clap::Args)]
pub(super) struct StatusArgs {
    #[command(flatten)]
    data: DataDirArg,
    /// Only this endpoint.
    #[arg(long)]
    endpoint: Option<String>,
}

#[derive(Debug, clap::Args)]
pub(super) struct ReplayArgs {
    #[command(flatten)]
    data: DataDirArg,
    /// The endpoint whose dead letters are sent again.
    #[arg(long)]
    endpoint: String,
    /// Only the dead letter of this log position (repeatable).
    #[arg(long = "position")]
    positions: Vec<u64>,
}

pub(super) fn run(command: WebhooksCommand) -> CliResult {
    match command {
        WebhooksCommand::Status(args) => status(&args),
        WebhooksCommand::Replay(args) => replay(&args),
    }
}

fn status(args: &StatusArgs) -> CliResult {
    let data_dir = &args.data.dir();
    let mut names = known_endpoints(data_dir)?;
    if let Some(only) = &args.endpoint {
        if !names.contains(only) {
            return Err(unknown(only).into());
        }
        names.retain(|name| name == only);
    }
    if names.is_empty() {
        println!(
            "no webhook endpoint has run on {}",
            data_dir.root().display()
        );
    }
    for name in names {
        let files = EndpointFiles::new(data_dir, &name);
        let position = match checkpoint::read(&files.checkpoint) {
            Ok(Some(next)) => format!("next position {next}"),
            Ok(None) => "no checkpoint".to_owned(),
            Err(err) => format!("checkpoint unusable: {err}"),
        };
        let dead = dead_letter::list(&files.dead)?;
        let replays = dead_letter::pending_replays(&files)?;
        println!(
            "{name}: {position}; {} dead letters; {} replays waiting",
            dead.len(),
            replays.len()
        );
        for letter in &dead {
            println!("  {}", describe(letter));
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn describe(letter: &DeadLetter) -> String {
    format!(
        "position {} {} {} id {} first tried {} dead at {} after {} attempts: {}",
        letter.position,
        letter.complaint_id,
        letter.event_type,
        letter.event_id,
        letter.first_attempt,
        letter.dead_at,
        letter.attempts,
        letter.last_error
    )
}

fn replay(args: &ReplayArgs) -> CliResult {
    let data_dir = &args.data.dir();
    if !known_endpoints(data_dir)?.contains(&args.endpoint) {
        return Err(unknown(&args.endpoint).into());
    }
    let files = EndpointFiles::new(data_dir, &args.endpoint);
    let wanted = (!args.positions.is_empty()).then_some(args.positions.as_slice());
    let queued = dead_letter::request_replay(&files, wanted)?;
    println!(
        "{queued} dead letters of {} queued for replay: a running server sends them within a \
         second, otherwise the next start does",
        args.endpoint
    );
    Ok(ExitCode::SUCCESS)
}

fn unknown(name: &str) -> String {
    format!("no webhook endpoint {name:?} has run on this data directory")
}
