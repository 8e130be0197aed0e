//! complaintflow's tools: the command line (`serve`, `verify`, `digest`, `export`,
//! `demo`, `loadtest`, ...), the demo data generator and the load generator. The engine
//! itself lives in the workspace's other crates:
//!
//! - `complaintflow-domain`: the pure business: events, state machine, rules, policy,
//!   calendar, deadlines.
//! - `complaintflow-log`: the event log's contract, hash chains, verification, live tail.
//! - `complaintflow-store-sled`: the embedded backend.
//! - `complaintflow-server`: engine, projections, timers, auth and the gRPC API.

pub mod cli;
pub mod demo;
pub mod loadtest;
pub mod process;
