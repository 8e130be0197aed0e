//! The token file and the registry built from it.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::Arc;

use jiff::Timestamp;

use serde::{Deserialize, Serialize};

use super::principal::{DealerDirectory, Principal, Role, Scope};
use complaintflow_domain::values::ActorId;
use complaintflow_domain::{Actor, Role as WorkflowRole};
use complaintflow_log::Hash;

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
    /// For `cac`: the regions it serves. For `dealer`: the one region its dealers belong
    /// to, unless the server's `[dealers]` registry already says.
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
    /// After this moment the token is refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<Timestamp>,
}

/// The whole token file: `[[tokens]]` tables.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenFile {
    #[serde(default)]
    pub tokens: Vec<TokenEntry>,
}

/// Hashes a bearer token for storage and lookup.
pub(crate) fn hash_token(token: &str) -> Hash {
    Hash(*blake3::hash(token.as_bytes()).as_bytes())
}

fn format_hash(hash: &Hash) -> String {
    format!("blake3:{hash}")
}

/// A new random bearer token (256 bits from the OS generator).
pub(crate) fn generate_token() -> String {
    let (a, b) = (uuid::Uuid::new_v4(), uuid::Uuid::new_v4());
    // A v4 UUID carries 122 random bits; two give 244, plenty for a bearer secret.
    format!("{TOKEN_PREFIX}{}{}", a.simple(), b.simple())
}

impl TokenEntry {
    fn principal(&self, directory: &DealerDirectory) -> Result<Principal, String> {
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
            directory: directory.clone(),
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
            expires_at: None,
        };
        (entry, token)
    }
}

/// Looks up principals by presented token.
#[derive(Debug, Clone, Default)]
pub struct TokenRegistry {
    by_hash: HashMap<Hash, (Principal, Option<Timestamp>)>,
}

/// Which region each dealer belongs to: the server's `[dealers]` registry, completed by
/// the region named on dealer tokens. The two must agree.
fn directory(
    file: &TokenFile,
    configured: &BTreeMap<String, String>,
) -> Result<DealerDirectory, String> {
    let mut dealers = configured.clone();
    for (i, entry) in file.tokens.iter().enumerate() {
        if entry.role != Role::Dealer || entry.regions.is_empty() {
            continue;
        }
        let [region] = entry.regions.as_slice() else {
            return Err(format!(
                "tokens[{i}]: {}: a dealer token names at most one region",
                entry.identity
            ));
        };
        for dealer in &entry.dealers {
            match dealers.get(dealer) {
                Some(known) if known != region => {
                    return Err(format!(
                        "tokens[{i}]: {}: dealer {dealer} belongs to region {known}, not {region}",
                        entry.identity
                    ));
                }
                _ => {
                    dealers.insert(dealer.clone(), region.clone());
                }
            }
        }
    }
    Ok(Arc::new(dealers))
}

impl TokenRegistry {
    /// The registry of a token file; `dealers` is the server's dealer → region registry.
    pub fn from_file(
        file: &TokenFile,
        path: &str,
        dealers: &BTreeMap<String, String>,
    ) -> Result<Self, TokenError> {
        let invalid = |message: String| TokenError::Invalid {
            path: path.to_owned(),
            message,
        };
        let directory = directory(file, dealers).map_err(invalid)?;
        let mut by_hash = HashMap::new();
        for (i, entry) in file.tokens.iter().enumerate() {
            let hash = entry
                .parsed_hash()
                .map_err(|m| invalid(format!("tokens[{i}]: {m}")))?;
            let principal = entry
                .principal(&directory)
                .map_err(|m| invalid(format!("tokens[{i}]: {m}")))?;
            if by_hash
                .insert(hash, (principal, entry.expires_at))
                .is_some()
            {
                return Err(invalid(format!(
                    "tokens[{i}]: the same token appears twice"
                )));
            }
        }
        Ok(Self { by_hash })
    }

