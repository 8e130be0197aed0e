//! One POST to one endpoint: hyper's pooled client over rustls (ring, the system's
//! roots), HTTP/1.1, bounded by the delivery's request timeout.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderName, HeaderValue, Method, Request, StatusCode, Uri};
use http_body_util::Full;
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

#[derive(Debug, thiserror::Error)]
pub enum SendError {
    #[error("the request could not be built: {0}")]
    Request(#[from] http::Error),
    #[error("{0}")]
    Transport(#[source] hyper_util::client::legacy::Error),
    #[error("no answer within {0:?}")]
    Timeout(Duration),
    #[error("answered HTTP {0}")]
    Status(StatusCode),
}

#[derive(Debug, thiserror::Error)]
pub(crate) enum ClientError {
    #[error("TLS set-up for webhooks: {0}")]
    Tls(#[from] rustls::Error),
}

#[derive(Clone)]
pub(crate) struct HttpClient {
    inner: Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
}

impl std::fmt::Debug for HttpClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpClient").finish_non_exhaustive()
    }
}

impl HttpClient {
    pub(crate) fn new() -> Result<Self, ClientError> {
        let mut roots = rustls::RootCertStore::empty();
        // Certificates the system store holds but rustls cannot parse are skipped.
        roots.add_parsable_certificates(rustls_native_certs::load_native_certs().certs);
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_root_certificates(roots)
            .with_no_client_auth();
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_http1()
            .build();
        Ok(Self {
            inner: Client::builder(TokioExecutor::new()).build(connector),
        })
    }

    /// POSTs `body` as JSON; only a 2xx answer counts as delivered.
    pub(crate) async fn post(
        &self,
        uri: &Uri,
        headers: &[(HeaderName, HeaderValue)],
        body: Bytes,
        timeout: Duration,
    ) -> Result<(), SendError> {
        let mut request = Request::builder()
            .method(Method::POST)
            .uri(uri.clone())
            .header(http::header::CONTENT_TYPE, "application/json");
        for (name, value) in headers {
            request = request.header(name, value);
        }
        let request = request.body(Full::new(body))?;
        let response = tokio::time::timeout(timeout, self.inner.request(request))
            .await
            .map_err(|_| SendError::Timeout(timeout))?
            .map_err(SendError::Transport)?;
        if response.status().is_success() {
            Ok(())
        } else {
            Err(SendError::Status(response.status()))
        }
    }
}
