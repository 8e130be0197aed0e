//! Server configuration: built-in defaults, overridden by a TOML file, overridden by
//! environment variables and flags (which clap reads together).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use jiff::SignedDuration;
use serde::{Deserialize, Serialize};

use crate::notify::config::{WebhookConfig, WebhookDelivery};
use complaintflow_log::StoreLimits;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Where the event log and projections live; with `store_url`, the node's own
    /// read-model snapshot and keys.
    pub data_dir: PathBuf,
    /// The event log in PostgreSQL (`postgres://user@host/db`) instead of `data_dir`.
    pub store_url: Option<String>,
    /// gRPC address.
    pub listen: SocketAddr,
    /// The HTTP address (console, health and readiness); none turns HTTP off.
    pub http_listen: Option<SocketAddr>,
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
    /// `[[webhooks]]`: endpoints that hear of matching events (reloaded while serving).
    pub webhooks: Vec<WebhookConfig>,
    /// `[webhook_delivery]`: allow-list, backoff, timeout, dead-letter age.
    pub webhook_delivery: WebhookDelivery,
    /// The file this config was read from, which `serve` watches for webhook changes.
    #[serde(skip)]
    pub config_file: Option<PathBuf>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            data_dir: PathBuf::from("./data"),
            store_url: None,
            listen: SocketAddr::from(([127, 0, 0, 1], 50051)),
            http_listen: Some(SocketAddr::from(([127, 0, 0, 1], 8080))),
            metrics_listen: Some(SocketAddr::from(([127, 0, 0, 1], 9464))),
            policy: None,
            tokens: None,
            tls: None,
            log_format: LogFormat::Text,
            limits: ServerLimits::default(),
            store: StoreLimits::default(),
            accept_log_loss: false,
            dealers: BTreeMap::new(),
            webhooks: Vec::new(),
            webhook_delivery: WebhookDelivery::default(),
            config_file: None,
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
    /// Requests served at once, counted until their response has been sent; more are
    /// refused with RESOURCE_EXHAUSTED.
    pub max_concurrent_requests: usize,
    /// Bytes of encoded responses waiting to be sent, all requests together; a response
    /// that does not fit is refused with RESOURCE_EXHAUSTED instead of being built.
    pub max_response_bytes: usize,
    /// Connections open at once on the HTTP port; more are closed on accept.
    pub max_http_connections: usize,
    /// Live subscriptions at once; more are refused with RESOURCE_EXHAUSTED.
    pub max_subscriptions: usize,
    /// Bytes of messages buffered for one subscriber beyond what HTTP/2 flow control holds.
    pub subscriber_buffer_bytes: usize,
    /// A subscriber whose buffer stays full this long is cut off (RESOURCE_EXHAUSTED,
    /// with the position to resume from).
    pub subscriber_stall_timeout: SignedDuration,
    /// A connection must send the HTTP/2 preface within this time or is dropped.
    pub handshake_timeout: SignedDuration,
    /// An HTTP/2 ping is sent after this much silence on a connection ...
    pub http2_keepalive_interval: SignedDuration,
    /// ... and the connection is dropped when the ping is not answered within this time.
    pub http2_keepalive_timeout: SignedDuration,
    /// Streams (calls) open at once on one connection.
    pub max_streams_per_connection: u32,
    /// TCP keep-alive probes on idle connections, for peers that vanished.
    pub tcp_keepalive: SignedDuration,
    /// After SIGTERM, open calls get this long to finish; then their connections are
    /// closed and the server stops anyway.
    pub shutdown_timeout: SignedDuration,
    /// An event's `occur_time` may be at most this far in the past unless its request
    /// says it back-fills: a time decades old makes every deadline fire at once. Written
    /// in hours (`"8784h"`), a day not being a fixed length.
    pub max_occur_age: SignedDuration,
    /// The longest a query that names a `min_position` waits for this node to read the
    /// log that far (less if the call's deadline is nearer); then UNAVAILABLE.
    pub max_position_wait: SignedDuration,
}

