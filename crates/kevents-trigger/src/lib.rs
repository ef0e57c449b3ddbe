//! Triggers: when events match (optionally a count within a window), run an action — a
//! CloudEvent to a webhook, a Kubernetes object created in the event's cluster, a Slack
//! message — exactly once per firing, with a dedupe key, a cooldown per key, a rate limit per
//! trigger, dry runs and a kill switch. Every firing is a `kevents.io/v1` `TriggerRun`.
//!
//! Exactly once: the engine follows the store from a durable cursor (like a sink) and journals
//! each firing, with its action rendered and its idempotency key, before the cursor passes the
//! change; the executor retries from the journal, also after a restart, always with that key
//! (the CloudEvent `id`, the created object's name).
#![warn(missing_docs)]

pub mod actions;
pub mod compile;
pub mod config;
pub mod control;
pub mod engine;
pub mod executor;
pub mod fire;
pub mod journal;
pub mod ledger;
pub mod run;
pub mod safety;
pub mod template;

use compile::TriggerSpec;
use config::TriggersFile;
use kevents_model::EntriesFile;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

/// A triggers file that cannot be used.
pub type TriggerError = kevents_model::EntriesFileError;

/// The triggers file: a list `triggers` of named entries.
const TRIGGERS_FILE: EntriesFile = EntriesFile {
    list: "triggers",
    entry: "trigger",
};

/// Parses and checks a triggers file's text; `file` names it in errors.
pub fn parse(file: &str, text: &str) -> Result<Vec<TriggerSpec>, TriggerError> {
    TRIGGERS_FILE.parse(
        file,
        text,
        |parsed: TriggersFile| parsed.triggers,
        |config| config.name.clone(),
        compile::compile,
    )
}

/// Reads and checks a triggers file.
pub fn load(path: &Path) -> Result<Vec<TriggerSpec>, TriggerError> {
    let (file, text) = TRIGGERS_FILE.read(path)?;
    parse(&file, &text)
}

/// What running triggers needs from the hub.
pub struct HubContext {
    /// The data directory; runs, cursor, kill switches and dead letters go to
    /// `<data-dir>/triggers/`.
    pub data_dir: PathBuf,
    /// The hub's cluster name, for events that carry none.
    pub hub_cluster: String,
    /// The store to follow.
    pub store: kevents_store::Store,
    /// Where runs are served (`AppState::trigger_runs`).
    pub runs: Arc<kevents_api::ServedObjects>,
    /// Where triggers are served (`AppState::triggers`).
    pub triggers: Arc<kevents_api::ServedObjects>,
    /// The audit log's owner.
    pub security: Arc<kevents_api::Security>,
    /// Credentials for the Kubernetes action.
    pub clusters: actions::kubernetes::Clusters,
    /// Every evaluation's alerts, for alert triggers (`AlertingConfig::published`).
    pub alerts: Option<tokio::sync::broadcast::Receiver<Arc<Vec<kevents_alert::Alert>>>>,
}

fn stamp(path: &Path) -> Option<(SystemTime, u64)> {
    let metadata = std::fs::metadata(path).ok()?;
    Some((metadata.modified().ok()?, metadata.len()))
}

/// Starts the triggers of `path` (already loaded as `specs`); the file is reloaded when it
/// changes (a file that no longer loads is logged and the running triggers stay). The task
/// ends after `shutdown` turned true.
pub fn start(
    path: PathBuf,
    specs: Vec<TriggerSpec>,
    hub: HubContext,
    shutdown: tokio::sync::watch::Receiver<bool>,
) -> std::io::Result<tokio::task::JoinHandle<()>> {
    let dir = hub.data_dir.join("triggers");
    let (ledger, runs) = ledger::Ledger::open(&dir, hub.runs, Some(hub.security))?;
    let ledger = Arc::new(ledger);
    let control = Arc::new(control::Control::open(
        dir.join("paused.json"),
        hub.triggers.clone(),
    ));
    {
        let served = control.clone();
        hub.triggers
            .set_patcher(Arc::new(move |name, patch| served.patch(name, patch)));
    }
    let set: compile::TriggerSet = Arc::new(specs.into_iter().map(Arc::new).collect());
    control.publish(&set);
    let (set_sender, set_receiver) = tokio::sync::watch::channel(set);
    let mut states: HashMap<String, safety::SafetyState> = HashMap::new();
    let (pending_sender, pending_receiver) = tokio::sync::mpsc::unbounded_channel();
    for run in &runs {
        let window = kevents_model::Micros::parse(&run.spec.window_start).map_or(0, |m| m.0);
        states.entry(run.spec.trigger.clone()).or_default().fired(
            &run.spec.dedupe_key,
            window,
            &run.metadata.name,
        );
        if run.status.phase == run::Phase::Pending {
            let _ = pending_sender.send(run.metadata.name.clone());
        }
    }
    let executor = Arc::new(executor::Executor {
        ledger: ledger.clone(),
        triggers: set_receiver.clone(),
        clusters: Arc::new(hub.clusters),
        dead_letter: parking_lot::Mutex::new(kevents_sink::files::RotatingFile::new(
            dir.join("deadletter.ndjson"),
            100 << 20,
            1,
        )),
    });
    let engine = engine::Engine {
        triggers: set_receiver,
        store: hub.store,
        hub_cluster: hub.hub_cluster,
        ledger,
        control: control.clone(),
        pending: pending_sender,
        cursor_file: kevents_sink::files::CursorFile::new(dir.join("cursor")),
        states,
        alerts: hub.alerts,
        shutdown: shutdown.clone(),
    };
    let executing = tokio::spawn(executor.run(pending_receiver, shutdown.clone()));
    let following = tokio::spawn(engine.run());
    let reloading = tokio::spawn(reload(path, set_sender, control, shutdown));
    Ok(tokio::spawn(async move {
        let _ = following.await;
        let _ = executing.await;
        let _ = reloading.await;
    }))
}

async fn reload(
    path: PathBuf,
    sender: tokio::sync::watch::Sender<compile::TriggerSet>,
    control: Arc<control::Control>,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) {
    let mut seen = stamp(&path);
    let mut ticker = tokio::time::interval(Duration::from_secs(2));
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            _ = shutdown.changed() => return,
        }
        let now = stamp(&path);
        if now == seen {
            continue;
        }
        seen = now;
        match load(&path) {
            Ok(specs) => {
                let set: compile::TriggerSet = Arc::new(specs.into_iter().map(Arc::new).collect());
                tracing::info!(file = %path.display(), triggers = set.len(), "triggers reloaded");
                control.publish(&set);
                let _ = sender.send(set);
            }
            Err(e) => {
                tracing::error!(error = %e, "the triggers file no longer loads; keeping the running triggers")
            }
        }
    }
}
