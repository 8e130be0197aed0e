//! What the `[[webhooks]]` and `[webhook_delivery]` tables of the server's config say,
//! and the checks serde cannot make: names usable as file names, only `http`/`https`
//! URLs on the allow-list, sane backoff.

use std::collections::BTreeSet;

use jiff::SignedDuration;
use serde::{Deserialize, Serialize};

use complaintflow_domain::Policy;
use complaintflow_domain::vocabulary::Level;

/// What an endpoint may ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    DeadlineWarning,
    DeadlineMissed,
    Escalated,
    /// `complaint.filed` of an emergency (fire, flood, …).
    EmergencyFiled,
    CustomerUnreachable,
    Reopened,
    /// Every event of every complaint.
    Any,
}

/// One `[[webhooks]]` entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookConfig {
    /// Names the endpoint in metrics, logs and its files under `<data-dir>/webhooks/`.
    pub name: String,
    pub url: String,
    /// The HMAC-SHA256 key of the signature header.
    pub secret: String,
    pub events: Vec<EventKind>,
    /// Only complaints of these regions; empty: all.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub regions: Vec<String>,
    /// Only complaints of these dealers; empty: all.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dealers: Vec<String>,
    /// Only complaints at this rung of the escalation ladder or above, as of the event.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_level: Option<Level>,
}

/// `[webhook_delivery]`: how every endpoint is delivered to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WebhookDelivery {
    /// Hosts a webhook URL may name (exact, case-insensitive); none by default, so that
    /// a config cannot post complaints anywhere by mistake.
    pub allowed_hosts: Vec<String>,
    /// The first retry waits this long; each next one twice as long ...
    pub backoff_base: SignedDuration,
    /// ... up to this.
    pub backoff_cap: SignedDuration,
    /// One POST gets this long to be answered.
    pub request_timeout: SignedDuration,
    /// An event still not delivered this long after its first attempt goes to the
    /// endpoint's dead letters, and delivery moves on.
    pub dead_letter_after: SignedDuration,
}

