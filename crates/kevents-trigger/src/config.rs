//! The triggers file (YAML), parsed strictly: unknown keys are errors. Everything that can be
//! wrong (names, match rules, templates, URLs, durations) is checked when the file is loaded
//! (`compile.rs`).

use kevents_sink::config::{RetryConfig, SlackConfig, WebhookConfig};
use serde::Deserialize;
use std::path::PathBuf;

/// The whole file: a list of triggers.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TriggersFile {
    /// The triggers, each with a unique name.
    pub triggers: Vec<TriggerConfig>,
}

/// One trigger as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct TriggerConfig {
    /// Unique name: lowercase letters, digits and `-`, at most 40; names its runs.
    pub name: String,
    /// What fires it.
    pub when: WhenConfig,
    /// What it does.
    pub action: ActionConfig,
    /// Dedupe key, cooldown, rate limit, dry run.
    #[serde(default)]
    pub safety: SafetyConfig,
    /// Retries of a failed action (the sinks' settings; defaults 1s, 1m and 10 attempts).
    #[serde(default)]
    pub retry: RetryConfig,
}

/// What fires a trigger: matching events (optionally only once their occurrences per dedupe
/// key reach a count within a window), or an alert of the rule engine starting or resolving.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct WhenConfig {
    /// The events that count: the `match` language of rules and sinks (cluster, namespace,
    /// type, reason, kind, name, source, labels, message regex).
    pub event: Option<kevents_model::MatchSpec>,
    /// Fire when the matching occurrences of one dedupe key reach `count` within `within`.
    pub series: Option<SeriesConfig>,
    /// Fire when an alert of the rule engine starts or resolves.
    pub alert: Option<AlertConfig>,
}

/// Alerts that fire a trigger.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct AlertConfig {
    /// Globs of the rule names (`alertname`); all when absent.
    #[serde(default)]
    pub name: Vec<String>,
    /// Globs the alert's labels must match.
    #[serde(default)]
    pub labels: std::collections::BTreeMap<String, String>,
    /// `firing` (default: when the alert starts) or `resolved`.
    #[serde(default)]
    pub on: AlertEdge,
}

/// Which edge of an alert fires.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AlertEdge {
    /// The alert starts firing.
    #[default]
    Firing,
    /// The alert resolves.
    Resolved,
}

/// A count within a window (`count >= 5 within 10m`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SeriesConfig {
    /// Occurrences needed.
    pub count: u64,
    /// The window (Go duration).
    pub within: String,
}

/// The action: exactly one of the three.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ActionConfig {
    /// POST a CloudEvent (structured JSON) to a webhook, signed like the webhook sink.
    pub webhook: Option<WebhookConfig>,
    /// Create a Kubernetes object from a template in the event's cluster.
    pub kubernetes: Option<KubernetesConfig>,
    /// Post a message to a Slack-compatible incoming webhook.
    pub slack: Option<SlackConfig>,
}

/// Creating a Kubernetes object.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct KubernetesConfig {
    /// The kubeconfig context to create it through; without one, the credentials of the
    /// hub's collector for the event's cluster.
    pub context: Option<String>,
    /// The kubeconfig holding `context` (default: the hub's `--collect-kubeconfig`, else
    /// `$KUBECONFIG`, else `~/.kube/config`).
    pub kubeconfig: Option<PathBuf>,
    /// The object, with `{{ field }}` placeholders in its strings.
    pub object: serde_json::Value,
}

/// Safety settings.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SafetyConfig {
    /// Template of the dedupe key (default `{{ cluster }}/{{ namespace }}/{{ object }}/{{ reason }}`).
    pub dedupe_key: Option<String>,
    /// After a firing, the same key does not fire again for this long (default 10m).
    pub cooldown: Option<String>,
    /// Most firings of this trigger per period, over all keys.
    pub rate_limit: Option<RateLimitConfig>,
    /// Evaluate and record runs, but do nothing.
    #[serde(default)]
    pub dry_run: bool,
}

/// A rate limit.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RateLimitConfig {
    /// Firings allowed per period.
    pub count: u32,
    /// The period (Go duration, default 1m).
    pub per: Option<String>,
}
