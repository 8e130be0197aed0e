//! Everything that can happen to a quality follow-up, and its codec. Stored type names
//! are `follow_up.*` and are kept forever, like the complaints' `complaint.*`.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::events::{Customer, DecodeError, Vehicle, decode_payload, encode_payload};
use crate::values::{
    ComplaintId, DealerCode, FollowUpId, Label, RegionCode, SatisfactionScore, Text,
};

/// What the follow-up comes after.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Occasion {
    /// A new car delivered.
    Sale,
    /// A car handed back after a repair or a service.
    Repair,
}

impl Occasion {
    pub const ALL: &'static [Occasion] = &[Occasion::Sale, Occasion::Repair];

    pub fn as_str(self) -> &'static str {
        match self {
            Occasion::Sale => "sale",
            Occasion::Repair => "repair",
        }
    }
}

/// A delivery that needs a quality follow-up call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Opened {
    pub follow_up_id: FollowUpId,
    pub occasion: Occasion,
    pub dealer: DealerCode,
    pub region: RegionCode,
    pub customer: Customer,
    pub vehicle: Vehicle,
    /// When the car was handed over: the call is due counting from here.
    pub delivered_at: Timestamp,
    /// The sales contract or repair order, as the dealer's system knows it.
    pub reference: Option<Label>,
}

/// A call nobody answered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallUnanswered {}

/// The customer answered: how satisfied, and what is wrong if anything.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Answered {
    pub score: SatisfactionScore,
    pub concern: Option<Text>,
}

/// The unhappy answer became this complaint (which names the follow-up it came from).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BecameComplaint {
    pub complaint_id: ComplaintId,
}

/// Nothing more to do: answered and settled, or the customer could not be reached.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Closed {
    pub note: Option<Text>,
}

/// The engine's record that the call was not made in time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeadlineMissed {
    pub due_at: Timestamp,
}

/// Declares `FollowUpEvent` from one table (variant, payload, type name, schema
/// version), as `complaint_events!` does for complaints.
macro_rules! follow_up_events {
    ($($variant:ident($payload:ident) = $type_name:literal v $version:literal,)+) => {
        #[allow(clippy::large_enum_variant)]
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub enum FollowUpEvent {
            $($variant($payload),)+
        }

        impl FollowUpEvent {
            /// Every stored type name, in table order.
            pub const TYPES: &'static [&'static str] = &[$($type_name),+];

            pub fn event_type(&self) -> &'static str {
                match self {
                    $(FollowUpEvent::$variant(_) => $type_name,)+
                }
            }

            pub fn schema_version(&self) -> u16 {
                match self {
                    $(FollowUpEvent::$variant(_) => $version,)+
                }
            }

            pub fn encode_payload(&self) -> Vec<u8> {
                match self {
                    $(FollowUpEvent::$variant(payload) => encode_payload(payload),)+
                }
            }

            pub fn decode(
                event_type: &str,
                schema_version: u16,
                payload: &[u8],
            ) -> Result<FollowUpEvent, DecodeError> {
                match event_type {
                    $($type_name => {
                        if schema_version != $version {
                            return Err(DecodeError::UnsupportedSchemaVersion {
                                event_type: $type_name,
                                version: schema_version,
                                supported: $version,
                            });
                        }
                        decode_payload($type_name, payload).map(FollowUpEvent::$variant)
                    })+
                    other => Err(DecodeError::UnknownType(other.to_owned())),
                }
            }
        }

        $(impl From<$payload> for FollowUpEvent {
            fn from(payload: $payload) -> Self {
                FollowUpEvent::$variant(payload)
            }
        })+
    };
}

follow_up_events! {
    Opened(Opened) = "follow_up.opened" v 1,
    CallUnanswered(CallUnanswered) = "follow_up.call_unanswered" v 1,
    Answered(Answered) = "follow_up.answered" v 1,
    BecameComplaint(BecameComplaint) = "follow_up.became_complaint" v 1,
    Closed(Closed) = "follow_up.closed" v 1,
    DeadlineMissed(DeadlineMissed) = "follow_up.deadline_missed" v 1,
}

impl FollowUpEvent {
    /// Events only the engine's timers may append.
    pub(crate) fn is_engine_only(&self) -> bool {
        matches!(self, FollowUpEvent::DeadlineMissed(_))
    }
}