impl Default for WebhookDelivery {
    fn default() -> Self {
        Self {
            allowed_hosts: Vec::new(),
            backoff_base: SignedDuration::from_secs(1),
            backoff_cap: SignedDuration::from_mins(5),
            request_timeout: SignedDuration::from_secs(10),
            dead_letter_after: SignedDuration::from_hours(24),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebhookConfigError {
    #[error(
        "webhooks[{index}].name {name:?}: must be 1 to 64 letters, digits, '-' or '_' (it names files)"
    )]
    BadName { index: usize, name: String },
    #[error("webhooks[{index}].name {name:?}: used twice")]
    DuplicateName { index: usize, name: String },
    #[error("webhooks.{name}.url {url:?}: {reason}")]
    BadUrl {
        name: String,
        url: String,
        reason: &'static str,
    },
    #[error("webhooks.{name}.url: host {host:?} is not on webhook_delivery.allowed_hosts")]
    HostNotAllowed { name: String, host: String },
    #[error("webhooks.{name}.secret: must not be empty")]
    EmptySecret { name: String },
    #[error("webhooks.{name}.events: must name at least one event type")]
    NoEvents { name: String },
    #[error("webhooks.{name}.min_level: {level} is not on the policy's escalation ladder")]
    LevelOffLadder { name: String, level: Level },
    #[error("webhook_delivery.{field}: must be a positive duration")]
    NotPositive { field: &'static str },
    #[error("webhook_delivery.backoff_cap: must not be below backoff_base")]
    CapBelowBase,
}

/// The longest endpoint name: it becomes a file name.
const MAX_NAME: usize = 64;

/// Checks every endpoint and the delivery settings; the first problem is named.
pub fn validate(
    webhooks: &[WebhookConfig],
    delivery: &WebhookDelivery,
) -> Result<(), WebhookConfigError> {
    let durations = [
        ("backoff_base", delivery.backoff_base),
        ("backoff_cap", delivery.backoff_cap),
        ("request_timeout", delivery.request_timeout),
        ("dead_letter_after", delivery.dead_letter_after),
    ];
    if let Some((field, _)) = durations.iter().find(|(_, value)| !value.is_positive()) {
        return Err(WebhookConfigError::NotPositive { field });
    }
    if delivery.backoff_cap < delivery.backoff_base {
        return Err(WebhookConfigError::CapBelowBase);
    }
    let allowed: BTreeSet<String> = delivery
        .allowed_hosts
        .iter()
        .map(|host| host.to_ascii_lowercase())
        .collect();
    let mut names = BTreeSet::new();
    for (index, webhook) in webhooks.iter().enumerate() {
        let name = &webhook.name;
        let usable = !name.is_empty()
            && name.len() <= MAX_NAME
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !usable {
            return Err(WebhookConfigError::BadName {
                index,
                name: name.clone(),
            });
        }
        if !names.insert(name.as_str()) {
            return Err(WebhookConfigError::DuplicateName {
                index,
                name: name.clone(),
            });
        }
        let host = url_host(&webhook.url).map_err(|reason| WebhookConfigError::BadUrl {
            name: name.clone(),
            url: webhook.url.clone(),
            reason,
        })?;
        if !allowed.contains(&host) {
            return Err(WebhookConfigError::HostNotAllowed {
                name: name.clone(),
                host,
            });
        }
        if webhook.secret.is_empty() {
            return Err(WebhookConfigError::EmptySecret { name: name.clone() });
        }
        if webhook.events.is_empty() {
            return Err(WebhookConfigError::NoEvents { name: name.clone() });
        }
    }
    Ok(())
}

/// Checks what needs the policy: a minimum level must be a rung of its ladder.
pub(crate) fn validate_with_policy(
    webhooks: &[WebhookConfig],
    policy: &Policy,
) -> Result<(), WebhookConfigError> {
    for webhook in webhooks {
        if let Some(level) = webhook.min_level
            && policy.rung(level).is_none()
        {
            return Err(WebhookConfigError::LevelOffLadder {
                name: webhook.name.clone(),
                level,
            });
        }
    }
    Ok(())
}

/// The lower-case host of an absolute `http` or `https` URL.
fn url_host(url: &str) -> Result<String, &'static str> {
    let uri: http::Uri = url.parse().map_err(|_| "not a URL")?;
    match uri.scheme_str() {
        Some("http" | "https") => {}
        Some(_) => return Err("only http and https URLs are delivered to"),
        None => return Err("must be an absolute http or https URL"),
    }
    let authority = uri.authority().ok_or("must name a host")?;
    if authority.as_str().contains('@') {
        return Err("must not carry credentials (use the secret)");
    }
    let host = uri.host().ok_or("must name a host")?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if host.is_empty() {
        return Err("must name a host");
    }
    Ok(host.to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests stop at the first surprise")]

    use super::*;

    fn hook(name: &str, url: &str) -> WebhookConfig {
        WebhookConfig {
            name: name.into(),
            url: url.into(),
            secret: "s3cret".into(),
            events: vec![EventKind::Any],
            regions: vec![],
            dealers: vec![],
            min_level: None,
        }
    }

    fn allowing(hosts: &[&str]) -> WebhookDelivery {
        WebhookDelivery {
            allowed_hosts: hosts.iter().map(|h| (*h).to_owned()).collect(),
            ..WebhookDelivery::default()
        }
    }

    #[test]
    fn only_http_and_https_urls_on_the_allow_list_pass() {
        let delivery = allowing(&["hooks.example.com", "127.0.0.1"]);
        for url in [
            "https://hooks.example.com/cf",
            "http://HOOKS.example.com:8443/x?y=1",
            "http://127.0.0.1:9999/",
        ] {
            validate(&[hook("a", url)], &delivery).unwrap();
        }
        let refused = |url: &str| validate(&[hook("a", url)], &delivery).unwrap_err();
        assert!(matches!(
            refused("ftp://hooks.example.com/x"),
            WebhookConfigError::BadUrl { .. }
        ));
        assert!(matches!(
            refused("file:///etc/passwd"),
            WebhookConfigError::BadUrl { .. }
        ));
        assert!(matches!(
            refused("/relative"),
            WebhookConfigError::BadUrl { .. }
        ));
        assert!(matches!(
            refused("https://user:pw@hooks.example.com/"),
            WebhookConfigError::BadUrl { .. }
        ));
        assert_eq!(
            refused("https://evil.example.net/"),
            WebhookConfigError::HostNotAllowed {
                name: "a".into(),
                host: "evil.example.net".into()
            }
        );
        assert_eq!(
            refused("https://evil.example.net/").to_string(),
            "webhooks.a.url: host \"evil.example.net\" is not on webhook_delivery.allowed_hosts"
        );
    }

    #[test]
    fn names_are_file_safe_and_unique() {
        let delivery = allowing(&["h"]);
        let err = validate(&[hook("../x", "http://h/")], &delivery).unwrap_err();
        assert!(matches!(err, WebhookConfigError::BadName { index: 0, .. }));
        let err =
            validate(&[hook("a", "http://h/"), hook("a", "http://h/")], &delivery).unwrap_err();
        assert!(matches!(
            err,
            WebhookConfigError::DuplicateName { index: 1, .. }
        ));
        let mut silent = hook("a", "http://h/");
        silent.events.clear();
        assert!(matches!(
            validate(&[silent], &delivery).unwrap_err(),
            WebhookConfigError::NoEvents { .. }
        ));
    }

    #[test]
    fn backoff_and_timeouts_must_make_sense() {
        let mut delivery = allowing(&[]);
        delivery.backoff_cap = SignedDuration::from_millis(10);
        assert_eq!(
            validate(&[], &delivery).unwrap_err(),
            WebhookConfigError::CapBelowBase
        );
        delivery.request_timeout = SignedDuration::ZERO;
        assert_eq!(
            validate(&[], &delivery).unwrap_err(),
            WebhookConfigError::NotPositive {
                field: "request_timeout"
            }
        );
    }

    #[test]
    fn a_minimum_level_must_be_on_the_ladder() {
        let policy = Policy::builtin();
        let mut webhook = hook("a", "http://h/");
        webhook.min_level = Some(Level::ManufacturerCac);
        validate_with_policy(std::slice::from_ref(&webhook), &policy).unwrap();
        webhook.min_level = Some(Level::ServiceManager);
        assert!(matches!(
            validate_with_policy(&[webhook], &policy).unwrap_err(),
            WebhookConfigError::LevelOffLadder { .. }
        ));
    }
}
