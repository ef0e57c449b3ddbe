//! The sinks file (YAML), parsed strictly: unknown keys are errors, and everything that can be
//! wrong (URLs, durations, templates, match rules) is reported when the file is loaded.

use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// The whole file: a list of sinks.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SinksFile {
    /// The sinks, each with a unique name.
    pub sinks: Vec<SinkConfig>,
}

/// One sink as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SinkConfig {
    /// Unique name: letters, digits, `-` and `_`; names the cursor and dead-letter files.
    pub name: String,
    /// `every-update` (default), `first-and-summary` or `series-final`.
    #[serde(default)]
    pub policy: PolicyName,
    /// `first-and-summary`: how often changed events are summarized (default 5m).
    pub summary_interval: Option<String>,
    /// `series-final`: how long an event must stay unchanged to be final (default 1m).
    pub quiet_period: Option<String>,
    /// Most events held back by a policy at once; past it the oldest is sent early (100000).
    pub max_held: Option<usize>,
    /// Most bytes of events held back by a policy at once; past it the oldest are sent early
    /// (32 MiB).
    pub max_held_bytes: Option<usize>,
    /// Where a new sink (no cursor yet) starts: `latest` or `earliest` (default `latest`;
    /// `earliest` for an archive).
    pub start_at: Option<StartAt>,
    /// Which events this sink gets; the alert rules' `match` syntax. All when absent.
    #[serde(default, rename = "match")]
    pub matches: Option<kevents_model::MatchSpec>,
    /// Batching limits.
    #[serde(default)]
    pub batch: BatchConfig,
    /// Batches in flight at once (default 2 for webhook, Elasticsearch and Loki, else 1).
    pub concurrency: Option<usize>,
    /// Retry settings.
    #[serde(default)]
    pub retry: RetryConfig,
    /// Dead-letter file (default `<data-dir>/sinks/<name>.deadletter.ndjson`).
    pub dead_letter_path: Option<PathBuf>,
    /// Generic webhook settings.
    pub webhook: Option<WebhookConfig>,
    /// Slack-compatible incoming webhook settings.
    pub slack: Option<SlackConfig>,
    /// Elasticsearch / OpenSearch settings.
    pub elasticsearch: Option<ElasticsearchConfig>,
    /// Loki settings.
    pub loki: Option<LokiConfig>,
    /// Syslog (RFC 5424 over TCP) settings.
    pub syslog: Option<SyslogConfig>,
    /// NDJSON on standard output.
    pub stdout: Option<StdoutConfig>,
    /// NDJSON file settings.
    pub file: Option<FileConfig>,
    /// NATS JetStream settings.
    pub nats: Option<NatsConfig>,
    /// Parquet archive in object storage (S3-compatible or a directory).
    pub archive: Option<kevents_archive::ArchiveConfig>,
}

/// The update policy's name.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PolicyName {
    /// Every create and count change.
    #[default]
    EveryUpdate,
    /// The first occurrence at once, then periodic summaries.
    FirstAndSummary,
    /// Only once an event has been quiet for `quietPeriod`.
    SeriesFinal,
}

/// Where a sink without a cursor starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum StartAt {
    /// Changes committed after the hub started.
    Latest,
    /// Every stored event first, then changes.
    Earliest,
}

/// Batching limits; a batch is sent when any is reached.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct BatchConfig {
    /// Events per batch (default 500; Slack 20).
    pub max_events: Option<usize>,
    /// Encoded bytes per batch (default 4 MiB).
    pub max_bytes: Option<usize>,
    /// Longest wait for a batch to fill (default 1s).
    pub max_wait: Option<String>,
}

/// Retry settings.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RetryConfig {
    /// First backoff (default 500ms), doubled per attempt.
    pub initial_backoff: Option<String>,
    /// Longest backoff (default 30s).
    pub max_backoff: Option<String>,
    /// Attempts before an event is dead-lettered; 0 (default) retries for ever.
    pub max_attempts: Option<u32>,
}

