//! Workflow events, both directions. Engine-only events convert too: timelines
//! show them, and refusing a client that submits one is the rules' job, not ours.

mod from_proto;
mod to_proto;

pub(crate) use from_proto::{customer as customer_from_proto, vehicle as vehicle_from_proto};
pub(crate) use from_proto::{event_from_proto, filed_from_proto};
pub use to_proto::event_to_proto;
pub(crate) use to_proto::{
    customer_to_proto, minor_units, open_obligation_to_proto, vehicle_to_proto,
};

#[cfg(test)]
mod tests;
