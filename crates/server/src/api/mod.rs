//! The gRPC API.

pub mod auth;
pub mod budget;
pub mod codec;
pub mod convert;
pub mod proto;
pub mod services;
pub mod status;
