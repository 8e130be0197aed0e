//! Errors of the JSON interface, answered as `google.rpc.Status` JSON (`code`,
//! `message`, `details` with their `@type`) under the HTTP status of AIP-193's mapping.
//! An error the gRPC service answered keeps its code and details as they are; the
//! gateway's own (no such route, a body that is not JSON, ...) take the same shape.

use axum::http::{HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use http::header::{ALLOW, CONTENT_TYPE, WWW_AUTHENTICATE};
use prost_reflect::{DynamicMessage, MessageDescriptor, SerializeOptions, Value};
use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

use super::request::RequestError;
use super::rules::RuleError;
use crate::api::status::clip;

pub(crate) type BoxError = Box<dyn std::error::Error + Send + Sync>;

#[derive(Debug, thiserror::Error)]
pub(crate) enum JsonError {
    #[error("no method is served at {path}")]
    NoRoute { path: String },
    #[error("{path} is served for {allowed}, not {method}")]
    MethodNotAllowed {
        path: String,
        method: Method,
        allowed: String,
    },
    #[error("the request body is larger than the limit of {limit} bytes")]
    TooLarge { limit: usize },
    #[error("the request body could not be read: {0}")]
    Body(#[source] BoxError),
    #[error("the query string could not be read: {0}")]
    Query(#[source] axum::extract::rejection::QueryRejection),
    #[error(transparent)]
    Request(#[from] RequestError),
    #[error("the answer could not be written as JSON: {0}")]
    Response(#[source] BoxError),
    #[error("{}", .0.message())]
    Grpc(Status),
    #[error("the JSON interface is not available: {0}")]
    Rules(#[source] std::sync::Arc<RuleError>),
}

/// The HTTP status for a gRPC code (AIP-193, as `google.rpc.Code` documents it).
pub(crate) fn http_status(code: Code) -> StatusCode {
    match code {
        Code::Ok => StatusCode::OK,
        Code::Cancelled => StatusCode::from_u16(499).unwrap_or(StatusCode::BAD_REQUEST),
        Code::InvalidArgument | Code::FailedPrecondition | Code::OutOfRange => {
            StatusCode::BAD_REQUEST
        }
        Code::DeadlineExceeded => StatusCode::GATEWAY_TIMEOUT,
        Code::NotFound => StatusCode::NOT_FOUND,
        Code::AlreadyExists | Code::Aborted => StatusCode::CONFLICT,
        Code::PermissionDenied => StatusCode::FORBIDDEN,
        Code::Unauthenticated => StatusCode::UNAUTHORIZED,
        Code::ResourceExhausted => StatusCode::TOO_MANY_REQUESTS,
        Code::Unimplemented => StatusCode::NOT_IMPLEMENTED,
        Code::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        Code::Unknown | Code::Internal | Code::DataLoss => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

fn bad_request(field: &str, message: String) -> Status {
    let details = ErrorDetails::with_bad_request_violation(field, clip(&message));
    Status::with_error_details(Code::InvalidArgument, clip(&message), details)
}

impl JsonError {
    /// The status the error is answered with, and the HTTP status when AIP-193's
    /// mapping of its code does not say it best.
    fn status(&self) -> (Status, Option<StatusCode>) {
        let message = self.to_string();
        match self {
            Self::NoRoute { .. } => (Status::not_found(message), None),
            Self::MethodNotAllowed { .. } => (
                Status::unimplemented(message),
                Some(StatusCode::METHOD_NOT_ALLOWED),
            ),
            Self::TooLarge { .. } => (
                bad_request("body", message),
                Some(StatusCode::PAYLOAD_TOO_LARGE),
            ),
            Self::Body(_) => (bad_request("body", message), None),
            Self::Query(_) => (bad_request("query", message), None),
            Self::Request(err) => (bad_request(err.field().unwrap_or("request"), message), None),
            Self::Response(_) | Self::Rules(_) => (Status::internal(clip(&message)), None),
            Self::Grpc(status) => (status.clone(), None),
        }
    }

    /// The HTTP response: `status_message` is the pool's `google.rpc.Status`.
    pub(crate) fn into_response(self, status_message: Option<&MessageDescriptor>) -> Response {
        let (status, http) = self.status();
        let http = http.unwrap_or_else(|| http_status(status.code()));
        let body = status_message
            .and_then(|descriptor| status_json(descriptor, &status))
            .unwrap_or_else(|| plain_status_json(&status));
        let mut response = (http, [(CONTENT_TYPE, "application/json")], body).into_response();
        match &self {
            Self::MethodNotAllowed { allowed, .. } => {
                if let Ok(value) = HeaderValue::from_str(allowed) {
                    response.headers_mut().insert(ALLOW, value);
                }
            }
            _ if status.code() == Code::Unauthenticated => {
                response
                    .headers_mut()
                    .insert(WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            }
            _ => {}
        }
        response
    }
}

/// The status with its details, through the descriptors; `None` when a detail's type
/// is not known to them.
fn status_json(descriptor: &MessageDescriptor, status: &Status) -> Option<Vec<u8>> {
    let mut message = DynamicMessage::decode(descriptor.clone(), status.details()).ok()?;
    message.set_field_by_name("code", Value::I32(status.code() as i32));
    message.set_field_by_name("message", Value::String(status.message().to_owned()));
    let mut out = Vec::new();
    let options = SerializeOptions::new().skip_default_fields(false);
    message
        .serialize_with_options(&mut serde_json::Serializer::new(&mut out), &options)
        .ok()?;
    Some(out)
}

/// The status without its details: what is left when they cannot be written.
fn plain_status_json(status: &Status) -> Vec<u8> {
    serde_json::json!({
        "code": status.code() as i32,
        "message": status.message(),
        "details": [],
    })
    .to_string()
    .into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_map_to_http_statuses_as_aip_193_says() {
        for (code, http) in [
            (Code::InvalidArgument, 400),
            (Code::FailedPrecondition, 400),
            (Code::NotFound, 404),
            (Code::AlreadyExists, 409),
            (Code::Aborted, 409),
            (Code::PermissionDenied, 403),
            (Code::Unauthenticated, 401),
            (Code::ResourceExhausted, 429),
            (Code::Unavailable, 503),
            (Code::Internal, 500),
            (Code::DataLoss, 500),
            (Code::Cancelled, 499),
            (Code::DeadlineExceeded, 504),
            (Code::Unimplemented, 501),
        ] {
            assert_eq!(http_status(code).as_u16(), http, "{code:?}");
        }
    }

    #[test]
    fn a_status_keeps_its_typed_details_in_json() {
        let pool = super::super::rules::pool().unwrap();
        let descriptor = pool.get_message_by_name("google.rpc.Status").unwrap();
        let mut details = ErrorDetails::with_error_info(
            "WRONG_EXPECTED_VERSION",
            "complaintflow",
            [("actual_version".to_owned(), "3".to_owned())],
        );
        details.add_bad_request_violation("name", "not a complaint name");
        let status = Status::with_error_details(Code::Aborted, "moved on", details);
        let json: serde_json::Value =
            serde_json::from_slice(&status_json(&descriptor, &status).unwrap()).unwrap();
        assert_eq!(json["code"], 10);
        assert_eq!(json["message"], "moved on");
        let details = json["details"].as_array().unwrap();
        assert!(
            details
                .iter()
                .any(|d| d["@type"] == "type.googleapis.com/google.rpc.ErrorInfo"
                    && d["reason"] == "WRONG_EXPECTED_VERSION"
                    && d["metadata"]["actual_version"] == "3")
        );
        assert!(details.iter().any(
            |d| d["@type"] == "type.googleapis.com/google.rpc.BadRequest"
                && d["fieldViolations"][0]["field"] == "name"
        ));
        let plain = Status::not_found("gone");
        let json: serde_json::Value =
            serde_json::from_slice(&status_json(&descriptor, &plain).unwrap()).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"code": 5, "message": "gone", "details": []})
        );
    }
}
