//! The web console: the work queue, a complaint's page with the desk's everyday steps,
//! the statistics with charts and CSV, and the auditor's page, in zh-CN or English.
//!
//! Pages are drawn on the server (maud, checked at compile time); the stylesheet and icon
//! are compiled in. Every read and write goes through the gRPC services in process with
//! the signed-in person's token ([`grpc`]), so the console has no scope rules of its own.

mod assets;
mod chart;
mod clock;
mod error;
mod grpc;
mod i18n;
mod layout;
mod listing;
mod pages;
mod session;

use std::sync::Arc;

use axum::routing::{get, post};
use axum::{Extension, Router};

use super::HttpState;
use session::Sessions;

/// The console's routes, with the session table they share.
pub(super) fn routes() -> Router<HttpState> {
    Router::new()
        .route("/", get(pages::queue::queue))
        .route(
            "/sign-in",
            get(pages::sign_in::form).post(pages::sign_in::submit),
        )
        .route("/sign-out", post(pages::sign_in::sign_out))
        .route("/lang", get(pages::sign_in::switch_language))
        .route("/complaints/{id}", get(pages::complaint::show))
        .route(
            "/complaints/{id}/actions/{action}",
            post(pages::actions::submit),
        )
        .route("/statistics", get(pages::statistics::show))
        .route("/statistics/{chart}", get(pages::statistics::csv))
        .route("/audit", get(pages::audit::show))
        .route("/audit/{operation}", post(pages::audit::run))
        .route("/audit/export", get(pages::audit::export))
        .merge(assets::routes())
        .layer(Extension(Arc::new(Sessions::default())))
}
