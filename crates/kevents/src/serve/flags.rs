//! The flags of `kevents serve`: listening, storage, API limits, security, alerting, sinks,
//! and the flattened groups of memory, the embedded collector, correlation, the etcd endpoint,
//! triggers and the web UI.

use crate::duration_flag::duration_micros;
use clap::{Args, ValueEnum};
use kevents_alert::{EventLabel, KeyResourcePattern};
use std::net::SocketAddr;
use std::path::PathBuf;

/// Log output format.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// Flags of `kevents serve`; each also reads `KEVENTS_<NAME>` from the environment.
#[derive(Args, Debug)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "KEVENTS_LISTEN", default_value = "127.0.0.1:8080")]
    pub(super) listen: SocketAddr,
    /// Directory holding the event store.
    #[arg(long, env = "KEVENTS_DATA_DIR", default_value = "./kevents-data")]
    pub(super) data_dir: PathBuf,
    /// How long an event is kept after its last update (Go duration, like the apiserver's flag).
    #[arg(long, env = "KEVENTS_EVENT_TTL", default_value = "168h", value_parser = duration_micros)]
    pub(super) event_ttl: i64,
    /// Log written since the last checkpoint that triggers the next one (also at least twice
    /// the last hot checkpoint). Bytes or `128MiB`.
    #[arg(long, env = "KEVENTS_CHECKPOINT_LOG_BYTES", default_value = "128MiB", value_parser = kevents_store::parse_size)]
    pub(super) checkpoint_log_bytes: u64,
    /// Log format.
    #[arg(long, env = "KEVENTS_LOG_FORMAT", value_enum, default_value = "text")]
    pub(super) log_format: LogFormat,
    /// Interval between bookmarks on watches that allow them (Go duration).
    #[arg(long, env = "KEVENTS_WATCH_BOOKMARK_INTERVAL", default_value = "1m", value_parser = duration_micros)]
    pub(super) watch_bookmark_interval: i64,
    /// Largest accepted request body in bytes.
    #[arg(long, env = "KEVENTS_MAX_REQUEST_BODY_BYTES", default_value_t = 3 * 1024 * 1024)]
    pub(super) max_request_body_bytes: usize,
    /// Most disk the event store may take (log and checkpoints): past it the events written
    /// longest ago are deleted early, until the store fits in 90% of it. Bytes, or with a unit:
    /// `512MiB`, `10GiB`.
    #[arg(long, env = "KEVENTS_RETENTION_SIZE", default_value = "10GiB", value_parser = kevents_store::parse_size)]
    pub(super) retention_size: u64,
    /// Name of the cluster this hub's events belong to (the `cluster` metric label; collected
    /// clusters have their own names).
    #[arg(long, env = "KEVENTS_CLUSTER_NAME", default_value = "default")]
    pub(super) cluster_name: String,
    /// Labels of `kube_event_count` and `kube_event_unique_events_total` (comma-separated).
    #[arg(
        long,
        env = "KEVENTS_METRICS_LABELS",
        value_delimiter = ',',
        default_value = "type,reason,namespace,involved_object_kind,source,cluster"
    )]
    pub(super) metrics_labels: Vec<EventLabel>,
    /// Most label combinations per event series; further values are folded into `other`.
    #[arg(long, env = "KEVENTS_METRICS_MAX_SERIES", default_value_t = 10_000)]
    pub(super) metrics_max_series: usize,
    /// Rule files or directories of `*.yaml` (repeatable); reloaded when they change.
    #[arg(long = "rules", env = "KEVENTS_RULES", value_delimiter = ',')]
    pub(super) rules: Vec<PathBuf>,
    /// Load the built-in rule pack (FailedScheduling, NodeNotReady, OOMKilled, ...).
    #[arg(long, env = "KEVENTS_BUILTIN_RULES", default_value_t = true, action = clap::ArgAction::Set)]
    pub(super) builtin_rules: bool,
    /// Alertmanager to send alerts to (`http[s]://host:port`, repeatable).
    #[arg(
        long = "alertmanager-url",
        env = "KEVENTS_ALERTMANAGER_URL",
        value_delimiter = ','
    )]
    pub(super) alertmanager_urls: Vec<String>,
    /// CA certificates (PEM) trusted besides the system's roots for `https://` Alertmanagers.
    #[arg(long, env = "KEVENTS_ALERTMANAGER_CA_FILE")]
    pub(super) alertmanager_ca_file: Option<PathBuf>,
    /// Webhook to POST alert notifications to (repeatable).
    #[arg(
        long = "webhook-url",
        env = "KEVENTS_WEBHOOK_URL",
        value_delimiter = ','
    )]
    pub(super) webhook_urls: Vec<String>,
    /// Secret for the `X-Kevents-Signature` HMAC-SHA256 header of webhook requests.
    #[arg(long, env = "KEVENTS_WEBHOOK_HMAC_SECRET", hide_env_values = true)]
    pub(super) webhook_hmac_secret: Option<String>,
    /// CA certificates (PEM) trusted besides the system's roots for `https://` webhooks.
    #[arg(long, env = "KEVENTS_WEBHOOK_CA_FILE")]
    pub(super) webhook_ca_file: Option<PathBuf>,
    /// A key resource, `cluster/namespace/kind/name` with globs (repeatable): gets per-object
    /// Warning gauges, and rules with `keyResources: true` watch only these.
    #[arg(
        long = "key-resource",
        env = "KEVENTS_KEY_RESOURCES",
        value_delimiter = ','
    )]
    pub(super) key_resources: Vec<KeyResourcePattern>,
    /// How often rules are evaluated (Go duration).
    #[arg(long, env = "KEVENTS_RULE_EVALUATION_INTERVAL", default_value = "1s", value_parser = duration_micros)]
    pub(super) rule_evaluation_interval: i64,
    /// Serve HTTPS with this certificate (PEM, chain first); reloaded when it changes.
    #[arg(long, env = "KEVENTS_TLS_CERT_FILE", requires = "tls_private_key_file")]
    pub(super) tls_cert_file: Option<PathBuf>,
    /// The private key of `--tls-cert-file` (PEM).
    #[arg(long, env = "KEVENTS_TLS_PRIVATE_KEY_FILE", requires = "tls_cert_file")]
    pub(super) tls_private_key_file: Option<PathBuf>,
    /// Bearer tokens in the apiserver's CSV format (`token,user,uid,"group1,group2"`); turns
    /// authentication on; reloaded when it changes.
    #[arg(long, env = "KEVENTS_TOKEN_AUTH_FILE")]
    pub(super) token_auth_file: Option<PathBuf>,
    /// Authorization policy (YAML); with authentication on, what it does not grant is denied.
    #[arg(long, env = "KEVENTS_AUTHORIZATION_POLICY_FILE")]
    pub(super) authorization_policy_file: Option<PathBuf>,
    /// Accept client certificates signed by this CA (PEM); user = CN, groups = O. Turns
    /// authentication on (bearer tokens keep working beside it).
    #[arg(long, env = "KEVENTS_CLIENT_CA_FILE", requires = "tls_cert_file")]
    pub(super) client_ca_file: Option<PathBuf>,
    /// Allow listening beyond loopback without authentication.
    #[arg(long, env = "KEVENTS_INSECURE_ALLOW_UNAUTHENTICATED")]
    pub(super) insecure_allow_unauthenticated: bool,
    /// Requests per second allowed per client address (0: no limit; bursts of twice that).
    #[arg(long, env = "KEVENTS_CLIENT_RATE_LIMIT", default_value_t = 0.0)]
    pub(super) client_rate_limit: f64,
    /// Most open watches per client address (0: no limit).
    #[arg(long, env = "KEVENTS_MAX_WATCHES_PER_CLIENT", default_value_t = 1024)]
    pub(super) max_watches_per_client: usize,
    /// Write an audit log (JSON lines) of every write and denied request here.
    #[arg(long, env = "KEVENTS_AUDIT_LOG_PATH")]
    pub(super) audit_log_path: Option<PathBuf>,
    /// Rotate the audit log past this many MiB.
    #[arg(long, env = "KEVENTS_AUDIT_LOG_MAXSIZE", default_value_t = 100)]
    pub(super) audit_log_maxsize: u64,
    /// Rotated audit logs to keep.
    #[arg(long, env = "KEVENTS_AUDIT_LOG_MAXBACKUP", default_value_t = 5)]
    pub(super) audit_log_maxbackup: usize,
    /// How often firing alerts are re-sent to Alertmanager (Go duration).
    #[arg(long, env = "KEVENTS_ALERT_RESEND_INTERVAL", default_value = "30s", value_parser = duration_micros)]
    pub(super) alert_resend_interval: i64,
    /// Sinks to deliver events to (YAML; see docs/sinks.md).
    #[arg(long, env = "KEVENTS_SINKS")]
    pub(super) sinks: Option<PathBuf>,
    #[command(flatten)]
    pub(super) memory: crate::memory::MemoryArgs,
    #[command(flatten)]
    pub(super) collect: crate::embedded::EmbeddedCollectArgs,
    #[command(flatten)]
    pub(super) correlation: crate::correlation::CorrelationArgs,
    #[command(flatten)]
    pub(super) etcd: crate::etcd::EtcdArgs,
    #[command(flatten)]
    pub(super) triggers: crate::triggers::TriggerArgs,
    #[command(flatten)]
    pub(super) ui: crate::ui::UiArgs,
}
