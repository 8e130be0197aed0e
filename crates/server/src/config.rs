//! Server configuration, in layers, each over the one before: the built-in defaults, the
//! TOML file, `COMPLAINTFLOW_<KEY>` environment variables (a nested key's parts joined by
//! `__`), then `serve`'s flags. figment merges them and remembers which layer gave each
//! value, so that an error names the key and where it was set.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use figment::providers::{Env, Serialized};
use figment::value::{Dict, Map};
use figment::{Figment, Metadata, Profile, Provider};
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
    /// A value of the wrong type, or an unknown key; figment's message names the key and
    /// the layer it came from.
    #[error("invalid configuration: {0}")]
    Invalid(Box<figment::Error>),
    /// A value of the right type that `validate` refuses.
    #[error("invalid configuration: {0}")]
    Refused(String),
}

impl From<figment::Error> for ConfigError {
    fn from(error: figment::Error) -> Self {
        Self::Invalid(Box::new(error))
    }
}

/// What every configuration variable starts with.
pub(crate) const ENV_PREFIX: &str = "COMPLAINTFLOW_";
/// Joins the parts of a nested key in a variable's name: `COMPLAINTFLOW_LIMITS__MAX_SUBSCRIPTIONS`.
/// Doubled because keys have single underscores of their own.
const ENV_SEPARATOR: &str = "__";
/// Top-level keys whose flat variable belongs to a `serve` flag, which clap reads (as
/// documented for each flag). `COMPLAINTFLOW_STORE` there is the PostgreSQL URL, not the
/// `[store]` table, so the environment layer must not read it too.
const FLAG_KEYS: &[&str] = &[
    "data_dir",
    "store",
    "listen",
    "http_listen",
    "metrics_listen",
    "policy",
    "tokens",
    "log_format",
];
const ENV_LAYER: &str = "environment variable";

/// Whether the environment layer reads the variable `name`. The prefix is shared with
/// variables that are no config keys (the log filter, the test and benchmark knobs, the
/// flags' own), so a variable is taken only when its name has a `__` (nothing else uses
/// one, and a typo in it is then refused by name rather than ignored) or is exactly a
/// top-level key of the file that no flag reads.
pub fn is_config_var(name: &str) -> bool {
    name.get(..ENV_PREFIX.len())
        .is_some_and(|prefix| prefix.eq_ignore_ascii_case(ENV_PREFIX))
        && is_config_key(&name[ENV_PREFIX.len()..], &top_level_keys())
}

fn is_config_key(unprefixed: &str, top_level: &[String]) -> bool {
    let key = unprefixed.to_ascii_lowercase();
    key.contains(ENV_SEPARATOR) || (top_level.contains(&key) && !FLAG_KEYS.contains(&key.as_str()))
}

/// The file's top-level keys, as serde names them (options left out of none).
fn top_level_keys() -> Vec<String> {
    Serialized::defaults(Config::default())
        .data()
        .ok()
        .and_then(|mut profiles| profiles.remove(&Profile::Default))
        .map(|dict| dict.into_keys().collect())
        .unwrap_or_default()
}

/// The environment layer; its own metadata so that an error names the variable to fix
/// (`COMPLAINTFLOW_LIMITS__MAX_SUBSCRIPTIONS`), not figment's dotted key.
struct Environment(Env);

impl Environment {
    fn new() -> Self {
        let top_level = top_level_keys();
        Self(
            Env::prefixed(ENV_PREFIX)
                .filter(move |key| is_config_key(key.as_str(), &top_level))
                .split(ENV_SEPARATOR),
        )
    }
}

impl Provider for Environment {
    fn metadata(&self) -> Metadata {
        Metadata::named(ENV_LAYER).interpolater(|_: &Profile, keys: &[&str]| {
            format!(
                "{ENV_PREFIX}{}",
                keys.join(ENV_SEPARATOR).to_ascii_uppercase()
            )
        })
    }

    fn data(&self) -> Result<Map<Profile, Dict>, figment::Error> {
        self.0.data()
    }
}

/// The file, parsed by the same `toml` as every other file of the project.
struct TomlFile {
    path: PathBuf,
    text: String,
}

impl Provider for TomlFile {
    fn metadata(&self) -> Metadata {
        Metadata::from("TOML file", self.path.as_path())
            .interpolater(|_: &Profile, keys: &[&str]| keys.join("."))
    }

    fn data(&self) -> Result<Map<Profile, Dict>, figment::Error> {
        let dict: Dict =
            toml::from_str(&self.text).map_err(|e| figment::Error::from(e.to_string()))?;
        Ok(Profile::Default.collect(dict))
    }
}

/// A layer under a name an operator recognises, not the name of a Rust type.
struct Named<P> {
    name: &'static str,
    provider: P,
}

impl<P: Provider> Provider for Named<P> {
    fn metadata(&self) -> Metadata {
        Metadata::named(self.name).interpolater(|_: &Profile, keys: &[&str]| keys.join("."))
    }

