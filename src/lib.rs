//! complaintflow: an event-sourced complaint workflow engine.

pub mod domain;
