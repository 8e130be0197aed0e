//! complaintflow: an event-sourced complaint workflow engine.
