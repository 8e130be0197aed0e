//! The gRPC API.

pub mod convert;
pub mod proto;
pub mod status;