impl Default for ServerLimits {
    fn default() -> Self {
        Self {
            max_message_bytes: 4 * 1024 * 1024,
            max_concurrent_requests: 1024,
            max_response_bytes: 256 * 1024 * 1024,
            max_http_connections: 1024,
            max_subscriptions: 256,
            subscriber_buffer_bytes: 1024 * 1024,
            subscriber_stall_timeout: SignedDuration::from_secs(30),
            handshake_timeout: SignedDuration::from_secs(10),
            http2_keepalive_interval: SignedDuration::from_secs(30),
            http2_keepalive_timeout: SignedDuration::from_secs(10),
            max_streams_per_connection: 1024,
            tcp_keepalive: SignedDuration::from_secs(60),
            shutdown_timeout: SignedDuration::from_secs(10),
            max_occur_age: SignedDuration::from_hours(366 * 24),
            max_position_wait: SignedDuration::from_secs(10),
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
        Ok(Self {
            config_file: Some(path.to_owned()),
            ..config
        })
    }

    /// Checks the values serde cannot: zero limits make no sense.
    pub fn validate(&self) -> Result<(), String> {
        let positive = [
            ("limits.max_message_bytes", self.limits.max_message_bytes),
            (
                "limits.max_concurrent_requests",
                self.limits.max_concurrent_requests,
            ),
            ("limits.max_response_bytes", self.limits.max_response_bytes),
            ("limits.max_subscriptions", self.limits.max_subscriptions),
            (
                "limits.max_http_connections",
                self.limits.max_http_connections,
            ),
            (
                "limits.subscriber_buffer_bytes",
                self.limits.subscriber_buffer_bytes,
            ),
            (
                "store.max_events_per_append",
                self.store.max_events_per_append,
            ),
            ("store.max_payload_bytes", self.store.max_payload_bytes),
        ];
        if let Some((field, _)) = positive.iter().find(|(_, value)| *value == 0) {
            return Err(format!("{field}: must be greater than 0"));
        }
        if self.limits.max_streams_per_connection == 0 {
            return Err("limits.max_streams_per_connection: must be greater than 0".into());
        }
        let durations = [
            (
                "limits.subscriber_stall_timeout",
                self.limits.subscriber_stall_timeout,
            ),
            ("limits.handshake_timeout", self.limits.handshake_timeout),
            (
                "limits.http2_keepalive_interval",
                self.limits.http2_keepalive_interval,
            ),
            (
                "limits.http2_keepalive_timeout",
                self.limits.http2_keepalive_timeout,
            ),
            ("limits.tcp_keepalive", self.limits.tcp_keepalive),
            ("limits.shutdown_timeout", self.limits.shutdown_timeout),
            ("limits.max_occur_age", self.limits.max_occur_age),
            ("limits.max_position_wait", self.limits.max_position_wait),
        ];
        if let Some((field, _)) = durations.iter().find(|(_, value)| !value.is_positive()) {
            return Err(format!("{field}: must be a positive duration"));
        }
        crate::notify::config::validate(&self.webhooks, &self.webhook_delivery)
            .map_err(|e| e.to_string())
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
    fn durations_are_written_as_friendly_text_and_must_be_positive() {
        let config: Config =
            toml::from_str("[limits]\nshutdown_timeout = '3s'\nhandshake_timeout = '1m'\n")
                .unwrap();
        assert_eq!(config.limits.shutdown_timeout, SignedDuration::from_secs(3));
        assert_eq!(
            config.limits.handshake_timeout,
            SignedDuration::from_secs(60)
        );
        let text = toml::to_string(&Config::default()).unwrap();
        assert_eq!(toml::from_str::<Config>(&text).unwrap(), Config::default());
        let mut config = Config::default();
        config.limits.handshake_timeout = SignedDuration::ZERO;
        assert_eq!(
            config.validate().unwrap_err(),
            "limits.handshake_timeout: must be a positive duration"
        );
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

    #[test]
    fn webhooks_are_read_and_a_bad_one_is_named() {
        let text = r#"
            [[webhooks]]
            name = "cac-east"
            url = "https://hooks.example.com/cf"
            secret = "k"
            events = ["deadline_missed", "escalated"]
            regions = ["EAST"]
            min_level = "manufacturer_cac"

            [webhook_delivery]
            allowed_hosts = ["hooks.example.com"]
            backoff_base = "2s"
            dead_letter_after = "1h"
        "#;
        let config: Config = toml::from_str(text).unwrap();
        config.validate().unwrap();
        assert_eq!(config.webhooks[0].name, "cac-east");
        assert_eq!(
            config.webhook_delivery.backoff_base,
            SignedDuration::from_secs(2)
        );
        let elsewhere = text.replace("https://hooks.example.com", "https://other.example.org");
        let config: Config = toml::from_str(&elsewhere).unwrap();
        assert_eq!(
            config.validate().unwrap_err(),
            "webhooks.cac-east.url: host \"other.example.org\" is not on webhook_delivery.allowed_hosts"
        );
        let unknown = text.replace("\"escalated\"", "\"exploded\"");
        let err = toml::from_str::<Config>(&unknown).unwrap_err();
        assert!(err.to_string().contains("exploded"), "{err}");
    }
}
