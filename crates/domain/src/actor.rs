//! Who caused an event. The engine fills this in from the authenticated
//! caller; payloads never carry it, so a client cannot claim to be someone else.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::values::ActorId;
use super::vocabulary::{Level, named_enum};

named_enum! {
    /// The role an authenticated caller acts in.
    pub enum Role {
        /// Service advisor, receptionist or DCAC agent at the dealer.
        DealerStaff = "dealer_staff",
        ServiceManager = "service_manager",
        ShiftSupervisor = "shift_supervisor",
        CacAgent = "cac_agent",
        RegionalManager = "regional_manager",
        RegionalEngineer = "regional_engineer",
        /// The engine itself (deadline timers).
        Engine = "engine",
    }
}

impl Role {
    /// The approval level this role holds, if any.
    pub fn level(self) -> Option<Level> {
        match self {
            Role::DealerStaff => Some(Level::DealerDesk),
            Role::ServiceManager => Some(Level::ServiceManager),
            Role::ShiftSupervisor => Some(Level::ShiftSupervisor),
            Role::CacAgent => Some(Level::ManufacturerCac),
            Role::RegionalManager => Some(Level::RegionalManager),
            Role::RegionalEngineer => Some(Level::RegionalEngineer),
            Role::Engine => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    pub id: ActorId,
    pub role: Role,
}

impl Actor {
    pub fn new(id: ActorId, role: Role) -> Self {
        Self { id, role }
    }

    /// The identity the timer scheduler uses for the events it appends.
    pub fn engine() -> Self {
        Self {
            id: ActorId::parse("engine").unwrap_or_else(|_| unreachable!("constant is valid")),
            role: Role::Engine,
        }
    }
}

/// What the store knows about an event besides its payload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventMeta {
    /// Version in the complaint's stream: the store's, so 0 for `Filed`.
    pub version: u64,
    /// When it happened in the world (a call, a visit): deadlines count from this.
    pub occurred_at: Timestamp,
    /// When the engine stored it.
    pub recorded_at: Timestamp,
    pub actor: Actor,
}
