//! `complaintflow serve`: the engine, its background work and the gRPC API, from start-up
//! to graceful shutdown.

mod connection;
mod data_dir;
mod follow;
mod gate;
mod store;
pub(crate) mod watch;

use std::future::Future;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tonic::service::Routes;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::server::TcpIncoming;
use tonic::transport::{Identity, Server, ServerTlsConfig};
use tower::Layer;
use tracing::{info, warn};

use crate::api::auth::Authenticate;
use crate::api::budget::ResponseBudget;
use crate::api::proto::audit_service_server::AuditServiceServer;
use crate::api::proto::complaint_service_server::ComplaintServiceServer;
use crate::api::proto::follow_up_service_server::FollowUpServiceServer;
use crate::api::proto::subscription_service_server::SubscriptionServiceServer;
use crate::api::services::{
    AppState, AuditApi, ComplaintApi, FollowUpApi, PageTokens, SubscriptionApi,
};
use crate::auth::{LiveTokens, TokenRegistry};
use crate::config::Config;
use crate::engine::Engine;
use crate::http::{GrpcService, HttpLimits, HttpListener, Phase, PhaseSender, Serving};
use crate::projections::Projections;
use crate::timers::Scheduler;
use complaintflow_domain::Policy;
use complaintflow_log::clock::{SharedClock, SystemClock};

pub use data_dir::DataDir;
pub(crate) use gate::{Gate, GateLayer};
pub use store::{OpenOptions, OpenedStore, StoreLocation};

use self::connection::CloseAll;

/// How long closed connections get to wind down once the shutdown timeout has passed.
const CLOSE_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("{0}")]
    Setup(String),
    #[error(transparent)]
    Store(#[from] complaintflow_log::StoreError),
    #[error(transparent)]
    Projection(#[from] crate::projections::ProjectionError),
    #[error("gRPC server: {0}")]
    Transport(#[from] tonic::transport::Error),
    #[error(transparent)]
    Http(#[from] crate::http::HttpServerError),
}

/// Where a started node listens.
#[derive(Debug, Clone, Copy)]
pub struct Listening {
    pub grpc: SocketAddr,
    /// The console, `/healthz` and `/readyz`; none when HTTP is off.
    pub http: Option<SocketAddr>,
}

fn setup(message: impl Into<String>) -> ServeError {
    ServeError::Setup(message.into())
}

/// The policy in force: the configured file, or the built-in one.
pub fn load_policy(path: Option<&Path>) -> Result<Policy, ServeError> {
    match path {
        None => Ok(Policy::builtin()),
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| setup(format!("cannot read policy {}: {e}", path.display())))?;
            Policy::from_toml_str(&text)
                .map_err(|e| setup(format!("policy {}: {e}", path.display())))
        }
    }
}

/// The tokens: the configured file, or a generated admin token kept in
/// `<data-dir>/admin.token` (mode 0600), created on first start.
fn load_tokens(config: &Config, data: &DataDir) -> Result<LiveTokens, ServeError> {
    if let Some(path) = &config.tokens {
        return LiveTokens::from_file(path.clone(), config.dealers.clone())
            .map_err(|e| setup(e.to_string()));
    }
    let path = data.admin_token();
    let token = match std::fs::read_to_string(&path) {
        Ok(token) => token.trim().to_owned(),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
            let token = crate::auth::generate_token();
            write_private(&path, &token)?;
            info!(path = %path.display(), "no token file configured: created an admin token");
            token
        }
        Err(err) => return Err(setup(format!("cannot read {}: {err}", path.display()))),
    };
    info!(path = %path.display(), "admin token in use (configure `tokens` for dealer, cac and auditor tokens)");
    Ok(LiveTokens::fixed(TokenRegistry::single_admin(
        &token,
        &config.dealers,
    )))
}

fn write_private(path: &Path, content: &str) -> Result<(), ServeError> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| setup(format!("cannot create {}: {e}", path.display())))?;
    writeln!(file, "{content}").map_err(|e| setup(format!("cannot write {}: {e}", path.display())))
}

/// The token file, as [`watch::watch_file`] follows it.
struct WatchedTokens(Arc<LiveTokens>);

