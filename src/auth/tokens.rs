//! The token file and the registry built from it.

use std::collections::HashMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::principal::{Principal, Role, Scope};
use crate::domain::values::ActorId;
use crate::domain::{Actor, Role as WorkflowRole};
use crate::store::Hash;

const TOKEN_PREFIX: &str = "cft_";

#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("cannot read token file {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("token file {path}: {message}")]
    Invalid { path: String, message: String },
}

/// One entry of the token file. Only the token's hash is stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenEntry {
    pub identity: String,
    pub role: Role,
    /// For `dealer`: the dealer codes it acts for.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dealers: Vec<String>,
    /// For `cac`: the regions it serves.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub regions: Vec<String>,
    /// The workflow role its events are recorded under, which decides what it may
    /// approve (`dealer_staff`, `service_manager`, `shift_supervisor`, `cac_agent`,
    /// `regional_manager`, `regional_engineer`). Defaults: dealer → `dealer_staff`,
    /// cac and admin → `cac_agent`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acts_as: Option<WorkflowRole>,
    /// `blake3:` and 64 hex digits: the hash of the bearer token.
    pub token_hash: String,
}

/// The whole token file: `[[tokens]]` tables.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenFile {
    #[serde(default)]
    pub tokens: Vec<TokenEntry>,
}

/// Hashes a bearer token for storage and lookup.
pub fn hash_token(token: &str) -> Hash {
    Hash(*blake3::hash(token.as_bytes()).as_bytes())
}

fn format_hash(hash: &Hash) -> String {
    format!("blake3:{hash}")
}

/// A new random bearer token (256 bits from the OS generator).
pub fn generate_token() -> String {
    let (a, b) = (uuid::Uuid::new_v4(), uuid::Uuid::new_v4());
    // A v4 UUID carries 122 random bits; two give 244, plenty for a bearer secret.
    format!("{TOKEN_PREFIX}{}{}", a.simple(), b.simple())
}

impl TokenEntry {
    fn principal(&self) -> Result<Principal, String> {
        let id = ActorId::parse(self.identity.as_str())
            .map_err(|e| format!("identity {:?}: {e}", self.identity))?;
        let acts_as = match (self.role, self.acts_as) {
            (_, Some(WorkflowRole::Engine)) => {
                return Err(format!(
                    "{}: only the engine acts as `engine`",
                    self.identity
                ));
            }
            (_, Some(role)) => role,
            (Role::Dealer, None) => WorkflowRole::DealerStaff,
            (Role::Cac | Role::Admin | Role::Auditor, None) => WorkflowRole::CacAgent,
        };
        let scope = match self.role {
            Role::Dealer if self.dealers.is_empty() => {
                return Err(format!("{}: a dealer token needs `dealers`", self.identity));
            }
            Role::Cac if self.regions.is_empty() => {
                return Err(format!("{}: a cac token needs `regions`", self.identity));
            }
            Role::Dealer => Scope::Dealers(self.dealers.iter().cloned().collect()),
            Role::Cac => Scope::Regions(self.regions.iter().cloned().collect()),
            Role::Auditor | Role::Admin => Scope::Everything,
        };
        Ok(Principal {
            role: self.role,
            scope,
            actor: Actor::new(id, acts_as),
        })
    }

    fn parsed_hash(&self) -> Result<Hash, String> {
        self.token_hash
            .strip_prefix("blake3:")
            .and_then(|hex| hex.parse().ok())
            .ok_or_else(|| {
                format!(
                    "{}: token_hash must be `blake3:` and 64 hex digits",
                    self.identity
                )
            })
    }

    /// An entry for a freshly generated token; returns the entry and the token.
    pub fn issue(identity: &str, role: Role) -> (Self, String) {
        let token = generate_token();
        let entry = Self {
            identity: identity.to_owned(),
            role,
            dealers: Vec::new(),
            regions: Vec::new(),
            acts_as: None,
            token_hash: format_hash(&hash_token(&token)),
        };
        (entry, token)
    }
}

/// Looks up principals by presented token.
#[derive(Debug, Clone, Default)]
pub struct TokenRegistry {
    by_hash: HashMap<Hash, Principal>,
}

impl TokenRegistry {
    pub fn from_file(file: &TokenFile, path: &str) -> Result<Self, TokenError> {
        let invalid = |message: String| TokenError::Invalid {
            path: path.to_owned(),
            message,
        };
        let mut by_hash = HashMap::new();
        for (i, entry) in file.tokens.iter().enumerate() {
            let hash = entry
                .parsed_hash()
                .map_err(|m| invalid(format!("tokens[{i}]: {m}")))?;
            let principal = entry
                .principal()
                .map_err(|m| invalid(format!("tokens[{i}]: {m}")))?;
            if by_hash.insert(hash, principal).is_some() {
                return Err(invalid(format!(
                    "tokens[{i}]: the same token appears twice"
                )));
            }
        }
        Ok(Self { by_hash })
    }

