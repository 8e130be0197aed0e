//! The HTTP port's accept loop: hyper's server with the limits a public port needs: a
//! bounded number of open connections, a deadline for every request's headers (which also
//! ends idle keep-alive connections), and no connection kept past the shutdown timeout.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};
use tracing::{debug, warn};

#[derive(Debug, thiserror::Error)]
pub enum HttpServerError {
    #[error("cannot listen for HTTP on {address}: {source}")]
    Bind {
        address: SocketAddr,
        source: std::io::Error,
    },
}

/// The limits of the HTTP port.
#[derive(Debug, Clone, Copy)]
pub struct HttpLimits {
    pub max_connections: usize,
    /// A request's headers must arrive within this time; an idle connection closes after it.
    pub header_timeout: Duration,
    /// After shutdown begins, open connections get this long to finish.
    pub shutdown_timeout: Duration,
}

pub struct HttpListener {
    listener: TcpListener,
}

impl HttpListener {
    pub async fn bind(address: SocketAddr) -> Result<Self, HttpServerError> {
        TcpListener::bind(address)
            .await
            .map(|listener| Self { listener })
            .map_err(|source| HttpServerError::Bind { address, source })
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves `router` until `stop` turns true, then lets open connections finish within
    /// the shutdown timeout.
    pub async fn serve(self, router: Router, limits: HttpLimits, mut stop: watch::Receiver<bool>) {
        let mut builder = auto::Builder::new(TokioExecutor::new());
        builder
            .http1()
            .timer(TokioTimer::new())
            .header_read_timeout(limits.header_timeout);
        builder
            .http2()
            .timer(TokioTimer::new())
            .keep_alive_interval(limits.header_timeout)
            .keep_alive_timeout(limits.header_timeout);
        let graceful = GracefulShutdown::new();
        let connections = Arc::new(Semaphore::new(limits.max_connections));
        loop {
            let accepted = tokio::select! {
                _ = stop.wait_for(|stop| *stop) => break,
                accepted = self.listener.accept() => accepted,
            };
            let (stream, peer) = match accepted {
                Ok(accepted) => accepted,
                Err(err) => {
                    // Out of descriptors, most likely: wait a little rather than spin.
                    warn!(error = %err, "HTTP accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            };
            let Ok(permit) = connections.clone().try_acquire_owned() else {
                metrics::counter!("complaintflow_http_connections_refused_total").increment(1);
                debug!(%peer, "HTTP connection refused: at the limit of open connections");
                continue;
            };
            let _ = stream.set_nodelay(true);
            let service = TowerToHyperService::new(router.clone());
            let connection = builder
                .serve_connection_with_upgrades(TokioIo::new(stream), service)
                .into_owned();
            let connection = graceful.watch(connection);
            tokio::spawn(async move {
                if let Err(err) = connection.await {
                    debug!(%peer, error = %err, "HTTP connection ended with an error");
                }
                drop(permit);
            });
        }
        drop(self.listener);
        if tokio::time::timeout(limits.shutdown_timeout, graceful.shutdown())
            .await
            .is_err()
        {
            warn!("HTTP connections still open after the shutdown timeout: dropped");
        }
    }
}
