//! Conversions between the protobuf API (`crate::api::proto`) and the pure domain.
//!
//! Inbound conversions check everything the wire can get wrong (missing messages,
//! unknown enum numbers, malformed values) and answer with a [`FieldViolation`] that
//! names the offending proto field by its full path, so the server can return
//! INVALID_ARGUMENT with a `BadRequest` detail. Whether an event is *allowed* is not
//! decided here but by the domain's rules, later.
//!
//! Outbound conversions cannot fail, except for decoding a stored payload.

mod enums;
mod envelope;
mod events;
mod fields;
#[cfg(test)]
mod fixtures;
mod follow_ups;
mod names;
mod state;
mod stats;
mod time;
mod violation;

pub(crate) use enums::optional_enum_from_proto;
pub(crate) use envelope::recorded_event_to_proto;
pub use events::event_to_proto;
pub(crate) use events::{event_from_proto, filed_from_proto};
pub use follow_ups::follow_up_to_proto;
pub(crate) use follow_ups::{
    follow_up_event_from_proto, follow_up_id_from_name, follow_up_name, opened_from_proto,
};
pub(crate) use names::check_dealer_namespace;
pub use names::complaint_name;
pub(crate) use names::{complaint_id_from_name, parse_optional_uuid, parse_uuid};
pub(crate) use state::complaint_to_proto;
pub use stats::statistics_to_proto;
pub(crate) use time::{optional_timestamp_from_proto, timestamp_from_proto};
pub use time::{optional_timestamp_to_proto, timestamp_to_proto};
pub use violation::FieldViolation;
