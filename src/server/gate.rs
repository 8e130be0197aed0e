//! The door every gRPC request passes: admission (a bounded number of requests in
//! flight; beyond it, RESOURCE_EXHAUSTED at once instead of an unbounded queue) and the
//! per-method request metrics.

use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use futures::future::BoxFuture;
use tokio::sync::Semaphore;
use tonic::{Code, Status};
use tower::{Layer, Service};

#[derive(Debug, Clone)]
pub struct GateLayer {
    permits: Arc<Semaphore>,
}

impl GateLayer {
    pub fn new(max_in_flight: usize) -> Self {
        Self {
            permits: Arc::new(Semaphore::new(max_in_flight)),
        }
    }
}

impl<S> Layer<S> for GateLayer {
    type Service = Gate<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Gate {
            inner,
            permits: self.permits.clone(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Gate<S> {
    inner: S,
    permits: Arc<Semaphore>,
}

fn record(method: &str, code: Code, started: Instant) {
    let code = format!("{code:?}");
    metrics::counter!("complaintflow_grpc_requests_total", "method" => method.to_owned(), "code" => code)
        .increment(1);
    metrics::histogram!("complaintflow_grpc_request_seconds", "method" => method.to_owned())
        .record(started.elapsed().as_secs_f64());
}

impl<S, B> Service<http::Request<B>> for Gate<S>
where
    S: Service<http::Request<B>, Response = http::Response<tonic::body::Body>>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
    B: Send + 'static,
{
    type Response = http::Response<tonic::body::Body>;
    type Error = S::Error;
    type Future = BoxFuture<'static, Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let method = request.uri().path().trim_start_matches('/').to_owned();
        let permit = self.permits.clone().try_acquire_owned();
        // The clone that was polled ready serves this call; the fresh one waits for
        // the next `poll_ready` (tower's usual dance).
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        Box::pin(async move {
            let started = Instant::now();
            let Ok(_permit) = permit else {
                record(&method, Code::ResourceExhausted, started);
                return Ok(Status::resource_exhausted(
                    "the server is at its limit of requests in flight; retry with backoff",
                )
                .into_http());
            };
            let response = inner.call(request).await?;
            let code = response
                .headers()
                .get("grpc-status")
                .and_then(|value| value.to_str().ok())
                .and_then(|value| value.parse::<i32>().ok())
                .map_or(Code::Ok, Code::from);
            record(&method, code, started);
            Ok(response)
        })
    }
}
