//! complaintflow: an event-sourced complaint workflow engine.
//!
//! - [`domain`]: the pure business: events, state machine, rules, policy, deadlines.
//! - [`store`]: the append-only event log (trait + sled backend), hash chains, live tail.
//! - [`auth`], [`api`], [`config`], [`telemetry`], [`cli`]: the server around them.
//! - [`clock`]: injectable time.

pub mod api;
pub mod auth;
pub mod cli;
pub mod clock;
pub mod config;
pub mod demo;
pub mod domain;
pub mod engine;
pub mod loadtest;
pub mod parallel;
pub mod process;
pub mod projections;
pub mod server;
pub mod store;
pub mod telemetry;
pub mod timers;