    fn data(&self) -> Result<Map<Profile, Dict>, figment::Error> {
        self.provider.data()
    }
}

impl Config {
    /// The defaults, the file at `path` and the environment: everything but the flags.
    /// The server reloads its file this way too, so that a reload keeps what the
    /// environment set at start-up.
    pub fn from_file(path: &Path) -> Result<Self, ConfigError> {
        Self::extract(&Self::figment(Some(path))?, Some(path))
    }

    /// What `serve` runs with: the defaults, the file (if any), the environment, then
    /// `flags`, whose fields are config keys and which leaves out (skips serializing) the
    /// flags not given.
    pub fn layered<F: Serialize>(file: Option<&Path>, flags: &F) -> Result<Self, ConfigError> {
        let figment = Self::figment(file)?.merge(Named {
            name: "command-line flags",
            provider: Serialized::defaults(flags),
        });
        Self::extract(&figment, file)
    }

    fn figment(file: Option<&Path>) -> Result<Figment, ConfigError> {
        let mut figment = Figment::from(Named {
            name: "built-in defaults",
            provider: Serialized::defaults(Config::default()),
        });
        // Read here rather than by figment, which takes a missing file for an empty one:
        // a file named on purpose must exist.
        if let Some(path) = file {
            let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                path: path.to_owned(),
                source,
            })?;
            figment = figment.merge(TomlFile {
                path: path.to_owned(),
                text,
            });
        }
        Ok(figment.merge(Environment::new()))
    }

    fn extract(figment: &Figment, file: Option<&Path>) -> Result<Self, ConfigError> {
        let config: Self = figment.extract()?;
        config.validate().map_err(|message| {
            // The messages start with the key they are about; say which layer set it.
            let origin = message
                .split_once(':')
                .and_then(|(key, _)| Some((key, figment.find_metadata(key)?)));
            ConfigError::Refused(match origin {
                Some((key, metadata)) => format!("{message} (in {})", describe(metadata, key)),
                None => message,
            })
        })?;
        Ok(Self {
            config_file: file.map(Path::to_owned),
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

/// Where `key`'s value came from, in the words of figment's own errors.
fn describe(metadata: &Metadata, key: &str) -> String {
    if metadata.name == ENV_LAYER {
        let parts: Vec<&str> = key.split('.').collect();
        return format!(
            "{} {ENV_LAYER}",
            metadata.interpolate(&Profile::Default, &parts)
        );
    }
    match &metadata.source {
        Some(source) => format!("{source} {}", metadata.name),
        None => metadata.name.to_string(),
    }
}

#[cfg(test)]
mod tests {
    #![allow(
        clippy::result_large_err,
        reason = "figment::Jail's closures return figment's own error"
    )]
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

    use figment::Jail;

    /// The flags `serve` gives, as far as these tests need them.
    #[derive(Default, Serialize)]
    struct Flags {
        #[serde(skip_serializing_if = "Option::is_none")]
        store_url: Option<String>,
        /// `Some(None)` is `--no-http`.
        #[allow(clippy::option_option, reason = "whether given, then what it sets")]
        #[serde(skip_serializing_if = "Option::is_none")]
        http_listen: Option<Option<SocketAddr>>,
    }

    fn layered(file: Option<&str>, flags: &Flags) -> Result<Config, ConfigError> {
        Config::layered(file.map(Path::new), flags)
    }

    #[test]
    fn the_file_beats_the_defaults() {
        Jail::expect_with(|jail| {
            jail.clear_env();
            jail.create_file(
                "c.toml",
                "listen = '0.0.0.0:6000'\n[limits]\nmax_subscriptions = 8\n",
            )?;
            let config = layered(Some("c.toml"), &Flags::default()).unwrap();
            assert_eq!(config.listen.port(), 6000);
            assert_eq!(config.limits.max_subscriptions, 8);
            assert_eq!(config.config_file, Some(PathBuf::from("c.toml")));
            let rest = Config {
                listen: Config::default().listen,
                limits: ServerLimits::default(),
                config_file: None,
                ..config
            };
            assert_eq!(rest, Config::default());
            Ok(())
        });
    }

    #[test]
    fn the_environment_beats_the_file_for_every_key() {
        Jail::expect_with(|jail| {
            jail.clear_env();
            jail.create_file(
                "c.toml",
                "store_url = 'postgres://file/db'\n[limits]\nmax_subscriptions = 8\n",
            )?;
            jail.set_env("COMPLAINTFLOW_LIMITS__MAX_SUBSCRIPTIONS", 9);
            jail.set_env("COMPLAINTFLOW_LIMITS__SHUTDOWN_TIMEOUT", "3s");
            jail.set_env("COMPLAINTFLOW_STORE__MAX_PAYLOAD_BYTES", 4096);
            jail.set_env("COMPLAINTFLOW_STORE_URL", "postgres://env/db");
            jail.set_env("COMPLAINTFLOW_TLS__CERT", "c.pem");
            jail.set_env("COMPLAINTFLOW_TLS__KEY", "k.pem");
            jail.set_env("COMPLAINTFLOW_DEALERS", "{SH-0042 = \"EAST\"}");
            let config = layered(Some("c.toml"), &Flags::default()).unwrap();
            assert_eq!(config.limits.max_subscriptions, 9);
            assert_eq!(config.limits.shutdown_timeout, SignedDuration::from_secs(3));
            assert_eq!(config.store.max_payload_bytes, 4096);
            assert_eq!(config.store_url.as_deref(), Some("postgres://env/db"));
            assert_eq!(config.tls.unwrap().key, PathBuf::from("k.pem"));
            assert_eq!(config.dealers["SH-0042"], "EAST");
            Ok(())
        });
    }

    #[test]
    fn a_flag_beats_the_environment() {
        Jail::expect_with(|jail| {
            jail.clear_env();
            jail.create_file("c.toml", "http_listen = '127.0.0.1:7000'\n")?;
            jail.set_env("COMPLAINTFLOW_STORE_URL", "postgres://env/db");
            let flags = Flags {
                store_url: Some("postgres://flag/db".into()),
                http_listen: Some(None),
            };
            let config = layered(Some("c.toml"), &flags).unwrap();
            assert_eq!(config.store_url.as_deref(), Some("postgres://flag/db"));
            assert_eq!(config.http_listen, None);
            Ok(())
        });
    }

    #[test]
    fn other_variables_with_the_prefix_are_no_config_keys() {
        Jail::expect_with(|jail| {
            jail.clear_env();
            for (name, value) in [
                ("COMPLAINTFLOW_TEST_POSTGRES", "postgres://test/db"),
                ("COMPLAINTFLOW_BENCH_ONLY", "append"),
                ("COMPLAINTFLOW_BIN", "/usr/bin/complaintflow"),
                ("COMPLAINTFLOW_PG_FSYNC", "off"),
                ("COMPLAINTFLOW_LOG", "debug"),
                ("COMPLAINTFLOW_CONFIG", "elsewhere.toml"),
                ("COMPLAINTFLOW_NO_HTTP", "true"),
                // The flags' variables are clap's to read; `STORE` is a URL, not `[store]`.
                ("COMPLAINTFLOW_STORE", "postgres://flag/db"),
                ("COMPLAINTFLOW_LISTEN", "not an address"),
            ] {
                jail.set_env(name, value);
                assert!(!is_config_var(name), "{name}");
            }
            assert_eq!(layered(None, &Flags::default()).unwrap(), Config::default());
            assert!(is_config_var("COMPLAINTFLOW_STORE_URL"));
            assert!(is_config_var("COMPLAINTFLOW_LIMITS__MAX_SUBSCRIPTIONS"));
            Ok(())
        });
    }

    #[test]
    fn unknown_keys_are_refused_naming_the_key_and_its_layer() {
        Jail::expect_with(|jail| {
            jail.clear_env();
            jail.create_file("c.toml", "listn = '1.2.3.4:5'\n")?;
            let err = layered(Some("c.toml"), &Flags::default())
                .unwrap_err()
                .to_string();
            assert!(err.contains("listn") && err.contains("c.toml"), "{err}");

            jail.create_file("c.toml", "")?;
            jail.set_env("COMPLAINTFLOW_LIMITS__MAX_SUBSCRIPTONS", 8);
            let err = layered(Some("c.toml"), &Flags::default())
                .unwrap_err()
                .to_string();
            assert!(
                err.contains("max_subscriptons")
                    && err.contains("COMPLAINTFLOW_LIMITS__MAX_SUBSCRIPTONS"),
                "{err}"
            );
            Ok(())
        });
    }

    #[test]
    fn a_zero_limit_is_refused_naming_the_layer_that_set_it() {
        Jail::expect_with(|jail| {
            jail.clear_env();
            jail.create_file("c.toml", "[limits]\nmax_subscriptions = 0\n")?;
            let err = layered(Some("c.toml"), &Flags::default())
                .unwrap_err()
                .to_string();
            assert_eq!(
                err,
                "invalid configuration: limits.max_subscriptions: must be greater than 0 \
                 (in c.toml TOML file)"
            );
            jail.set_env("COMPLAINTFLOW_STORE__MAX_PAYLOAD_BYTES", 0);
            let err = layered(None, &Flags::default()).unwrap_err().to_string();
            assert_eq!(
                err,
                "invalid configuration: store.max_payload_bytes: must be greater than 0 \
                 (in COMPLAINTFLOW_STORE__MAX_PAYLOAD_BYTES environment variable)"
            );
            Ok(())
        });
    }

    #[test]
    fn a_file_named_on_purpose_must_exist() {
        Jail::expect_with(|jail| {
            jail.clear_env();
            let err = layered(Some("missing.toml"), &Flags::default()).unwrap_err();
            assert!(matches!(err, ConfigError::Read { .. }), "{err}");
            Ok(())
        });
    }
}
