//! The complaintflow node: the engine that decides and appends, the projections that
//! follow the log into read models, the timers that fire deadlines, authentication, and
//! the gRPC API, put together by [`node`].

pub mod api;
pub mod auth;
pub mod config;
pub mod engine;
pub mod export;
pub mod http;
pub mod local_log;
pub mod node;
pub mod notify;
pub mod projections;
pub mod telemetry;
pub mod timers;
