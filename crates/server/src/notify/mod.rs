//! Escalation notifications: webhooks driven from the log.
//!
//! Each configured endpoint has its own task (`endpoint`) that reads the global log
//! from its own durable checkpoint under `<data-dir>/webhooks/`, so an endpoint that is
//! down holds back only itself, and a restart or a crash resumes where it was. The set
//! of endpoints follows the config file while the server runs: an endpoint added starts
//! at the head of the log as it is when it is added (its checkpoint is written at once),
//! one removed stops (its files stay; the same name added back resumes from them), one
//! changed restarts from its checkpoint.

pub mod checkpoint;
pub mod client;
pub mod config;
pub mod dead_letter;
mod endpoint;
pub mod files;
mod filter;
mod metrics;
pub mod sign;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use tokio::sync::watch;
use tokio::task::JoinHandle;
use tracing::{error, info};

use self::config::{WebhookConfig, WebhookConfigError, WebhookDelivery};
use self::endpoint::{Endpoint, Shared};
use self::files::EndpointFiles;
use crate::config::{Config, ConfigError};
use crate::engine::Engine;
use crate::node::DataDir;
use crate::node::watch::{Reload, watch_file};

#[derive(Debug, thiserror::Error)]
pub(crate) enum NotifyError {
    #[error(transparent)]
    Client(#[from] client::ClientError),
    #[error(transparent)]
    Config(#[from] WebhookConfigError),
}

/// The endpoints in force and their delivery tasks.
pub(crate) struct Notifier {
    shared: Arc<Shared>,
    data_dir: DataDir,
    delivery: WebhookDelivery,
    running: BTreeMap<String, Running>,
    /// Tasks told to stop (removed or replaced endpoints), awaited at shutdown.
    retired: Vec<JoinHandle<()>>,
}

struct Running {
    config: WebhookConfig,
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl Notifier {
    /// Starts delivering to `webhooks` (needs a Tokio runtime), from this node only while
    /// `holding` (the store's lease, which the scheduler holds too) says it holds it.
    pub(crate) fn start(
        engine: Arc<Engine>,
        holding: watch::Receiver<bool>,
        data_dir: &DataDir,
        webhooks: &[WebhookConfig],
        delivery: &WebhookDelivery,
    ) -> Result<Self, NotifyError> {
        metrics::describe();
        let clock = engine.clock().clone();
        let mut notifier = Self {
            shared: Arc::new(Shared {
                engine,
                client: client::HttpClient::new()?,
                clock,
                holding,
            }),
            data_dir: data_dir.clone(),
            delivery: delivery.clone(),
            running: BTreeMap::new(),
            retired: Vec::new(),
        };
        notifier.apply(webhooks, delivery)?;
        Ok(notifier)
    }

    /// The names of the endpoints in force.
    pub(crate) fn endpoints(&self) -> Vec<&str> {
        self.running.keys().map(String::as_str).collect()
    }

    /// Puts `webhooks` in force, or nothing if they do not pass the checks. `Ok(true)`
    /// if any endpoint started, stopped or restarted.
    pub(crate) fn apply(
        &mut self,
        webhooks: &[WebhookConfig],
        delivery: &WebhookDelivery,
    ) -> Result<bool, WebhookConfigError> {
        config::validate(webhooks, delivery)?;
        config::validate_with_policy(webhooks, self.shared.engine.policy())?;
        let delivery_changed = *delivery != self.delivery;
        self.delivery = delivery.clone();
        self.retired.retain(|task| !task.is_finished());
        let mut changed = false;
        let wanted: BTreeMap<&str, &WebhookConfig> =
            webhooks.iter().map(|w| (w.name.as_str(), w)).collect();
        let names: Vec<String> = self.running.keys().cloned().collect();
        let mut predecessors = BTreeMap::new();
        for name in names {
            let keep = wanted
                .get(name.as_str())
                .is_some_and(|w| !delivery_changed && self.running[&name].config == **w);
            if !keep && let Some(running) = self.running.remove(&name) {
                let _ = running.stop.send(true);
                info!(endpoint = %name, "webhook endpoint stopping");
                predecessors.insert(name, running.task);
                changed = true;
            }
        }
        for webhook in webhooks {
            if self.running.contains_key(&webhook.name) {
                continue;
            }
            let predecessor = predecessors.remove(&webhook.name);
            self.launch(webhook, predecessor);
            changed = true;
        }
        self.retired.extend(predecessors.into_values());
        Ok(changed)
    }

    /// Starts one endpoint's task; a replaced endpoint's new task waits for the old one
    /// to end, so that the two never deliver or write its checkpoint at once.
    fn launch(&mut self, webhook: &WebhookConfig, predecessor: Option<JoinHandle<()>>) {
        let files = EndpointFiles::new(&self.data_dir, &webhook.name);
        if predecessor.is_none() {
            // Fixes a new endpoint's start now, not whenever its task first runs.
            let head = self.shared.engine.log().head();
            if let Err(err) = endpoint::starting_point(&files, head) {
                error!(endpoint = %webhook.name, error = %err, "webhook endpoint not started");
                return;
            }
        }
        let Ok(uri) = webhook.url.parse::<http::Uri>() else {
            // `apply` validated the URL: unreachable, but never a panic.
            error!(endpoint = %webhook.name, "webhook URL does not parse");
            return;
        };
        let (stop, stopped) = watch::channel(false);
        let endpoint = Endpoint {
            config: webhook.clone(),
            uri,
            delivery: self.delivery.clone(),
            files,
            shared: self.shared.clone(),
        };
        let name = webhook.name.clone();
        let task = tokio::spawn(async move {
            if let Some(predecessor) = predecessor {
                let _ = predecessor.await;
            }
            let files = endpoint.files.clone();
            let head = endpoint.shared.engine.log().head();
            let start =
                tokio::task::spawn_blocking(move || endpoint::starting_point(&files, head)).await;
            let failure = match start {
                Ok(Ok(next)) => return endpoint.run(next, stopped).await,
                Ok(Err(err)) => err.to_string(),
                Err(err) => err.to_string(),
            };
            error!(endpoint = %name, error = %failure, "webhook endpoint not started");
        });
        self.running.insert(
            webhook.name.clone(),
            Running {
                config: webhook.clone(),
                stop,
                task,
            },
        );
    }

    /// Stops every endpoint and waits for their tasks, which stop at their next step
    /// (an unanswered POST is dropped, to be sent again at the next start).
    pub(crate) async fn stop(mut self) {
        for running in self.running.values() {
            let _ = running.stop.send(true);
        }
        let tasks = std::mem::take(&mut self.running)
            .into_values()
            .map(|running| running.task)
            .chain(std::mem::take(&mut self.retired));
        for task in tasks {
            let _ = task.await;
        }
    }

    /// Delivers until `stop` turns true, following `config_file` (if the server was
    /// started with one) for changes to the webhooks.
    pub(crate) async fn run(self, config_file: Option<PathBuf>, stop: watch::Receiver<bool>) {
        let mut watched = WatchedConfig {
            last: config_file.as_deref().and_then(fingerprint),
            path: config_file,
            notifier: self,
        };
        if watched.path.is_some() {
            watch_file(&mut watched, stop).await;
        } else {
            let mut stop = stop;
            let _ = stop.wait_for(|stop| *stop).await;
        }
        watched.notifier.stop().await;
    }
}

/// A config file's content as last seen: a change is told by its hash, and a file that
/// cannot be read is reported once, not at every look.
fn fingerprint(path: &Path) -> Option<blake3::Hash> {
    std::fs::read(path).ok().map(|bytes| blake3::hash(&bytes))
}

#[derive(Debug, thiserror::Error)]
pub(crate) enum ReloadError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("{path}: {source}")]
    Webhooks {
        path: PathBuf,
        #[source]
        source: WebhookConfigError,
    },
}

/// The webhooks part of the server's config file.
struct WatchedConfig {
    path: Option<PathBuf>,
    /// The file's hash when last read; none if it could not be read.
    last: Option<blake3::Hash>,
    notifier: Notifier,
}

impl Reload for WatchedConfig {
    type Error = ReloadError;
    const WHAT: &'static str = "config file (webhooks)";

    fn reload(&mut self, always: bool) -> Result<bool, ReloadError> {
        let Some(path) = &self.path else {
            return Ok(false);
        };
        let seen = fingerprint(path);
        if !always && self.last == seen {
            return Ok(false);
        }
        self.last = seen;
        let config = Config::from_file(path)?;
        self.notifier
            .apply(&config.webhooks, &config.webhook_delivery)
            .map_err(|source| ReloadError::Webhooks {
                path: path.clone(),
                source,
            })
    }

    fn reloaded(&self) {
        info!(endpoints = ?self.notifier.endpoints(), "webhooks reloaded");
    }
}
