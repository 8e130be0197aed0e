//! The gRPC service implementations.

mod audit;
mod complaints;
mod follow_ups;
mod paging;
mod position;
mod subscriptions;

use std::sync::Arc;

use tokio::sync::Semaphore;

pub use audit::AuditApi;
pub use complaints::ComplaintApi;
pub use follow_ups::FollowUpApi;
pub use paging::{PageKeyError, PageTokens};
pub use subscriptions::SubscriptionApi;

use crate::api::budget::ResponseBudget;
use crate::config::ServerLimits;
use crate::engine::Engine;
use crate::projections::Projections;

/// What every service works with.
#[derive(Clone)]
pub struct AppState {
    pub engine: Arc<Engine>,
    pub projections: Arc<Projections>,
    /// Seals the page tokens of every paginated call.
    pub page_tokens: Arc<PageTokens>,
    /// Permits for live subscriptions.
    pub subscriptions: Arc<Semaphore>,
    /// Bytes of responses not yet sent, all requests together.
    pub responses: ResponseBudget,
    pub limits: ServerLimits,
    /// Ends open subscriptions when the server shuts down.
    pub shutdown: tokio::sync::watch::Receiver<bool>,
}

/// Only a role that writes may submit events; a reader is told so before anything is
/// looked up.
fn require_writer(caller: &crate::auth::Principal) -> Result<(), crate::api::status::ApiError> {
    if caller.can_write() {
        Ok(())
    } else {
        Err(crate::api::status::ApiError::PermissionDenied(format!(
            "{} may not write",
            caller.role
        )))
    }
}
