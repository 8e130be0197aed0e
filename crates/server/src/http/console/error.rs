//! What a console request can fail with, and the page each failure shows. The gRPC
//! services decide (scopes, rules, versions); this turns their answer into HTTP.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;
use tonic::Code;
use tonic_types::StatusExt;

use super::i18n::Msg;
use super::layout::page;
use super::session::Desk;

#[derive(Debug, thiserror::Error)]
pub(crate) enum ConsoleError {
    #[error("the service refused: {0}")]
    Call(#[from] tonic::Status),
    /// A POST without this session's CSRF token: refused before anything is done.
    #[error("the form's CSRF token does not match the session")]
    Csrf,
    #[error("form field {field}: {reason}")]
    Field {
        field: &'static str,
        reason: &'static str,
    },
    #[error("cannot write CSV: {0}")]
    Csv(#[from] csv::Error),
    #[error("cannot finish CSV: {0}")]
    CsvFinish(#[source] std::io::Error),
}

/// The workflow rule a FAILED_PRECONDITION names, if any.
pub(crate) fn refused_rule(status: &tonic::Status) -> Option<String> {
    if status.code() != Code::FailedPrecondition {
        return None;
    }
    status
        .get_details_error_info()
        .and_then(|info| info.metadata.get("rule").cloned())
}

fn http_status(code: Code) -> StatusCode {
    match code {
        Code::NotFound => StatusCode::NOT_FOUND,
        Code::PermissionDenied => StatusCode::FORBIDDEN,
        Code::InvalidArgument | Code::OutOfRange => StatusCode::BAD_REQUEST,
        Code::FailedPrecondition | Code::Aborted | Code::AlreadyExists => StatusCode::CONFLICT,
        Code::ResourceExhausted => StatusCode::TOO_MANY_REQUESTS,
        Code::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

impl Desk {
    /// The page for a failed request.
    pub(crate) fn failure(&self, error: &ConsoleError) -> Response {
        let (status, title, detail) = match error {
            ConsoleError::Call(call) if call.code() == Code::Unauthenticated => {
                return Redirect::to("/sign-in").into_response();
            }
            ConsoleError::Call(call) if call.code() == Code::NotFound => (
                StatusCode::NOT_FOUND,
                Msg::NotFound,
                self.t(Msg::NotFoundText).to_owned(),
            ),
            ConsoleError::Call(call) => {
                let title = match call.code() {
                    Code::PermissionDenied => Msg::Forbidden,
                    Code::Unavailable | Code::ResourceExhausted => Msg::Unavailable,
                    _ => Msg::Refused,
                };
                (http_status(call.code()), title, call.message().to_owned())
            }
            ConsoleError::Csrf => (
                StatusCode::FORBIDDEN,
                Msg::Refused,
                self.t(Msg::FormExpired).to_owned(),
            ),
            ConsoleError::Field { .. } => {
                (StatusCode::BAD_REQUEST, Msg::Refused, error.to_string())
            }
            ConsoleError::Csv(_) | ConsoleError::CsvFinish(_) => {
                tracing::warn!(error = %error, "console: CSV not written");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    Msg::Error,
                    error.to_string(),
                )
            }
        };
        let title = self.t(title);
        let body = html! {
            h1 { (title) }
            p.banner.bad id="error" { (detail) }
            p { a href="/" { (self.t(Msg::Back)) } }
        };
        (status, page(&self.chrome(), title, body)).into_response()
    }
}
