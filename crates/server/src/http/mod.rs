//! The HTTP port beside gRPC: `/healthz` and `/readyz` for load balancers and
//! orchestrators, and the home of the web console and the JSON interface.
//!
//! The port is bound before the event log is opened, so that a long catch-up shows as
//! "alive, not ready" instead of a refused connection. Handlers that need the engine take
//! the `Ready` extractor, which answers 503 until the node serves.

mod console;
mod health;
mod json;
mod listener;

use std::sync::Arc;

use axum::Router;
use axum::extract::{FromRef, FromRequestParts};
use axum::http::StatusCode;
use axum::http::request::Parts;
use tokio::sync::watch;
use tonic::service::Routes;

use crate::api::services::AppState;
use crate::auth::LiveTokens;
use crate::node::Gate;
use complaintflow_log::clock::SharedClock;

pub use listener::{HttpLimits, HttpListener, HttpServerError};

/// The gRPC services as one tower service, admission included: what an in-process caller
/// (the console, the JSON interface) calls to go through the same authentication, rules,
/// idempotency and limits as a gRPC client.
pub(crate) type GrpcService = Gate<Routes>;

/// Where the node is in its life, as the HTTP side sees it.
#[derive(Clone)]
pub(crate) enum Phase {
    /// The log is being opened and the read models caught up.
    Starting,
    Serving(Arc<Serving>),
    /// Shutdown has begun: not ready any more, whatever the store says.
    Stopping,
}

/// What the HTTP handlers use once the node serves.
pub(crate) struct Serving {
    pub app: AppState,
    pub grpc: GrpcService,
    pub tokens: Arc<LiveTokens>,
    pub clock: SharedClock,
}

/// The state every HTTP handler shares: the node's phase, which changes over its life.
#[derive(Clone)]
pub(crate) struct HttpState {
    phase: watch::Receiver<Phase>,
}

impl HttpState {
    pub(crate) fn phase(&self) -> Phase {
        self.phase.borrow().clone()
    }
}

/// Moves the HTTP side through the node's life.
#[derive(Clone)]
pub(crate) struct PhaseSender(Arc<watch::Sender<Phase>>);

impl PhaseSender {
    pub(crate) fn new() -> (Self, HttpState) {
        let (tx, rx) = watch::channel(Phase::Starting);
        (Self(Arc::new(tx)), HttpState { phase: rx })
    }

    pub(crate) fn set(&self, phase: Phase) {
        self.0.send_replace(phase);
    }
}

/// The serving node, for a handler that needs it; 503 while the node starts or stops.
pub(crate) struct Ready(pub Arc<Serving>);

impl<S> FromRequestParts<S> for Ready
where
    HttpState: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = (StatusCode, &'static str);

    async fn from_request_parts(_parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match HttpState::from_ref(state).phase() {
            Phase::Serving(serving) => Ok(Self(serving)),
            Phase::Starting => Err((
                StatusCode::SERVICE_UNAVAILABLE,
                "complaintflow is starting: the read models are catching up with the log\n",
            )),
            Phase::Stopping => Err((
                StatusCode::SERVICE_UNAVAILABLE,
                "complaintflow is shutting down\n",
            )),
        }
    }
}

/// Every route of the HTTP port.
pub(crate) fn router(state: HttpState) -> Router {
    Router::new()
        .merge(health::routes())
        .merge(console::routes())
        .merge(json::routes())
        .with_state(state)
}

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use axum::http::Request;
    use tower::ServiceExt;

    use super::*;

    async fn get(router: Router, path: &str) -> (StatusCode, String) {
        let response = router
            .oneshot(Request::get(path).body(Body::empty()).unwrap())
            .await
            .unwrap();
        let status = response.status();
        let body = http_body_util::BodyExt::collect(response.into_body())
            .await
            .unwrap()
            .to_bytes();
        (status, String::from_utf8(body.to_vec()).unwrap())
    }

    #[tokio::test]
    async fn a_starting_node_is_alive_but_not_ready() {
        let (phase, state) = PhaseSender::new();
        let router = router(state);
        assert_eq!(get(router.clone(), "/healthz").await.0, StatusCode::OK);
        let (status, text) = get(router.clone(), "/readyz").await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert!(text.contains("catching up"), "{text}");
        phase.set(Phase::Stopping);
        let (status, text) = get(router, "/readyz").await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(text, "stopping\n");
    }
}