    pub fn load(path: &Path) -> Result<Self, TokenError> {
        let display = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| TokenError::Read {
            path: display.clone(),
            source,
        })?;
        let file: TokenFile = toml::from_str(&text).map_err(|e| TokenError::Invalid {
            path: display.clone(),
            message: e.to_string(),
        })?;
        Self::from_file(&file, &display)
    }

    /// A registry with one admin token.
    pub fn single_admin(token: &str) -> Self {
        let (mut entry, _) = TokenEntry::issue("admin", Role::Admin);
        entry.token_hash = format_hash(&hash_token(token));
        let file = TokenFile {
            tokens: vec![entry],
        };
        Self::from_file(&file, "built-in admin token").unwrap_or_default()
    }

    /// The principal a presented token belongs to.
    pub fn authenticate(&self, token: &str) -> Option<&Principal> {
        let presented = hash_token(token);
        // The map lookup compares hashes of the secret, never the secret itself; the
        // final comparison is constant-time.
        self.by_hash
            .get_key_value(&presented)
            .filter(|(stored, _)| stored.ct_eq(&presented))
            .map(|(_, principal)| principal)
    }

    pub fn len(&self) -> usize {
        self.by_hash.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_hash.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(entries: Vec<TokenEntry>) -> TokenFile {
        TokenFile { tokens: entries }
    }

    #[test]
    fn authenticates_by_hash_only() {
        let (mut entry, token) = TokenEntry::issue("dms-sh-01", Role::Dealer);
        entry.dealers = vec!["SH-01".into()];
        let text = toml::to_string(&file(vec![entry])).unwrap();
        assert!(!text.contains(&token), "the token itself is never stored");
        let registry = TokenRegistry::from_file(&toml::from_str(&text).unwrap(), "t").unwrap();
        let principal = registry.authenticate(&token).unwrap();
        assert_eq!(principal.actor.id.as_str(), "dms-sh-01");
        assert_eq!(principal.actor.role, WorkflowRole::DealerStaff);
        assert!(principal.can_see("SH-01", "ANY"));
        assert!(registry.authenticate("cft_wrong").is_none());
        assert!(registry.authenticate("").is_none());
    }

    #[test]
    fn refuses_incomplete_entries_naming_them() {
        let (entry, _) = TokenEntry::issue("dms", Role::Dealer);
        let err = TokenRegistry::from_file(&file(vec![entry]), "tokens.toml").unwrap_err();
        assert!(
            err.to_string()
                .contains("tokens[0]: dms: a dealer token needs `dealers`"),
            "{err}"
        );
        let (mut entry, _) = TokenEntry::issue("cac", Role::Cac);
        entry.regions = vec!["EAST".into()];
        entry.token_hash = "sha1:00".into();
        let err = TokenRegistry::from_file(&file(vec![entry]), "tokens.toml").unwrap_err();
        assert!(err.to_string().contains("token_hash"), "{err}");
        let err =
            toml::from_str::<TokenFile>("[[tokens]]\nidentity='x'\nrole='root'\ntoken_hash=''")
                .unwrap_err();
        assert!(err.to_string().contains("role"), "{err}");
    }

    #[test]
    fn a_token_may_act_as_a_manager_but_never_as_the_engine() {
        let (mut entry, token) = TokenEntry::issue("sm-sh-01", Role::Dealer);
        entry.dealers = vec!["SH-01".into()];
        entry.acts_as = Some(WorkflowRole::ServiceManager);
        let registry = TokenRegistry::from_file(&file(vec![entry.clone()]), "t").unwrap();
        assert_eq!(
            registry.authenticate(&token).unwrap().actor.role,
            WorkflowRole::ServiceManager
        );
        entry.acts_as = Some(WorkflowRole::Engine);
        assert!(TokenRegistry::from_file(&file(vec![entry]), "t").is_err());
        let admin = TokenRegistry::single_admin("cft_secret");
        assert_eq!(admin.authenticate("cft_secret").unwrap().role, Role::Admin);
    }

    #[test]
    fn generated_tokens_differ() {
        assert_ne!(generate_token(), generate_token());
        assert!(generate_token().starts_with(TOKEN_PREFIX));
    }
}