impl watch::Reload for WatchedTokens {
    type Error = crate::auth::TokenError;
    const WHAT: &'static str = "token file";

    fn reload(&mut self, always: bool) -> Result<bool, Self::Error> {
        if always {
            self.0.reload()
        } else {
            self.0.reload_if_changed()
        }
    }

    fn reloaded(&self) {
        info!(tokens = self.0.current().len(), "token file reloaded");
    }
}

/// Runs the server until `shutdown` completes, then stops gracefully: no new requests,
/// subscriptions end, in-flight appends finish and are durable, the log is closed.
/// `on_listening` hears the bound address (useful with port 0).
pub async fn serve(
    config: Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
    on_listening: impl FnOnce(Listening),
) -> Result<(), ServeError> {
    serve_with_clock(config, Arc::new(SystemClock), shutdown, on_listening).await
}

pub async fn serve_with_clock(
    config: Config,
    clock: SharedClock,
    shutdown: impl Future<Output = ()> + Send + 'static,
    on_listening: impl FnOnce(Listening),
) -> Result<(), ServeError> {
    let data = DataDir::new(&config.data_dir);
    std::fs::create_dir_all(data.root())
        .map_err(|e| setup(format!("cannot create {}: {e}", data.root().display())))?;
    let policy = Arc::new(load_policy(config.policy.as_deref())?);
    let tokens = Arc::new(load_tokens(&config, &data)?);
    // Dropped on every way out of this function, which stops the HTTP port too.
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let (phase, http_state) = PhaseSender::new();
    let http = match config.http_listen {
        Some(address) => {
            let listener = HttpListener::bind(address).await?;
            let bound = listener.local_addr().map_err(|e| setup(e.to_string()))?;
            info!(address = %bound, "HTTP (console, /healthz, /readyz) listening");
            let limits = HttpLimits {
                max_connections: config.limits.max_http_connections,
                header_timeout: config.limits.handshake_timeout.unsigned_abs(),
                shutdown_timeout: config.limits.shutdown_timeout.unsigned_abs(),
            };
            let task = tokio::spawn(listener.serve(
                crate::http::router(http_state),
                limits,
                stop_rx.clone(),
            ));
            Some((bound, task))
        }
        None => None,
    };
    let location = StoreLocation::new(config.store_url.as_deref(), &data);
    if config.accept_log_loss && matches!(location, StoreLocation::Postgres(_)) {
        // A database that lost its tail is brought back by its own recovery (point-in-time
        // recovery, a replica) or `complaintflow restore`: no node may paper over it.
        return Err(setup(
            "--accept-log-loss applies to the embedded log only; a PostgreSQL log that lost \
             acknowledged events is recovered with the database's own tools or `complaintflow \
             restore`",
        ));
    }
    let store_options = OpenOptions {
        limits: config.store,
        clock: clock.clone(),
        create: true,
        accept_log_loss: config.accept_log_loss,
    };
    let opened = OpenedStore::open(&location, store_options).await?;
    if let Some(refusal) = opened.refusal() {
        return Err(setup(refusal));
    }
    let store = opened.shared();
    let projections = Arc::new(Projections::open(data.projections(), policy.clone())?);
    let caught_up = projections
        .catch_up(store.as_ref(), |done, total| {
            info!(done, total, "projections catching up");
        })
        .await?;
    info!(events = caught_up, "projections caught up");
    if caught_up > 0 {
        // Saved while the server already serves: the next start need not catch up again.
        let projections = projections.clone();
        tokio::spawn(async move {
            if let Err(err) = projections.flush().await {
                warn!(error = %err, "read-model snapshot not written");
            }
        });
    }
    let clock_for_auth = clock.clone();
    let engine = Arc::new(Engine::new(store.clone(), policy, clock));

    if let Some(listen) = config.metrics_listen {
        crate::telemetry::init_metrics(listen).map_err(setup)?;
        info!(%listen, "Prometheus metrics at /metrics");
    }

    let follower = tokio::spawn(follow::follow_log(projections.clone(), store.clone()));
    // One claim on the store's lease per node, for the two kinds of work that must run on
    // one node at a time: firing timers and delivering webhooks.
    let lease: Arc<dyn complaintflow_log::Lease> = Arc::from(store.scheduler_lease());
    // Before the scheduler: a new endpoint starts at the head as it is now, so it hears
    // of the deadlines that fell due while the server was down.
    let notifier = crate::notify::Notifier::start(
        engine.clone(),
        lease.holding(),
        &data,
        &config.webhooks,
        &config.webhook_delivery,
    )
    .map_err(|e| setup(e.to_string()))?;
    let notifications = tokio::spawn(notifier.run(config.config_file.clone(), stop_rx.clone()));
    let scheduler = tokio::spawn({
        let (scheduler, stop) = (
            Scheduler::new(engine.clone(), projections.clone()),
            stop_rx.clone(),
        );
        async move { scheduler.run_leased(lease.as_ref(), stop).await }
    });

    let token_watch = tokio::spawn({
        let (mut file, stop) = (WatchedTokens(tokens.clone()), stop_rx.clone());
        async move { watch::watch_file(&mut file, stop).await }
    });
    let state = AppState {
        engine,
        projections: projections.clone(),
        page_tokens: Arc::new(
            PageTokens::open(&data.page_token_key()).map_err(|e| setup(e.to_string()))?,
        ),
        subscriptions: Arc::new(Semaphore::new(config.limits.max_subscriptions)),
        responses: ResponseBudget::new(config.limits.max_response_bytes),
        limits: config.limits,
        shutdown: stop_rx,
    };
    let (router, grpc) = build_router(
        &config,
        state.clone(),
        tokens.clone(),
        clock_for_auth.clone(),
    )
    .await?;
    let listener = TcpListener::bind(config.listen)
        .await
        .map_err(|e| setup(format!("cannot listen on {}: {e}", config.listen)))?;
    let bound = listener.local_addr().map_err(|e| setup(e.to_string()))?;
    info!(address = %bound, tls = config.tls.is_some(), "complaintflow listening");
    phase.set(Phase::Serving(Arc::new(Serving {
        app: state,
        grpc,
        tokens,
        clock: clock_for_auth,
    })));
    // While this process holds the embedded log, the operator's read-only tools read it
    // here (see `local_log`). A database needs no such door: the tools open it themselves.
    let local_socket = match &opened {
        OpenedStore::Sled(_) => {
            let log: Arc<dyn complaintflow_log::LogReader> = store.clone();
            match crate::local_log::serve(&data, log, stop_tx.subscribe()) {
                Ok(socket) => Some(socket),
                Err(err) => {
                    warn!(error = %err, "no local socket: verify, digest, export and backup cannot read this data directory while the server runs");
                    None
                }
            }
        }
        OpenedStore::Postgres(_) => None,
    };
    on_listening(Listening {
        grpc: bound,
        http: http.as_ref().map(|(address, _)| *address),
    });

    let limits = config.limits;
    let mut stop_seen = stop_tx.subscribe();
    let stopping = async move {
        shutdown.await;
        info!("shutting down: finishing in-flight requests");
        phase.set(Phase::Stopping);
        let _ = stop_tx.send(true);
    };
    // Without TCP_NODELAY every small response waits for the client's delayed ACK
    // (~40 ms): latency that no amount of server speed can win back.
    let incoming = TcpIncoming::from(listener)
        .with_nodelay(Some(true))
        .with_keepalive(Some(limits.tcp_keepalive.unsigned_abs()));
    let close = CloseAll::new();
    let incoming = connection::guard(
        incoming,
        limits.handshake_timeout.unsigned_abs(),
        close.clone(),
    );
    let served = router.serve_with_incoming_shutdown(incoming, stopping);
    tokio::pin!(served);
    // tonic's graceful shutdown waits for every connection to close, and a client that
    // stopped reading never lets its stream end: past the shutdown timeout the server
    // closes the connections still open itself.
    let grace = limits.shutdown_timeout.unsigned_abs();
    let served = tokio::select! {
        served = &mut served => served,
        () = async {
            let _ = stop_seen.wait_for(|stop| *stop).await;
            tokio::time::sleep(grace).await;
        } => {
            warn!(?grace, "calls still open after the shutdown timeout: closing their connections");
            close.close_all();
            tokio::time::timeout(CLOSE_WAIT, &mut served)
                .await
                .unwrap_or_else(|_| {
                    warn!("connections did not close; stopping without them");
                    Ok(())
                })
        }
    };

    let _ = scheduler.await;
    let _ = token_watch.await;
    // Endpoint tasks stop at their next step; the timeout only guards against a file
    // write that hangs.
    if tokio::time::timeout(grace, notifications).await.is_err() {
        warn!("webhook delivery did not stop within the shutdown timeout");
    }
    if let Some((_, task)) = http {
        let _ = task.await;
    }
    if let Some(socket) = local_socket {
        socket.close().await;
    }
    opened.close().await?;
    follower.abort();
    projections.flush().await?;
    info!("stopped; every acknowledged event is on disk");
    served.map_err(ServeError::from)
}

