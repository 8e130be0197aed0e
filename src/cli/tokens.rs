//! `complaintflow token issue | list | revoke`: the token file. A running server picks up
//! every change within a second (or at once on SIGHUP).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use jiff::{SignedDuration, Timestamp};

use complaintflow_domain::Role as WorkflowRole;
use complaintflow_server::auth::{Role, TokenEntry, TokenFile, TokenRegistry};

#[derive(Debug, clap::Subcommand)]
pub(super) enum TokenCommand {
    /// Create a token, store its hash in the token file, print the token (only now).
    Issue(IssueArgs),
    /// The tokens of the file: identity, role, scope, expiry (never the tokens).
    List(FileArgs),
    /// Remove every token of an identity from the file.
    Revoke(RevokeArgs),
}

#[derive(Debug, clap::Args)]
pub(super) struct FileArgs {
    /// The token file.
    #[arg(long, env = "COMPLAINTFLOW_TOKENS")]
    tokens: PathBuf,
}

#[derive(Debug, clap::Args)]
pub(super) struct RevokeArgs {
    #[command(flatten)]
    file: FileArgs,
    /// The identity whose tokens are revoked.
    #[arg(long)]
    identity: String,
}

#[derive(Debug, clap::Args)]
pub(super) struct IssueArgs {
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
    /// For a cac token: a region it serves (repeatable). For a dealer token: the one
    /// region its dealers belong to, unless the server's `[dealers]` registry says.
    #[arg(long = "region")]
    regions: Vec<String>,
    /// The workflow role its events are recorded under (e.g. service_manager).
    #[arg(long, value_parser = parse_workflow_role)]
    acts_as: Option<WorkflowRole>,
    /// The token stops working after this long: e.g. 30d, 12h, 90m.
    #[arg(long, value_parser = super::duration::positive, conflicts_with = "expires_at")]
    expires_in: Option<SignedDuration>,
    /// The token stops working at this moment (RFC 3339, e.g. 2027-01-01T00:00:00Z).
    #[arg(long)]
    expires_at: Option<Timestamp>,
}

fn parse_role(text: &str) -> Result<Role, String> {
    toml::Value::String(text.to_owned())
        .try_into()
        .map_err(|_| format!("{text:?}: expected dealer, cac, auditor or admin"))
}

fn parse_workflow_role(text: &str) -> Result<WorkflowRole, String> {
    text.parse()
        .map_err(|e: complaintflow_domain::vocabulary::UnknownName| e.to_string())
}

fn read(path: &Path) -> Result<TokenFile, Box<dyn std::error::Error>> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(toml::from_str(&text)?),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(TokenFile::default()),
        Err(err) => Err(format!("cannot read {}: {err}", path.display()).into()),
    }
}

/// Writes the file whole under another name, then renames it over the old one, so that
/// a server reading it meanwhile sees the old file or the new one, never half of one.
fn write(path: &Path, file: &TokenFile) -> Result<(), Box<dyn std::error::Error>> {
    // Refuse a file the server would refuse (its `[dealers]` registry is checked when
    // the server loads the file).
    TokenRegistry::from_file(file, &path.display().to_string(), &Default::default())?;
    let staged = path.with_extension("toml.new");
    std::fs::write(&staged, toml::to_string_pretty(file)?)?;
    std::fs::rename(&staged, path)?;
    Ok(())
}

pub(super) fn run(command: TokenCommand) -> Result<ExitCode, Box<dyn std::error::Error>> {
    match command {
        TokenCommand::Issue(args) => issue(args),
        TokenCommand::List(args) => list(&args.tokens),
        TokenCommand::Revoke(args) => revoke(&args.file.tokens, &args.identity),
    }
}

fn issue(args: IssueArgs) -> Result<ExitCode, Box<dyn std::error::Error>> {
    let mut file = read(&args.tokens)?;
    let (mut entry, token) = TokenEntry::issue(&args.identity, args.role);
    entry.dealers = args.dealers;
    entry.regions = args.regions;
    entry.acts_as = args.acts_as;
    entry.expires_at = match (args.expires_in, args.expires_at) {
        (Some(after), _) => Some(Timestamp::now().checked_add(after)?),
        (None, at) => at,
    };
    file.tokens.push(entry);
    write(&args.tokens, &file)?;
    println!("{token}");
    Ok(ExitCode::SUCCESS)
}

fn list(path: &Path) -> Result<ExitCode, Box<dyn std::error::Error>> {
    let file = read(path)?;
    let now = Timestamp::now();
    for entry in &file.tokens {
        let scope = match entry.role {
            Role::Dealer if entry.regions.is_empty() => {
                format!("dealers {}", entry.dealers.join(","))
            }
            Role::Dealer => format!(
                "dealers {} in {}",
                entry.dealers.join(","),
                entry.regions.join(",")
            ),
            Role::Cac => format!("regions {}", entry.regions.join(",")),
            Role::Auditor | Role::Admin => "everything".to_owned(),
        };
        let expiry = match entry.expires_at {
            None => "never expires".to_owned(),
            Some(at) if at <= now => format!("EXPIRED {at}"),
            Some(at) => format!("expires {at}"),
        };
        // The first hex digits of the hash tell two tokens of one identity apart.
        let hash = entry.token_hash.get(7..19).unwrap_or_default();
        println!(
            "{}\t{}\t{scope}\t{expiry}\t{hash}",
            entry.identity, entry.role
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn revoke(path: &Path, identity: &str) -> Result<ExitCode, Box<dyn std::error::Error>> {
    let mut file = read(path)?;
    let before = file.tokens.len();
    file.tokens.retain(|entry| entry.identity != identity);
    let revoked = before - file.tokens.len();
    if revoked == 0 {
        eprintln!("no token of {identity} in {}", path.display());
        return Ok(ExitCode::FAILURE);
    }
    write(path, &file)?;
    println!("revoked {revoked} token(s) of {identity}");
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issue_list_and_revoke_edit_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tokens.toml");
        for identity in ["a", "b"] {
            issue(IssueArgs {
                tokens: path.clone(),
                identity: identity.into(),
                role: Role::Auditor,
                dealers: vec![],
                regions: vec![],
                acts_as: None,
                expires_in: Some(SignedDuration::from_hours(1)),
                expires_at: None,
            })
            .unwrap();
        }
        let file = read(&path).unwrap();
        assert_eq!(file.tokens.len(), 2);
        assert!(file.tokens[0].expires_at.unwrap() > Timestamp::now());
        assert_eq!(revoke(&path, "a").unwrap(), ExitCode::SUCCESS);
        let file = read(&path).unwrap();
        assert_eq!(file.tokens.len(), 1);
        assert_eq!(file.tokens[0].identity, "b");
        assert_eq!(revoke(&path, "a").unwrap(), ExitCode::FAILURE);
    }
}
