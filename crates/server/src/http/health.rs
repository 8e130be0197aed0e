//! Liveness and readiness, in the shape load balancers and orchestrators expect: a status
//! code to act on and a line for the human reading the probe's log.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;

use super::{HttpState, Phase};

pub(super) fn routes() -> Router<HttpState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
}

/// The process answers: nothing more is claimed.
async fn healthz() -> &'static str {
    "ok\n"
}

/// Ready when the read models have caught up with the log and the store takes appends.
async fn readyz(State(state): State<HttpState>) -> (StatusCode, String) {
    match state.phase() {
        Phase::Starting => (
            StatusCode::SERVICE_UNAVAILABLE,
            "starting: catching up with the log\n".to_owned(),
        ),
        Phase::Stopping => (StatusCode::SERVICE_UNAVAILABLE, "stopping\n".to_owned()),
        Phase::Serving(serving) => {
            let engine = &serving.app.engine;
            match engine.writable() {
                Ok(()) => (
                    StatusCode::OK,
                    format!(
                        "ready: log head {}, read models at {}\n",
                        engine.log().head(),
                        serving.app.projections.checkpoint()
                    ),
                ),
                Err(err) => (
                    StatusCode::SERVICE_UNAVAILABLE,
                    format!("the event log takes no appends: {err}\n"),
                ),
            }
        }
    }
}
