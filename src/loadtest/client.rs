//! Connections to a complaintflow server with a bearer token.

use std::net::SocketAddr;
use std::time::Duration;

use tonic::metadata::MetadataValue;
use tonic::service::Interceptor;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Channel, Endpoint};
use tonic::{Request, Status};

use complaintflow_server::api::proto::complaint_service_client::ComplaintServiceClient;

/// Adds `authorization: Bearer <token>` to every call.
#[derive(Clone)]
pub struct BearerAuth {
    header: MetadataValue<tonic::metadata::Ascii>,
}

impl BearerAuth {
    pub fn new(token: &str) -> Result<Self, String> {
        let header = format!("Bearer {}", token.trim())
            .parse()
            .map_err(|_| "the token is not a valid header value".to_owned())?;
        Ok(Self { header })
    }
}

impl Interceptor for BearerAuth {
    fn call(&mut self, mut request: Request<()>) -> Result<Request<()>, Status> {
        request
            .metadata_mut()
            .insert("authorization", self.header.clone());
        Ok(request)
    }
}

pub type ComplaintClient = ComplaintServiceClient<InterceptedService<Channel, BearerAuth>>;

/// No call waits longer than this: a server that hangs is a finding, not a reason for
/// the load generator to hang too.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(30);

/// One HTTP/2 connection. Clones of the returned client share it; calls on it are
/// multiplexed.
pub async fn connect(
    target: SocketAddr,
    auth: BearerAuth,
) -> Result<ComplaintClient, tonic::transport::Error> {
    let channel = Endpoint::from_shared(format!("http://{target}"))?
        .connect_timeout(Duration::from_secs(5))
        .timeout(CALL_TIMEOUT)
        .tcp_nodelay(true)
        .connect()
        .await?;
    Ok(ComplaintServiceClient::with_interceptor(channel, auth))
}
