//! The flags of `kevents serve`: listening, storage, API limits, security, alerting, the
//! embedded collector, correlation and the etcd endpoint.

use clap::{Args, ValueEnum};
use kevents_alert::rules::DEFAULT_MAX_GROUPS;
use kevents_alert::{EventLabel, KeyResourcePattern};
use kevents_model::parse_go_duration;
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
    /// Events not written for this long leave memory for the cold tier (sealed files read on
    /// demand) at the next checkpoint (Go duration).
    #[arg(long, env = "KEVENTS_COLD_AFTER", default_value = "30m", value_parser = duration_micros)]
    pub(super) cold_after: i64,
    /// Most events kept in memory; past 125% of it the ones written longest ago move to the
    /// cold tier, and at twice it writes wait for them to move.
    #[arg(long, env = "KEVENTS_HOT_EVENTS", default_value_t = 100_000)]
    pub(super) hot_events: usize,
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
    /// How many recent changes are kept for watches to resume from; a watch or list at an
    /// older resourceVersion gets `410 Expired` and relists.
    #[arg(long, env = "KEVENTS_WATCH_HISTORY", default_value_t = 200_000, value_parser = clap::value_parser!(u64).range(1..))]
    pub(super) watch_history: u64,
    /// Most memory the watch history may take, counted by the events its changes hold; the
    /// oldest changes are dropped past it (a watch from before them gets `410 Expired`).
    /// Bytes, or with a unit: `64MiB`, `1GiB`.
    #[arg(long, env = "KEVENTS_WATCH_HISTORY_BYTES", default_value = "256MiB", value_parser = kevents_store::parse_size)]
    pub(super) watch_history_bytes: u64,
    /// Most memory decoded cold blocks may take for later reads (counted by their events);
    /// the blocks used longest ago are dropped past it. Bytes, or with a unit: `64MiB`.
    #[arg(long, env = "KEVENTS_BLOCK_CACHE_BYTES", default_value = "64MiB", value_parser = kevents_store::parse_size)]
    pub(super) block_cache_bytes: u64,
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
    /// Most alert groups the rule engine holds, over all rules; occurrences that would open
    /// more are counted in `kevents_alert_group_overflow_total`.
    #[arg(long, env = "KEVENTS_ALERT_MAX_GROUPS", default_value_t = DEFAULT_MAX_GROUPS)]
    pub(super) alert_max_groups: usize,
    /// How often firing alerts are re-sent to Alertmanager (Go duration).
    #[arg(long, env = "KEVENTS_ALERT_RESEND_INTERVAL", default_value = "30s", value_parser = duration_micros)]
    pub(super) alert_resend_interval: i64,
    /// Sinks to deliver events to (YAML; see docs/sinks.md).
    #[arg(long, env = "KEVENTS_SINKS")]
    pub(super) sinks: Option<PathBuf>,
    #[command(flatten)]
    pub(super) collect: crate::embedded::EmbeddedCollectArgs,
    #[command(flatten)]
    pub(super) correlation: crate::correlation::CorrelationArgs,
    #[command(flatten)]
    pub(super) etcd: crate::etcd::EtcdArgs,
}

fn duration_micros(text: &str) -> Result<i64, String> {
    let micros = parse_go_duration(text)?;
    if micros <= 0 {
        return Err(format!("duration must be positive: {text:?}"));
    }
    Ok(micros)
}
