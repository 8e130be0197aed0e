//! Server configuration: built-in defaults, overridden by a TOML file, overridden by
//! environment variables and flags (which clap reads together).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::store::StoreLimits;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Where the event log and projections live.
    pub data_dir: PathBuf,
    /// gRPC address.
    pub listen: SocketAddr,
    /// Prometheus metrics address; none turns the exporter off.
    pub metrics_listen: Option<SocketAddr>,
    /// A policy TOML file; none means the built-in policy.
    pub policy: Option<PathBuf>,
    /// The token file; none means a generated admin token in `<data_dir>/admin.token`.
    pub tokens: Option<PathBuf>,
    pub tls: Option<TlsConfig>,
    pub log_format: LogFormat,
    pub limits: ServerLimits,
    pub store: StoreLimits,
    /// Start on an event log that lost acknowledged events (the operator's one-off
    /// override, recorded in the log's directory); a flag only, never a file setting.
    #[serde(skip)]
    pub accept_log_loss: bool,
    /// The dealer registry, `[dealers]`: dealer code → the region it belongs to. Filings
    /// go to the dealer's own region only; dealer tokens may name their region instead.
    pub dealers: BTreeMap<String, String>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            data_dir: PathBuf::from("./data"),
            listen: SocketAddr::from(([127, 0, 0, 1], 50051)),
            metrics_listen: Some(SocketAddr::from(([127, 0, 0, 1], 9464))),
            policy: None,
            tokens: None,
            tls: None,
            log_format: LogFormat::Text,
            limits: ServerLimits::default(),
            store: StoreLimits::default(),
            accept_log_loss: false,
            dealers: BTreeMap::new(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    pub cert: PathBuf,
    pub key: PathBuf,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerLimits {
    /// Largest gRPC message accepted, in bytes.
    pub max_message_bytes: usize,
    /// Requests served at once; more are refused with RESOURCE_EXHAUSTED.
    pub max_concurrent_requests: usize,
    /// Live subscriptions at once; more are refused with RESOURCE_EXHAUSTED.
    pub max_subscriptions: usize,
}

impl Default for ServerLimits {
    fn default() -> Self {
        Self {
            max_message_bytes: 4 * 1024 * 1024,
            max_concurrent_requests: 1024,
            max_subscriptions: 256,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("config file {path}: {message}")]
    Invalid { path: PathBuf, message: String },
}

impl Config {
    pub fn from_file(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        let config: Self = toml::from_str(&text).map_err(|e| ConfigError::Invalid {
            path: path.to_owned(),
            message: e.to_string(),
        })?;
        config.validate().map_err(|message| ConfigError::Invalid {
            path: path.to_owned(),
            message,
        })?;
        Ok(config)
    }

    /// Checks the values serde cannot: zero limits make no sense.
    pub fn validate(&self) -> Result<(), String> {
        let positive = [
            ("limits.max_message_bytes", self.limits.max_message_bytes),
            (
                "limits.max_concurrent_requests",
                self.limits.max_concurrent_requests,
            ),
            ("limits.max_subscriptions", self.limits.max_subscriptions),
            (
                "store.max_events_per_append",
                self.store.max_events_per_append,
            ),
            ("store.max_payload_bytes", self.store.max_payload_bytes),
        ];
        match positive.iter().find(|(_, value)| *value == 0) {
            Some((field, _)) => Err(format!("{field}: must be greater than 0")),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_partial_file_keeps_the_other_defaults() {
        let config: Config =
            toml::from_str("listen = '0.0.0.0:6000'\n[limits]\nmax_subscriptions = 8\n").unwrap();
        assert_eq!(config.listen.port(), 6000);
        assert_eq!(config.limits.max_subscriptions, 8);
        assert_eq!(
            config.limits.max_message_bytes,
            ServerLimits::default().max_message_bytes
        );
        assert_eq!(config.data_dir, PathBuf::from("./data"));
    }

    #[test]
    fn unknown_fields_and_zero_limits_are_refused_by_name() {
        let err = toml::from_str::<Config>("listn = '1.2.3.4:5'").unwrap_err();
        assert!(err.to_string().contains("listn"), "{err}");
        let mut config = Config::default();
        config.store.max_payload_bytes = 0;
        assert_eq!(
            config.validate().unwrap_err(),
            "store.max_payload_bytes: must be greater than 0"
        );
    }

    #[test]
    fn the_dealer_registry_maps_dealers_to_regions() {
        let config: Config =
            toml::from_str("[dealers]\n\"SH-0042\" = \"EAST\"\n\"BJ-0007\" = \"NORTH\"\n").unwrap();
        assert_eq!(config.dealers["SH-0042"], "EAST");
        assert_eq!(config.dealers.len(), 2);
    }
}