    /// Reads and parses a token file.
    pub(crate) fn read_file(path: &Path) -> Result<TokenFile, TokenError> {
        let display = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| TokenError::Read {
            path: display.clone(),
            source,
        })?;
        toml::from_str(&text).map_err(|e| TokenError::Invalid {
            path: display,
            message: e.to_string(),
        })
    }

    pub fn load(path: &Path, dealers: &BTreeMap<String, String>) -> Result<Self, TokenError> {
        Self::from_file(
            &Self::read_file(path)?,
            &path.display().to_string(),
            dealers,
        )
    }

    /// A registry with one admin token.
    pub(crate) fn single_admin(token: &str, dealers: &BTreeMap<String, String>) -> Self {
        let (mut entry, _) = TokenEntry::issue("admin", Role::Admin);
        entry.token_hash = format_hash(&hash_token(token));
        let file = TokenFile {
            tokens: vec![entry],
        };
        Self::from_file(&file, "built-in admin token", dealers).unwrap_or_default()
    }

    /// The principal a presented token belongs to, if it has not expired by `now`.
    pub fn authenticate(&self, token: &str, now: Timestamp) -> Option<&Principal> {
        let presented = hash_token(token);
        // The map lookup compares hashes of the secret, never the secret itself; the
        // final comparison is constant-time.
        self.by_hash
            .get_key_value(&presented)
            .filter(|(stored, _)| stored.ct_eq(&presented))
            .filter(|(_, (_, expires_at))| expires_at.is_none_or(|at| now < at))
            .map(|(_, (principal, _))| principal)
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

    const NOW: Timestamp = Timestamp::UNIX_EPOCH;

    fn file(entries: Vec<TokenEntry>) -> TokenFile {
        TokenFile { tokens: entries }
    }

    #[test]
    fn authenticates_by_hash_only() {
        let (mut entry, token) = TokenEntry::issue("dms-sh-01", Role::Dealer);
        entry.dealers = vec!["SH-01".into()];
        let text = toml::to_string(&file(vec![entry])).unwrap();
        assert!(!text.contains(&token), "the token itself is never stored");
        let registry =
            TokenRegistry::from_file(&toml::from_str(&text).unwrap(), "t", &BTreeMap::new())
                .unwrap();
        let principal = registry.authenticate(&token, NOW).unwrap();
        assert_eq!(principal.actor.id.as_str(), "dms-sh-01");
        assert_eq!(principal.actor.role, WorkflowRole::DealerStaff);
        assert!(principal.can_see("SH-01", "ANY"));
        assert!(registry.authenticate("cft_wrong", NOW).is_none());
        assert!(registry.authenticate("", NOW).is_none());
    }

    #[test]
    fn refuses_incomplete_entries_naming_them() {
        let (entry, _) = TokenEntry::issue("dms", Role::Dealer);
        let err = TokenRegistry::from_file(&file(vec![entry]), "tokens.toml", &BTreeMap::new())
            .unwrap_err();
        assert!(
            err.to_string()
                .contains("tokens[0]: dms: a dealer token needs `dealers`"),
            "{err}"
        );
        let (mut entry, _) = TokenEntry::issue("cac", Role::Cac);
        entry.regions = vec!["EAST".into()];
        entry.token_hash = "sha1:00".into();
        let err = TokenRegistry::from_file(&file(vec![entry]), "tokens.toml", &BTreeMap::new())
            .unwrap_err();
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
        let registry =
            TokenRegistry::from_file(&file(vec![entry.clone()]), "t", &BTreeMap::new()).unwrap();
        assert_eq!(
            registry.authenticate(&token, NOW).unwrap().actor.role,
            WorkflowRole::ServiceManager
        );
        entry.acts_as = Some(WorkflowRole::Engine);
        assert!(TokenRegistry::from_file(&file(vec![entry]), "t", &BTreeMap::new()).is_err());
        let admin = TokenRegistry::single_admin("cft_secret", &BTreeMap::new());
        assert_eq!(
            admin.authenticate("cft_secret", NOW).unwrap().role,
            Role::Admin
        );
    }

    #[test]
    fn generated_tokens_differ() {
        assert_ne!(generate_token(), generate_token());
        assert!(generate_token().starts_with(TOKEN_PREFIX));
    }

    #[test]
    fn an_expired_token_is_refused() {
        let (mut entry, token) = TokenEntry::issue("audit", Role::Auditor);
        let expiry: Timestamp = "2026-12-01T00:00:00Z".parse().unwrap();
        entry.expires_at = Some(expiry);
        let text = toml::to_string(&file(vec![entry])).unwrap();
        let registry =
            TokenRegistry::from_file(&toml::from_str(&text).unwrap(), "t", &BTreeMap::new())
                .unwrap();
        let before = expiry - jiff::SignedDuration::from_secs(1);
        assert!(registry.authenticate(&token, before).is_some());
        assert!(registry.authenticate(&token, expiry).is_none());
    }

    #[test]
    fn dealers_belong_to_one_region_and_the_registry_has_the_last_word() {
        let (mut entry, _) = TokenEntry::issue("dms", Role::Dealer);
        entry.dealers = vec!["SH-01".into()];
        entry.regions = vec!["EAST".into()];
        let registry: BTreeMap<_, _> = [("SH-01".to_owned(), "NORTH".to_owned())].into();
        let err = TokenRegistry::from_file(&file(vec![entry.clone()]), "t", &registry).unwrap_err();
        assert!(
            err.to_string()
                .contains("dealer SH-01 belongs to region NORTH, not EAST"),
            "{err}"
        );
        entry.regions = vec!["EAST".into(), "WEST".into()];
        assert!(TokenRegistry::from_file(&file(vec![entry]), "t", &BTreeMap::new()).is_err());
    }
}
