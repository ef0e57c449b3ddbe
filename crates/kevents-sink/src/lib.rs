//! Sinks: deliver events from the kevents store to Elasticsearch/OpenSearch, Loki, NATS
//! JetStream, syslog, webhooks, Slack, stdout and files, at least once.
//!
//! Each sink follows the store's change feed from its own durable cursor (the last
//! resourceVersion it fully delivered), so an outage costs lag, not events. Events carry a
//! stable idempotency key (`<cluster>/<uid>/<resourceVersion>`) that deduplicating sinks
//! (Elasticsearch `_id`, JetStream `Nats-Msg-Id`) use to make redelivery harmless.
#![warn(missing_docs)]

pub mod config;
pub mod delivery;
mod engine;
pub mod files;
pub mod layout;
pub mod metrics;
pub mod policy;
pub mod progress;
pub mod route;
pub mod sinks;
pub mod template;
pub mod worker;

pub use metrics::SinkMetrics;

use config::{PolicyName, SinkConfig, SinksFile, StartAt};
use delivery::Sink;
use files::{CursorFile, RotatingFile};
use kevents_model::EntriesFile;
use kevents_store::Store;
use policy::{Policy, PolicyState};
use progress::{Backoff, Batch, BatchLimits, Progress};
use route::Route;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use worker::{DeadLetter, Worker};

/// A sinks file that cannot be used.
pub type SinkError = kevents_model::EntriesFileError;

/// The sinks file: a list `sinks` of named entries.
const SINKS_FILE: EntriesFile = EntriesFile {
    list: "sinks",
    entry: "sink",
};

/// A sink ready to run: its destination and its delivery settings.
pub struct SinkSpec {
    /// Unique name.
    pub name: String,
    /// Type name (`elasticsearch`, `nats`, ...).
    pub kind: &'static str,
    /// The destination.
    pub sink: Arc<dyn Sink>,
    /// Which events it takes.
    pub route: Route,
    /// Update policy.
    pub policy: Policy,
    /// Most events the policy holds.
    pub max_held: usize,
    /// Most bytes of events the policy holds.
    pub max_held_bytes: usize,
    /// Where a new sink starts.
    pub start_at: StartAt,
    /// Batch limits.
    pub limits: BatchLimits,
    /// Batches in flight.
    pub concurrency: usize,
    /// Retry backoff.
    pub backoff: Backoff,
    /// Attempts before dead-lettering (0: unlimited).
    pub max_attempts: u32,
    /// Dead-letter file, when not the default.
    pub dead_letter_path: Option<PathBuf>,
}

/// Bytes of events a sink's policy holds back at most unless `maxHeldBytes` says otherwise.
pub const DEFAULT_MAX_HELD_BYTES: usize = 32 << 20;

fn micros(duration: Duration) -> i64 {
    i64::try_from(duration.as_micros()).unwrap_or(i64::MAX)
}

fn compile(mut config: SinkConfig) -> Result<SinkSpec, String> {
    let valid_name = !config.name.is_empty()
        && config.name.len() <= 64
        && config
            .name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if !valid_name {
        return Err("name: use 1-64 letters, digits, `-` or `_`".into());
    }
    let kind = config.take_kind()?;
    let sink = kind.build(&config.name).map_err(|e| e.to_string())?;
    let kind = kind.name();
    let route = match config.matches {
        Some(spec) => Route::compile(spec)?,
        None => Route::all(),
    };
    let duration = sinks::duration;
    let policy = match config.policy {
        PolicyName::EveryUpdate => Policy::EveryUpdate,
        PolicyName::FirstAndSummary => Policy::FirstAndSummary {
            interval: micros(
                duration(&config.summary_interval, Duration::from_secs(300))
                    .map_err(|e| format!("summaryInterval: {e}"))?,
            ),
        },
        PolicyName::SeriesFinal => Policy::SeriesFinal {
            quiet: micros(
                duration(&config.quiet_period, Duration::from_secs(60))
                    .map_err(|e| format!("quietPeriod: {e}"))?,
            ),
        },
    };
    let http = matches!(kind, "webhook" | "elasticsearch" | "loki");
    let concurrency = config.concurrency.unwrap_or(if http { 2 } else { 1 });
    if !(1..=64).contains(&concurrency) {
        return Err("concurrency: between 1 and 64".into());
    }
    if concurrency > 1 && !http {
        return Err(format!(
            "concurrency: a {kind} sink keeps one ordered connection; use 1"
        ));
    }
    let archive = kind == "archive";
    let (default_events, default_wait) = match kind {
        "slack" => (20, Duration::from_secs(1)),
        // An object per batch: fewer, larger objects are cheaper to store and to scan.
        "archive" => (10_000, Duration::from_secs(60)),
        _ => (500, Duration::from_secs(1)),
    };
    let limits = BatchLimits {
        max_events: config.batch.max_events.unwrap_or(default_events).max(1),
        max_bytes: config.batch.max_bytes.unwrap_or(4 << 20).max(1),
        max_wait: duration(&config.batch.max_wait, default_wait)
            .map_err(|e| format!("batch.maxWait: {e}"))?,
    };
    let backoff = Backoff {
        initial: duration(&config.retry.initial_backoff, Duration::from_millis(500))
            .map_err(|e| format!("retry.initialBackoff: {e}"))?,
        max: duration(&config.retry.max_backoff, Duration::from_secs(30))
            .map_err(|e| format!("retry.maxBackoff: {e}"))?,
    };
    Ok(SinkSpec {
        name: config.name,
        kind,
        sink,
        route,
        policy,
        max_held: config.max_held.unwrap_or(100_000),
        max_held_bytes: config.max_held_bytes.unwrap_or(DEFAULT_MAX_HELD_BYTES),
        start_at: config.start_at.unwrap_or(if archive {
            StartAt::Earliest
        } else {
            StartAt::Latest
        }),
        limits,
        concurrency,
        backoff,
        max_attempts: config.retry.max_attempts.unwrap_or(0),
        dead_letter_path: config.dead_letter_path,
    })
}