/// Generic webhook.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct WebhookConfig {
    /// `http[s]://host[:port]/path`.
    pub url: String,
    /// For `https://`: CA certificates (PEM) trusted besides the system's roots.
    pub ca_file: Option<PathBuf>,
    /// Secret for the `X-Kevents-Signature: sha256=<hex>` header.
    pub hmac_secret: Option<String>,
    /// Extra request headers.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// Request timeout (default 10s).
    pub timeout: Option<String>,
}

/// Slack-compatible incoming webhook.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SlackConfig {
    /// The incoming webhook URL (`https://hooks.slack.com/...`, or `http://`).
    pub url: String,
    /// For `https://`: CA certificates (PEM) trusted besides the system's roots.
    pub ca_file: Option<PathBuf>,
    /// The line per event, with `{{ field }}` placeholders (see docs/sinks.md).
    pub text: Option<String>,
    /// Request timeout (default 10s).
    pub timeout: Option<String>,
}

/// Elasticsearch / OpenSearch `_bulk`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ElasticsearchConfig {
    /// Base URL, e.g. `http://127.0.0.1:9200` or `https://es.example:9200`.
    pub url: String,
    /// For `https://`: CA certificates (PEM) trusted besides the system's roots.
    pub ca_file: Option<PathBuf>,
    /// Index name with `%Y`, `%m`, `%d` of the event's time (default `kevents-%Y.%m.%d`).
    pub index: Option<String>,
    /// Install an index template on start (default true).
    pub install_template: Option<bool>,
    /// The template's name (default `kevents`).
    pub template_name: Option<String>,
    /// Basic authentication user.
    pub username: Option<String>,
    /// Basic authentication password.
    pub password: Option<String>,
    /// Request timeout (default 30s).
    pub timeout: Option<String>,
}

/// Loki push API.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct LokiConfig {
    /// Base URL, e.g. `http://127.0.0.1:3100` or `https://loki.example`.
    pub url: String,
    /// For `https://`: CA certificates (PEM) trusted besides the system's roots.
    pub ca_file: Option<PathBuf>,
    /// Event fields that become stream labels (default cluster, namespace, type, kind).
    pub labels: Option<Vec<String>>,
    /// Fixed stream labels (default `job: kevents`).
    pub static_labels: Option<BTreeMap<String, String>>,
    /// `X-Scope-OrgID` tenant.
    pub tenant: Option<String>,
    /// Request timeout (default 10s).
    pub timeout: Option<String>,
}

/// Syslog RFC 5424 over TCP with octet-counting framing.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SyslogConfig {
    /// `host:port` of the receiver.
    pub address: String,
    /// Facility name (default `user`): kern, user, daemon, auth, syslog, local0..local7.
    pub facility: Option<String>,
    /// APP-NAME (default `kevents`).
    pub app_name: Option<String>,
    /// Structured-data ID (default `kevents@32473`).
    pub sd_id: Option<String>,
    /// TLS (RFC 5425) when set.
    pub tls: Option<TlsConfig>,
}

/// TLS client settings.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct TlsConfig {
    /// CA certificates (PEM) that sign the receiver's certificate.
    pub ca_file: PathBuf,
    /// Name to verify (default: the host of `address`).
    pub server_name: Option<String>,
}

/// NDJSON on standard output.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StdoutConfig {}

/// NDJSON file with size-based rotation.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct FileConfig {
    /// The file; rotated files get `.1`, `.2`, ... appended.
    pub path: PathBuf,
    /// Rotate past this many MiB (default 100).
    pub max_size_mib: Option<u64>,
    /// Rotated files kept (default 5).
    pub max_backups: Option<usize>,
}

/// NATS JetStream.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct NatsConfig {
    /// `nats://host:port` (default port 4222).
    pub url: String,
    /// Subject prefix (default `kevents`): `<prefix>.<cluster>.<namespace>.<type>`.
    pub subject_prefix: Option<String>,
    /// Create this stream over `<prefix>.>` on start when it does not exist.
    pub stream: Option<String>,
    /// Token authentication.
    pub token: Option<String>,
    /// User authentication.
    pub user: Option<String>,
    /// Password of `user`.
    pub password: Option<String>,
    /// How long to wait for a batch's publish acks (default 10s).
    pub ack_timeout: Option<String>,
}
