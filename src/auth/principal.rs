//! An authenticated identity and the checks that follow from its role and scope.

use std::collections::BTreeSet;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::domain::Actor;

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

/// The caller of a request, as authenticated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub role: Role,
    pub scope: Scope,
    /// Who its events are recorded as, and in which workflow role.
    pub actor: Actor,
}

impl Principal {
    /// Whether the complaint of `dealer` in `region` is visible to this principal.
    pub fn can_see(&self, dealer: &str, region: &str) -> bool {
        match &self.scope {
            Scope::Everything => true,
            Scope::Dealers(dealers) => dealers.contains(dealer),
            Scope::Regions(regions) => regions.contains(region),
        }
    }

    /// Whether this principal may append events to a complaint it can see.
    pub fn can_write(&self) -> bool {
        !matches!(self.role, Role::Auditor)
    }

    /// Whether this principal may verify the whole log, take digests and export.
    pub fn can_audit_log(&self) -> bool {
        matches!(self.role, Role::Auditor | Role::Admin)
    }

    pub fn identity(&self) -> &str {
        self.actor.id.as_str()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Role as WorkflowRole, values::ActorId};

    fn principal(role: Role, scope: Scope) -> Principal {
        Principal {
            role,
            scope,
            actor: Actor::new(ActorId::parse("x").unwrap(), WorkflowRole::CacAgent),
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
}
