//! The console reads and writes through the gRPC services themselves, in process: the
//! signed-in person's bearer token on every call, so authentication, scopes, rules,
//! idempotency, limits and the recorded actor are exactly those of a gRPC client.

use tonic::Status;
use tonic::metadata::{Ascii, MetadataValue};
use tonic::service::Interceptor;
use tonic::service::interceptor::InterceptedService;

use super::session::Desk;
use crate::api::proto::audit_service_client::AuditServiceClient;
use crate::api::proto::complaint_service_client::ComplaintServiceClient;
use crate::http::GrpcService;

/// Puts the person's token on a call, as a gRPC client would.
#[derive(Clone)]
pub(crate) struct Bearer(Option<MetadataValue<Ascii>>);

impl Bearer {
    fn new(token: &str) -> Self {
        // A token that cannot be a header value is sent as no token: UNAUTHENTICATED.
        Self(MetadataValue::try_from(format!("Bearer {token}")).ok())
    }
}

impl Interceptor for Bearer {
    fn call(&mut self, mut request: tonic::Request<()>) -> Result<tonic::Request<()>, Status> {
        if let Some(value) = &self.0 {
            request
                .metadata_mut()
                .insert("authorization", value.clone());
        }
        Ok(request)
    }
}

pub(crate) type Channel = InterceptedService<GrpcService, Bearer>;

impl Desk {
    pub(crate) fn complaints(&self) -> ComplaintServiceClient<Channel> {
        let max = self.serving.app.limits.max_message_bytes;
        ComplaintServiceClient::with_interceptor(
            self.serving.grpc.clone(),
            Bearer::new(&self.token),
        )
        .max_decoding_message_size(max)
        .max_encoding_message_size(max)
    }

    pub(crate) fn audit(&self) -> AuditServiceClient<Channel> {
        let max = self.serving.app.limits.max_message_bytes;
        AuditServiceClient::with_interceptor(self.serving.grpc.clone(), Bearer::new(&self.token))
            .max_decoding_message_size(max)
            .max_encoding_message_size(max)
    }
}
