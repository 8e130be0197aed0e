//! The stylesheet and icon, compiled into the binary: the console needs no CDN and no
//! network. Their paths carry the crate version, so they can be cached for long.

use axum::Router;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;

use crate::http::HttpState;

pub(crate) const CSS_PATH: &str = concat!(
    "/console/assets/",
    env!("CARGO_PKG_VERSION"),
    "/console.css"
);
pub(crate) const ICON_PATH: &str =
    concat!("/console/assets/", env!("CARGO_PKG_VERSION"), "/icon.svg");

const CSS: &str = include_str!("assets/console.css");
const ICON: &str = include_str!("assets/icon.svg");
const CACHE: &str = "public, max-age=86400";

pub(super) fn routes() -> Router<HttpState> {
    Router::new()
        .route(
            CSS_PATH,
            get(|| async {
                (
                    [
                        (header::CONTENT_TYPE, "text/css; charset=utf-8"),
                        (header::CACHE_CONTROL, CACHE),
                    ],
                    CSS,
                )
                    .into_response()
            }),
        )
        .route(
            ICON_PATH,
            get(|| async {
                (
                    [
                        (header::CONTENT_TYPE, "image/svg+xml"),
                        (header::CACHE_CONTROL, CACHE),
                    ],
                    ICON,
                )
                    .into_response()
            }),
        )
        // Browsers ask for it whatever the page links: answer rather than log a 404.
        .route(
            "/favicon.ico",
            get(|| async {
                (
                    [
                        (header::CONTENT_TYPE, "image/svg+xml"),
                        (header::CACHE_CONTROL, CACHE),
                    ],
                    ICON,
                )
                    .into_response()
            }),
        )
}
