//! The sinks file (YAML), parsed strictly: unknown keys are errors, and everything that can be
//! wrong (URLs, durations, templates, match rules) is reported when the file is loaded.
//!
//! A sink is its common settings (name, policy, match, batching, retries) and its kind: the
//! one key among `webhook`, `slack`, `elasticsearch`, `loki`, `syslog`, `stdout`, `file`,
//! `nats` and `archive` that it gives. serde checks keys and types (errors carry the line);
//! [`SinkConfig::take_kind`] then checks that exactly one kind is given (errors name the
//! sink). Each kind's settings live with its sink in `sinks/<kind>/`.

pub use crate::sinks::elasticsearch::ElasticsearchConfig;
pub use crate::sinks::file::FileConfig;
pub use crate::sinks::loki::LokiConfig;
pub use crate::sinks::nats::NatsConfig;
pub use crate::sinks::slack::SlackConfig;
pub use crate::sinks::stdout::StdoutConfig;
pub use crate::sinks::syslog::{SyslogConfig, TlsConfig};
pub use crate::sinks::webhook::WebhookConfig;
pub use kevents_archive::ArchiveConfig;
use serde::Deserialize;
use std::path::PathBuf;

/// The whole file: a list of sinks.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SinksFile {
    /// The sinks, each with a unique name.
    pub sinks: Vec<SinkConfig>,
}

/// What a sink's kind key holds: the settings of that kind of destination.
#[derive(Debug)]
pub enum SinkKind {
    /// `webhook:` a generic JSON webhook.
    Webhook(WebhookConfig),
    /// `slack:` a Slack-compatible incoming webhook.
    Slack(SlackConfig),
    /// `elasticsearch:` Elasticsearch / OpenSearch `_bulk`.
    Elasticsearch(ElasticsearchConfig),
    /// `loki:` Loki's push API.
    Loki(LokiConfig),
    /// `syslog:` RFC 5424 over TCP or TLS.
    Syslog(SyslogConfig),
    /// `stdout:` NDJSON on standard output.
    Stdout(StdoutConfig),
    /// `file:` an NDJSON file with rotation.
    File(FileConfig),
    /// `nats:` NATS JetStream.
    Nats(NatsConfig),
    /// `archive:` Parquet in object storage (S3-compatible or a directory).
    Archive(ArchiveConfig),
}

/// The kind keys, in the order errors list them.
pub const KIND_KEYS: &[&str] = &[
    "webhook",
    "slack",
    "elasticsearch",
    "loki",
    "syslog",
    "stdout",
    "file",
    "nats",
    "archive",
];

impl SinkKind {
    /// The key that gives this kind, which is also its type name in metrics and logs.
    pub fn name(&self) -> &'static str {
        match self {
            SinkKind::Webhook(_) => "webhook",
            SinkKind::Slack(_) => "slack",
            SinkKind::Elasticsearch(_) => "elasticsearch",
            SinkKind::Loki(_) => "loki",
            SinkKind::Syslog(_) => "syslog",
            SinkKind::Stdout(_) => "stdout",
            SinkKind::File(_) => "file",
            SinkKind::Nats(_) => "nats",
            SinkKind::Archive(_) => "archive",
        }
    }
}

/// One sink as written: the common settings, and one key per kind of which exactly one must
/// be given ([`SinkConfig::take_kind`]).
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
    webhook: Option<WebhookConfig>,
    /// Slack-compatible incoming webhook settings.
    slack: Option<SlackConfig>,
    /// Elasticsearch / OpenSearch settings.
    elasticsearch: Option<ElasticsearchConfig>,
    /// Loki settings.
    loki: Option<LokiConfig>,
    /// Syslog (RFC 5424 over TCP) settings.
    syslog: Option<SyslogConfig>,
    /// NDJSON on standard output.
    stdout: Option<StdoutConfig>,
    /// NDJSON file settings.
    file: Option<FileConfig>,
    /// NATS JetStream settings.
    nats: Option<NatsConfig>,
    /// Parquet archive in object storage (S3-compatible or a directory).
    archive: Option<kevents_archive::ArchiveConfig>,
}

impl SinkConfig {
    /// Takes out the sink's kind; fails unless exactly one kind key is given.
    pub fn take_kind(&mut self) -> Result<SinkKind, String> {
        let given = [
            self.webhook.take().map(SinkKind::Webhook),
            self.slack.take().map(SinkKind::Slack),
            self.elasticsearch.take().map(SinkKind::Elasticsearch),
            self.loki.take().map(SinkKind::Loki),
            self.syslog.take().map(SinkKind::Syslog),
            self.stdout.take().map(SinkKind::Stdout),
            self.file.take().map(SinkKind::File),
            self.nats.take().map(SinkKind::Nats),
            self.archive.take().map(SinkKind::Archive),
        ];
        let mut given = given.into_iter().flatten();
        match (given.next(), given.next()) {
            (Some(kind), None) => Ok(kind),
            _ => Err(format!("give exactly one of {}", KIND_KEYS.join(", "))),
        }
    }
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
