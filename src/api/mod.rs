//! The gRPC API.

pub mod proto;