/// Parses and checks a sinks file's text; `file` names it in errors. Every template, URL,
/// duration and match rule is checked here.
pub fn parse(file: &str, text: &str) -> Result<Vec<SinkSpec>, SinkError> {
    SINKS_FILE.parse(
        file,
        text,
        |parsed: SinksFile| parsed.sinks,
        |config| config.name.clone(),
        compile,
    )
}

/// Reads and checks a sinks file.
pub fn load(path: &Path) -> Result<Vec<SinkSpec>, SinkError> {
    let (file, text) = SINKS_FILE.read(path)?;
    parse(&file, &text)
}

/// What running sinks need from the hub.
pub struct HubContext {
    /// The data directory; cursors and dead-letter files go to `<data-dir>/sinks/`.
    pub data_dir: PathBuf,
    /// The hub's cluster name, for events that carry none.
    pub hub_cluster: String,
    /// The store to follow.
    pub store: Store,
}

/// Starts every sink; the task ends when all have stopped after `shutdown` turned true.
pub fn start(
    specs: Vec<SinkSpec>,
    hub: HubContext,
    metrics: &SinkMetrics,
    shutdown: tokio::sync::watch::Receiver<bool>,
) -> tokio::task::JoinHandle<()> {
    let mut tasks = tokio::task::JoinSet::new();
    for spec in specs {
        let dir = hub.data_dir.join("sinks");
        let counters = metrics.for_sink(&spec.name, spec.kind);
        let dead_letter_path = spec
            .dead_letter_path
            .clone()
            .unwrap_or_else(|| dir.join(format!("{}.deadletter.ndjson", spec.name)));
        let worker = Arc::new(Worker {
            name: spec.name.clone(),
            sink: spec.sink,
            counters: counters.clone(),
            dead_letter: DeadLetter::new(
                &spec.name,
                RotatingFile::new(dead_letter_path, 100 << 20, 1),
            ),
            backoff: spec.backoff,
            max_attempts: spec.max_attempts,
        });
        let engine = engine::Engine {
            worker,
            store: hub.store.clone(),
            hub_cluster: hub.hub_cluster.clone(),
            route: spec.route,
            start_at: spec.start_at,
            concurrency: spec.concurrency,
            cursor_file: CursorFile::new(dir.join(format!("{}.cursor", spec.name))),
            counters,
            policy: PolicyState::new(spec.policy, spec.max_held, spec.max_held_bytes),
            batch: Batch::new(spec.limits),
            progress: Progress::default(),
            in_flight: tokio::task::JoinSet::new(),
            in_flight_since: Default::default(),
            saved: None,
            last_save: tokio::time::Instant::now(),
            ticker: tokio::time::interval(Duration::from_secs(1)),
            shutdown: shutdown.clone(),
        };
        tasks.spawn(engine.run());
    }
    tokio::spawn(async move { while tasks.join_next().await.is_some() {} })
}

#[cfg(test)]
mod tests;
