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

use axum::http::{HeaderValue, header};
use axum::response::Response;
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
        .layer(axum::middleware::map_response(protect))
        .layer(Extension(Arc::new(Sessions::default())))
}

/// Everything the pages load is served from here: the browser is told to load nothing
/// else, run no script, send forms nowhere else, and show the pages in no other site's
/// frame.
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; style-src 'self'; img-src 'self'; \
     form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

async fn protect(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    response
}
