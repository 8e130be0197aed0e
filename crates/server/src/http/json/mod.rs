//! JSON over HTTP for dealer systems: the gRPC API's own methods, mapped by their
//! `google.api.http` rules (AIP-127) and transcoded with the protobuf JSON mapping, then
//! called through the in-process gRPC service, so that rules, idempotency, auth and
//! limits are the gRPC API's, with no handler written per method. `/openapi.json`
//! describes it, generated from the same descriptors and rules.
//!
//! Streaming methods (Subscribe, ExportTimelines) carry no HTTP rule and are not served
//! here.

mod call;
mod error;
mod openapi;
mod request;
mod rules;
mod template;

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{Query, Request, State};
use axum::http::StatusCode;
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use http_body_util::{BodyExt, LengthLimitError, Limited};
use prost::Message;
use prost_reflect::{DynamicMessage, MessageDescriptor, SerializeOptions};
use tonic::Status;
use tracing::error;

use super::{HttpState, Phase, Serving};
use error::JsonError;
use rules::{Binding, RuleError};
use template::Captures;

/// The routes, bindings and descriptors the JSON interface serves from.
struct Gateway {
    bindings: Vec<Binding>,
    status: MessageDescriptor,
    openapi: Vec<u8>,
}

impl Gateway {
    fn new() -> Result<Self, RuleError> {
        let pool = rules::pool()?;
        let bindings = rules::bindings(&pool)?;
        let status = pool
            .get_message_by_name("google.rpc.Status")
            .ok_or(RuleError::NoStatus)?;
        let openapi = openapi::document(&bindings, &status)
            .to_string()
            .into_bytes();
        Ok(Self {
            bindings,
            status,
            openapi,
        })
    }

    /// The binding for a method and path, with its variables' values.
    fn route(&self, method: &http::Method, path: &str) -> Result<(&Binding, Captures), JsonError> {
        let mut allowed: Vec<&str> = Vec::new();
        for binding in &self.bindings {
            if let Some(variables) = binding.template.matches(path) {
                if binding.http_method == method {
                    return Ok((binding, variables));
                }
                allowed.push(binding.http_method.as_str());
            }
        }
        if allowed.is_empty() {
            return Err(JsonError::NoRoute {
                path: path.to_owned(),
            });
        }
        Err(JsonError::MethodNotAllowed {
            path: path.to_owned(),
            method: method.clone(),
            allowed: allowed.join(", "),
        })
    }

    async fn handle(&self, serving: &Serving, request: Request) -> Result<Response, JsonError> {
        let (parts, body) = request.into_parts();
        let (binding, variables) = self.route(&parts.method, parts.uri.path())?;
        let query = match parts.uri.query() {
            Some(_) => {
                Query::<Vec<(String, String)>>::try_from_uri(&parts.uri)
                    .map_err(JsonError::Query)?
                    .0
            }
            None => Vec::new(),
        };
        let limit = serving.app.limits.max_message_bytes;
        let body = read_body(body, limit).await?;
        let message = request::build(binding, variables, query, &body)?;
        let answer = call::unary(
            serving.grpc.clone(),
            &binding.grpc_path,
            parts.headers.get(AUTHORIZATION).cloned(),
            &message.encode_to_vec(),
            limit,
        )
        .await
        .map_err(JsonError::Grpc)?;
        let answer = DynamicMessage::decode(binding.rpc.output(), answer)
            .map_err(|err| JsonError::Response(err.into()))?;
        Ok((
            StatusCode::OK,
            [(CONTENT_TYPE, "application/json")],
            to_json(&answer).map_err(|err| JsonError::Response(err.into()))?,
        )
            .into_response())
    }
}

async fn read_body(body: Body, limit: usize) -> Result<bytes::Bytes, JsonError> {
    match Limited::new(body, limit).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(err) if err.is::<LengthLimitError>() => Err(JsonError::TooLarge { limit }),
        Err(err) => Err(JsonError::Body(err)),
    }
}

/// A message in the protobuf JSON mapping, every field written, defaults included, so
/// that a dealer system reads `"replayed": false` and `"version": "0"` rather than
/// nothing.
fn to_json(message: &DynamicMessage) -> Result<Vec<u8>, serde_json::Error> {
    let mut out = Vec::new();
    let options = SerializeOptions::new().skip_default_fields(false);
    message.serialize_with_options(&mut serde_json::Serializer::new(&mut out), &options)?;
    Ok(out)
}

