//! `complaintflow serve`.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use complaintflow_server::config::{Config, LogFormat, TlsConfig};
use serde::Serialize;

#[derive(Debug, clap::Args)]
pub(super) struct ServeArgs {
    /// A TOML config file; environment variables and flags override it.
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

/// The flags given, as config keys: the top layer of the configuration. A flag not given
/// is left out, so the layers below keep their value.
#[derive(Serialize)]
struct Flags {
    #[serde(skip_serializing_if = "Option::is_none")]
    data_dir: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    store_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    listen: Option<SocketAddr>,
    /// `Some(None)` turns HTTP off, whatever the file or the environment say.
    #[allow(clippy::option_option, reason = "whether given, then what it sets")]
    #[serde(skip_serializing_if = "Option::is_none")]
    http_listen: Option<Option<SocketAddr>>,
    #[allow(clippy::option_option, reason = "whether given, then what it sets")]
    #[serde(skip_serializing_if = "Option::is_none")]
    metrics_listen: Option<Option<SocketAddr>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    policy: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tokens: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tls: Option<TlsConfig>,
    #[serde(skip_serializing_if = "Option::is_none")]
    log_format: Option<LogFormat>,
}

impl ServeArgs {
    /// Defaults, then the file, then the environment, then the flags (clap having read
    /// each flag's own variable).
    pub(super) fn resolve(self) -> Result<Config, Box<dyn std::error::Error>> {
        let off = |off: bool, on: Option<SocketAddr>| if off { Some(None) } else { on.map(Some) };
        let flags = Flags {
            data_dir: self.data_dir,
            store_url: self.store_url,
            listen: self.listen,
            http_listen: off(self.no_http, self.http_listen),
            metrics_listen: off(self.no_metrics, self.metrics_listen),
            policy: self.policy,
            tokens: self.tokens,
            tls: self
                .tls_cert
                .zip(self.tls_key)
                .map(|(cert, key)| TlsConfig { cert, key }),
            log_format: self.log_format,
        };
        let mut config = Config::layered(self.config.as_deref(), &flags)?;
        config.accept_log_loss = self.accept_log_loss;
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

#[cfg(test)]
mod tests {
    use clap::{Args, Command};
    use complaintflow_server::config::is_config_var;

    use super::ServeArgs;

    /// A variable read both by clap and by the environment layer could mean two things
    /// (`COMPLAINTFLOW_STORE` is a URL here, a table there).
    #[test]
    fn no_flag_variable_is_also_a_config_key() {
        let command = ServeArgs::augment_args(Command::new("serve"));
        let vars: Vec<_> = command
            .get_arguments()
            .filter_map(|arg| arg.get_env()?.to_str())
            .collect();
        assert!(vars.contains(&"COMPLAINTFLOW_STORE"), "{vars:?}");
        for var in vars {
            assert!(!is_config_var(var), "{var}");
        }
    }
}
