//! complaintflow: an event-sourced complaint workflow engine.
//!
//! - [`store`]: the append-only event log (trait + sled backend), hash chains, live tail.
//! - [`clock`]: injectable time.

pub mod api;
pub mod auth;
pub mod cli;
pub mod clock;
pub mod config;
pub mod store;
pub mod telemetry;