/// `/v1/...` for the API's methods and `/openapi.json` for its description.
pub(super) fn routes() -> Router<HttpState> {
    let gateway = match Gateway::new() {
        Ok(gateway) => Ok(Arc::new(gateway)),
        Err(err) => {
            error!(error = %err, "the JSON interface is not served");
            Err(Arc::new(err))
        }
    };
    let api = gateway.clone();
    Router::new()
        .route(
            "/v1/{*rest}",
            any(move |State(state): State<HttpState>, request: Request| {
                let gateway = api.clone();
                async move {
                    let gateway = match gateway {
                        Ok(gateway) => gateway,
                        Err(err) => return JsonError::Rules(err).into_response(None),
                    };
                    let outcome = match state.phase() {
                        Phase::Serving(serving) => gateway.handle(&serving, request).await,
                        Phase::Starting => Err(JsonError::Grpc(Status::unavailable(
                            "complaintflow is starting: the read models are catching up with the log",
                        ))),
                        Phase::Stopping => Err(JsonError::Grpc(Status::unavailable(
                            "complaintflow is shutting down",
                        ))),
                    };
                    outcome.unwrap_or_else(|err| err.into_response(Some(&gateway.status)))
                }
            }),
        )
        .route(
            "/openapi.json",
            get(move || async move {
                match gateway {
                    Ok(gateway) => (
                        StatusCode::OK,
                        [(CONTENT_TYPE, "application/json")],
                        gateway.openapi.clone(),
                    )
                        .into_response(),
                    Err(err) => JsonError::Rules(err).into_response(None),
                }
            }),
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_node_not_serving_answers_unavailable_as_json() {
        use tower::ServiceExt;
        let (phase, state) = super::super::PhaseSender::new();
        let router = routes().with_state(state);
        for (now, text) in [(None, "starting"), (Some(Phase::Stopping), "shutting down")] {
            if let Some(now) = now {
                phase.set(now);
            }
            let response = router
                .clone()
                .oneshot(Request::get("/v1/complaints").body(Body::empty()).unwrap())
                .await
                .unwrap();
            assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
            let body = response.into_body().collect().await.unwrap().to_bytes();
            let status: serde_json::Value = serde_json::from_slice(&body).unwrap();
            assert_eq!(status["code"], 14);
            assert!(
                status["message"].as_str().unwrap().contains(text),
                "{status}"
            );
        }
    }

    #[test]
    fn every_rule_of_the_api_loads() {
        let gateway = Gateway::new().unwrap();
        let routes: Vec<(String, String)> = gateway
            .bindings
            .iter()
            .map(|b| (b.http_method.to_string(), b.template.to_string()))
            .collect();
        assert!(routes.contains(&("POST".to_owned(), "/v1/complaints".to_owned())));
        assert!(routes.contains(&(
            "POST".to_owned(),
            "/v1/{name=complaints/*}:appendEvents".to_owned()
        )));
        assert_eq!(gateway.bindings.len(), 15, "{routes:?}");
    }

    #[test]
    fn routes_pick_the_most_specific_binding() {
        let gateway = Gateway::new().unwrap();
        let name = |method: http::Method, path: &str| {
            gateway
                .route(&method, path)
                .map(|(b, _)| b.rpc.name().to_owned())
                .map_err(|e| e.to_string())
        };
        assert_eq!(
            name(http::Method::GET, "/v1/complaints/C-1").unwrap(),
            "GetComplaint"
        );
        assert_eq!(
            name(http::Method::GET, "/v1/complaints/C-1:verify").unwrap(),
            "VerifyComplaint"
        );
        assert_eq!(
            name(http::Method::POST, "/v1/complaints/C-1:appendEvents").unwrap(),
            "AppendEvents"
        );
        assert_eq!(
            name(http::Method::GET, "/v1/complaints:statistics").unwrap(),
            "GetStatistics"
        );
        assert_eq!(
            name(http::Method::GET, "/v1/complaints").unwrap(),
            "ListComplaints"
        );
        assert!(
            name(http::Method::DELETE, "/v1/complaints")
                .unwrap_err()
                .contains("POST")
        );
        assert!(name(http::Method::GET, "/v1/nothing").is_err());
    }
}
