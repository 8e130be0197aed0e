//! An authenticated identity and the checks that follow from its role and scope.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use complaintflow_domain::Actor;

/// What kind of user a token belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// A dealer's DMS: reads and writes the complaints of its own dealer codes.
    Dealer,
    /// A regional Customer Assistance Center: reads and writes everything in its regions.
    Cac,
    /// Reads everything, verifies, exports; writes nothing.
    Auditor,
    /// Everything.
    Admin,
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Dealer => "dealer",
            Self::Cac => "cac",
            Self::Auditor => "auditor",
            Self::Admin => "admin",
        })
    }
}

/// The complaints a principal may see: all, or those of some dealers or regions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    Everything,
    Dealers(BTreeSet<String>),
    Regions(BTreeSet<String>),
}

/// Which region each known dealer belongs to (dealer code → region code).
pub(crate) type DealerDirectory = Arc<BTreeMap<String, String>>;

/// The caller of a request, as authenticated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub role: Role,
    pub scope: Scope,
    /// Who its events are recorded as, and in which workflow role.
    pub actor: Actor,
    /// The server's dealer registry when the token was loaded.
    pub directory: DealerDirectory,
}

impl Principal {
    /// Whether the complaint of `dealer` in `region` is visible to this principal.
    pub(crate) fn can_see(&self, dealer: &str, region: &str) -> bool {
        match &self.scope {
            Scope::Everything => true,
            Scope::Dealers(dealers) => dealers.contains(dealer),
            Scope::Regions(regions) => regions.contains(region),
        }
    }

    /// Whether this principal may file a complaint for `dealer` in `region`: the region
    /// must be the dealer's own, as the server knows it (a client never decides it), and
    /// both must be in the caller's scope. Only an admin files for a dealer the server
    /// has no region for (an unconfigured server, as in the demo walkthrough).
    pub(crate) fn may_file(&self, dealer: &str, region: &str) -> Result<(), String> {
        if !self.can_write() {
            return Err(format!("{} may not write", self.role));
        }
        match self.directory.get(dealer) {
            Some(home) if home != region => {
                return Err(format!(
                    "dealer {dealer} is not a dealer of region {region}"
                ));
            }
            None if self.role != Role::Admin => {
                return Err(format!(
                    "dealer {dealer} has no region in the server's dealer registry"
                ));
            }
            _ => {}
        }
        if self.can_see(dealer, region) {
            Ok(())
        } else {
            Err(format!(
                "{} may not file complaints for dealer {dealer} in region {region}",
                self.identity()
            ))
        }
    }

    /// Whether this principal may append events to a complaint it can see.
    pub(crate) fn can_write(&self) -> bool {
        !matches!(self.role, Role::Auditor)
    }

    /// Whether this principal may verify the whole log, take digests and export.
    pub(crate) fn can_audit_log(&self) -> bool {
        matches!(self.role, Role::Auditor | Role::Admin)
    }

    pub fn identity(&self) -> &str {
        self.actor.id.as_str()
    }
}

/// The engine asks a caller's scope before any rule.
impl crate::engine::Access for Principal {
    fn sees(&self, owner: crate::engine::Owner<'_>) -> bool {
        self.can_see(owner.dealer, owner.region)
    }

    fn may_open(&self, owner: crate::engine::Owner<'_>) -> Result<(), String> {
        self.may_file(owner.dealer, owner.region)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use complaintflow_domain::{Role as WorkflowRole, values::ActorId};

    fn principal(role: Role, scope: Scope) -> Principal {
        Principal {
            role,
            scope,
            actor: Actor::new(ActorId::parse("x").unwrap(), WorkflowRole::CacAgent),
            directory: Arc::new([("SH-01".to_owned(), "EAST".to_owned())].into()),
        }
    }

    #[test]
    fn dealers_see_only_their_dealer_codes() {
        let dealer = principal(Role::Dealer, Scope::Dealers(["SH-01".to_owned()].into()));
        assert!(dealer.can_see("SH-01", "EAST"));
        assert!(!dealer.can_see("SH-02", "EAST"));
        assert!(dealer.can_write());
        assert!(!dealer.can_audit_log());
    }

    #[test]
    fn cac_sees_its_regions_and_auditors_write_nothing() {
        let cac = principal(Role::Cac, Scope::Regions(["EAST".to_owned()].into()));
        assert!(cac.can_see("SH-02", "EAST"));
        assert!(!cac.can_see("BJ-01", "NORTH"));
        let auditor = principal(Role::Auditor, Scope::Everything);
        assert!(auditor.can_see("BJ-01", "NORTH"));
        assert!(!auditor.can_write());
        assert!(auditor.can_audit_log());
    }

    #[test]
    fn filings_go_to_the_dealers_own_region_only() {
        let dealer = principal(Role::Dealer, Scope::Dealers(["SH-01".to_owned()].into()));
        assert!(dealer.may_file("SH-01", "EAST").is_ok());
        assert!(dealer.may_file("SH-01", "NORTH").is_err());
        assert!(dealer.may_file("SH-02", "EAST").is_err());
        let cac = principal(Role::Cac, Scope::Regions(["NORTH".to_owned()].into()));
        assert!(
            cac.may_file("SH-01", "NORTH").is_err(),
            "SH-01 is an EAST dealer"
        );
        assert!(
            cac.may_file("BJ-01", "NORTH").is_err(),
            "BJ-01 has no region"
        );
        let admin = principal(Role::Admin, Scope::Everything);
        assert!(
            admin.may_file("BJ-01", "NORTH").is_ok(),
            "unknown to the registry"
        );
        assert!(admin.may_file("SH-01", "NORTH").is_err());
        let auditor = principal(Role::Auditor, Scope::Everything);
        assert!(auditor.may_file("SH-01", "EAST").is_err());
    }
}