async fn build_router(
    config: &Config,
    state: AppState,
    tokens: Arc<LiveTokens>,
    clock: SharedClock,
) -> Result<
    (
        tonic::transport::server::Router<
            tower::layer::util::Stack<GateLayer, tower::layer::util::Identity>,
        >,
        GrpcService,
    ),
    ServeError,
> {
    let max = config.limits.max_message_bytes;
    let auth = Authenticate::new(tokens, clock);
    let complaints = ComplaintServiceServer::new(ComplaintApi::new(state.clone()))
        .max_decoding_message_size(max)
        .max_encoding_message_size(max);
    let audit = AuditServiceServer::new(AuditApi::new(state.clone()))
        .max_decoding_message_size(max)
        .max_encoding_message_size(max);
    let follow_ups = FollowUpServiceServer::new(FollowUpApi::new(state.clone()))
        .max_decoding_message_size(max)
        .max_encoding_message_size(max);
    let subscriptions = SubscriptionServiceServer::new(SubscriptionApi::new(state))
        .max_decoding_message_size(max)
        .max_encoding_message_size(max);

    let (health, health_service) = tonic_health::server::health_reporter();
    health
        .set_serving::<ComplaintServiceServer<ComplaintApi>>()
        .await;
    health.set_serving::<AuditServiceServer<AuditApi>>().await;
    health
        .set_serving::<FollowUpServiceServer<FollowUpApi>>()
        .await;
    health
        .set_serving::<SubscriptionServiceServer<SubscriptionApi>>()
        .await;
    let reflection = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(crate::api::proto::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1()
        .map_err(|e| setup(format!("reflection: {e}")))?;
    let reflection_alpha = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(crate::api::proto::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1alpha()
        .map_err(|e| setup(format!("reflection: {e}")))?;

    let limits = &config.limits;
    let mut builder = Server::builder()
        .http2_keepalive_interval(Some(limits.http2_keepalive_interval.unsigned_abs()))
        .http2_keepalive_timeout(Some(limits.http2_keepalive_timeout.unsigned_abs()))
        .max_concurrent_streams(limits.max_streams_per_connection);
    if let Some(tls) = &config.tls {
        let read = |path: &Path| {
            std::fs::read(path).map_err(|e| setup(format!("cannot read {}: {e}", path.display())))
        };
        let identity = Identity::from_pem(read(&tls.cert)?, read(&tls.key)?);
        builder = builder.tls_config(ServerTlsConfig::new().identity(identity))?;
    } else if !config.listen.ip().is_loopback() {
        warn!(listen = %config.listen, "serving without TLS on a non-loopback address: bearer tokens travel in clear");
    }
    let routes = Routes::new(health_service)
        .add_service(reflection)
        .add_service(reflection_alpha)
        .add_service(InterceptedService::new(complaints, auth.clone()))
        .add_service(InterceptedService::new(audit, auth.clone()))
        .add_service(InterceptedService::new(follow_ups, auth.clone()))
        .add_service(InterceptedService::new(subscriptions, auth))
        .prepare();
    // One admission gate for gRPC clients and in-process callers alike.
    let gate = GateLayer::new(config.limits.max_concurrent_requests);
    let in_process = gate.layer(routes.clone());
    Ok((builder.layer(gate).add_routes(routes), in_process))
}
