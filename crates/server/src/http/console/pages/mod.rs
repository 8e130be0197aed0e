//! One module per page of the console.

pub(super) mod actions;
pub(super) mod audit;
pub(super) mod complaint;
pub(super) mod queue;
pub(super) mod sign_in;
pub(super) mod statistics;
