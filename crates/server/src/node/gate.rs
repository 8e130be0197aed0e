//! The door every gRPC request passes: admission (a bounded number of requests in
//! flight; beyond it, RESOURCE_EXHAUSTED at once instead of an unbounded queue) and the
//! per-method request metrics.
//!
//! A request is in flight until its response body has been sent, not until its handler
//! returns: the admission permit and the response's [`Lease`] on the byte budget travel
//! with the body and are dropped at its end (or when HTTP/2 drops the stream). Live
//! subscriptions, marked [`OwnLimits`], are bounded by their own limits instead.
//!
//! tower's `ConcurrencyLimitLayer` and `LoadShedLayer` come close, but their permit ends
//! with the response future, before a large body has been sent (the memory it holds is
//! what admission bounds), and they cannot let a live subscription out of the count.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use bytes::Bytes;
use futures::future::BoxFuture;
use http_body::{Body, Frame, SizeHint};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tonic::{Code, Status};
use tower::{Layer, Service};

use crate::api::budget::{Lease, OwnLimits};

#[derive(Debug, Clone)]
pub(crate) struct GateLayer {
    permits: Arc<Semaphore>,
}

impl GateLayer {
    pub(crate) fn new(max_in_flight: usize) -> Self {
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
pub(crate) struct Gate<S> {
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
            let Ok(permit) = permit else {
                record(&method, Code::ResourceExhausted, started);
                return Ok(Status::resource_exhausted(
                    "the server is at its limit of requests in flight; retry with backoff",
                )
                .into_http());
            };
            let mut response = inner.call(request).await?;
            let code = response
                .headers()
                .get("grpc-status")
                .and_then(|value| value.to_str().ok())
                .and_then(|value| value.parse::<i32>().ok())
                .map_or(Code::Ok, Code::from);
            record(&method, code, started);
            let lease = response.extensions_mut().remove::<Lease>();
            let own_limits = response.extensions_mut().remove::<OwnLimits>().is_some();
            let held = Held {
                _admission: (!own_limits).then_some(permit),
                _lease: lease,
            };
            Ok(response.map(|body| {
                tonic::body::Body::new(HeldBody {
                    body,
                    held: Some(held),
                })
            }))
        })
    }
}

/// What a response keeps until its body has been sent.
struct Held {
    _admission: Option<OwnedSemaphorePermit>,
    _lease: Option<Lease>,
}

struct HeldBody {
    body: tonic::body::Body,
    held: Option<Held>,
}

impl Body for HeldBody {
    type Data = Bytes;
    type Error = Status;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Status>>> {
        let polled = Pin::new(&mut self.body).poll_frame(cx);
        let ended = match &polled {
            Poll::Ready(None | Some(Err(_))) => true,
            Poll::Ready(Some(Ok(frame))) => frame.is_trailers(),
            Poll::Pending => false,
        };
        if ended {
            self.held = None;
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}
