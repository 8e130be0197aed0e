//! `complaintflow token issue`: adds a token to a token file and prints it once.

use std::path::PathBuf;
use std::process::ExitCode;

use crate::auth::{Role, TokenEntry, TokenFile};
use crate::domain::Role as WorkflowRole;

#[derive(Debug, clap::Subcommand)]
pub enum TokenCommand {
    /// Create a token, store its hash in the token file, print the token (only now).
    Issue(IssueArgs),
}

#[derive(Debug, clap::Args)]
pub struct IssueArgs {
    /// The token file (created if missing).
    #[arg(long, env = "COMPLAINTFLOW_TOKENS")]
    tokens: PathBuf,
    /// Who the token belongs to (recorded as the actor of its events).
    #[arg(long)]
    identity: String,
    /// dealer, cac, auditor or admin.
    #[arg(long, value_parser = parse_role)]
    role: Role,
    /// For a dealer token: a dealer code it acts for (repeatable).
    #[arg(long = "dealer")]
    dealers: Vec<String>,
    /// For a cac token: a region it serves (repeatable).
    #[arg(long = "region")]
    regions: Vec<String>,
    /// The workflow role its events are recorded under (e.g. service_manager).
    #[arg(long, value_parser = parse_workflow_role)]
    acts_as: Option<WorkflowRole>,
}

fn parse_role(text: &str) -> Result<Role, String> {
    toml::Value::String(text.to_owned())
        .try_into()
        .map_err(|_| format!("{text:?}: expected dealer, cac, auditor or admin"))
}

fn parse_workflow_role(text: &str) -> Result<WorkflowRole, String> {
    text.parse()
        .map_err(|e: crate::domain::vocabulary::UnknownName| e.to_string())
}

pub fn run(command: TokenCommand) -> Result<ExitCode, Box<dyn std::error::Error>> {
    let TokenCommand::Issue(args) = command;
    let mut file: TokenFile = match std::fs::read_to_string(&args.tokens) {
        Ok(text) => toml::from_str(&text)?,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => TokenFile::default(),
        Err(err) => return Err(format!("cannot read {}: {err}", args.tokens.display()).into()),
    };
    let (mut entry, token) = TokenEntry::issue(&args.identity, args.role);
    entry.dealers = args.dealers;
    entry.regions = args.regions;
    entry.acts_as = args.acts_as;
    file.tokens.push(entry);
    // Refuse a file the server would refuse.
    crate::auth::TokenRegistry::from_file(&file, &args.tokens.display().to_string())?;
    std::fs::write(&args.tokens, toml::to_string_pretty(&file)?)?;
    println!("{token}");
    Ok(ExitCode::SUCCESS)
}
