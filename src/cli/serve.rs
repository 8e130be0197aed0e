//! `complaintflow serve`.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use complaintflow_server::config::{Config, LogFormat, TlsConfig};

#[derive(Debug, clap::Args)]
pub(super) struct ServeArgs {
    /// A TOML config file; flags and environment variables override it.
    #[arg(long, env = "COMPLAINTFLOW_CONFIG")]
    config: Option<PathBuf>,
    /// Data directory [default: ./data].
    #[arg(long, env = "COMPLAINTFLOW_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// The event log in PostgreSQL (`postgres://user@host/db?sslmode=require`), shared
    /// by every node; <data-dir> then holds this node's read-model snapshot and keys
    /// [default: the embedded log in <data-dir>/events].
    #[arg(long = "store", env = "COMPLAINTFLOW_STORE", hide_env_values = true)]
    store_url: Option<String>,
    /// gRPC address [default: 127.0.0.1:50051]; port 0 picks a free one.
    #[arg(long, env = "COMPLAINTFLOW_LISTEN")]
    listen: Option<SocketAddr>,
    /// HTTP address of the web console, `/healthz` and `/readyz` [default: 127.0.0.1:8080];
    /// port 0 picks a free one.
    #[arg(long, env = "COMPLAINTFLOW_HTTP_LISTEN")]
    http_listen: Option<SocketAddr>,
    /// Do not serve HTTP (no console, no health endpoints).
    #[arg(long, env = "COMPLAINTFLOW_NO_HTTP", conflicts_with = "http_listen")]
    no_http: bool,
    /// Prometheus metrics address [default: 127.0.0.1:9464].
    #[arg(long, env = "COMPLAINTFLOW_METRICS_LISTEN")]
    metrics_listen: Option<SocketAddr>,
    /// Do not serve metrics.
    #[arg(long, env = "COMPLAINTFLOW_NO_METRICS")]
    no_metrics: bool,
    /// Policy TOML file [default: the built-in policy].
    #[arg(long, env = "COMPLAINTFLOW_POLICY")]
    policy: Option<PathBuf>,
    /// Token file [default: a generated admin token in <data-dir>/admin.token].
    #[arg(long, env = "COMPLAINTFLOW_TOKENS")]
    tokens: Option<PathBuf>,
    /// TLS certificate (PEM); needs --tls-key.
    #[arg(long, env = "COMPLAINTFLOW_TLS_CERT", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// TLS private key (PEM); needs --tls-cert.
    #[arg(long, env = "COMPLAINTFLOW_TLS_KEY", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Log format.
    #[arg(long, env = "COMPLAINTFLOW_LOG_FORMAT", value_enum)]
    log_format: Option<LogFormat>,
    /// Start even though the embedded event log lost acknowledged events (found at start-up by the
    /// log's own record of what was acknowledged). The loss is recorded in
    /// <data-dir>/events/overrides.log; restore from a backup instead if you can.
    #[arg(long)]
    accept_log_loss: bool,
}

impl ServeArgs {
    /// Defaults, then the file, then environment and flags.
    pub(super) fn resolve(self) -> Result<Config, Box<dyn std::error::Error>> {
        let mut config = match &self.config {
            Some(path) => Config::from_file(path)?,
            None => Config::default(),
        };
        if let Some(v) = self.data_dir {
            config.data_dir = v;
        }
        if let Some(v) = self.store_url {
            config.store_url = Some(v);
        }
        if let Some(v) = self.listen {
            config.listen = v;
        }
        if let Some(v) = self.http_listen {
            config.http_listen = Some(v);
        }
        if self.no_http {
            config.http_listen = None;
        }
        if let Some(v) = self.metrics_listen {
            config.metrics_listen = Some(v);
        }
        if self.no_metrics {
            config.metrics_listen = None;
        }
        if let Some(v) = self.policy {
            config.policy = Some(v);
        }
        if let Some(v) = self.tokens {
            config.tokens = Some(v);
        }
        if let (Some(cert), Some(key)) = (self.tls_cert, self.tls_key) {
            config.tls = Some(TlsConfig { cert, key });
        }
        if let Some(v) = self.log_format {
            config.log_format = v;
        }
        config.accept_log_loss = self.accept_log_loss;
        config.validate()?;
        Ok(config)
    }
}

pub(super) async fn run(args: ServeArgs) -> Result<ExitCode, Box<dyn std::error::Error>> {
    let config = args.resolve()?;
    complaintflow_server::telemetry::init_logging(config.log_format);
    complaintflow_server::node::serve(config, shutdown_signal(), |listening| {
        // Stable lines on stdout, for scripts and tests that start the server on port 0:
        // the gRPC address first, then the console's.
        println!("complaintflow listening on {}", listening.grpc);
        if let Some(http) = listening.http {
            println!("complaintflow console at http://{http}/");
        }
        let _ = std::io::stdout().flush();
    })
    .await?;
    Ok(ExitCode::SUCCESS)
}

/// Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        () = terminate => {}
    }
}
