//! The trigger loop: follows the store's change feed from a durable cursor, asks each trigger
//! whether a change fires it (`safety.rs`), and records each firing as a run before the cursor
//! may pass the change. A restart re-reads the changes after the cursor; their firings are
//! either in the journal already (the cooldown suppresses them again) or made anew with the
//! same idempotency key.

use crate::compile::{TriggerSet, TriggerSpec, When};
use crate::control::Control;
use crate::fire::{Firing, Source};
use crate::ledger::Ledger;
use crate::safety::{Decision, SafetyState};
use crate::template::{alert_values, event_values, Values};
use kevents_alert::rules::occurrences_added;
use kevents_sink::files::CursorFile;
use kevents_store::{Change, ChangeType, EventStore, Store};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

/// The loop's state.
pub struct Engine {
    /// The current triggers.
    pub triggers: tokio::sync::watch::Receiver<TriggerSet>,
    /// The store to follow.
    pub store: Store,
    /// The hub's cluster name, for events that carry none.
    pub hub_cluster: String,
    /// The runs.
    pub ledger: Arc<Ledger>,
    /// Kill switches and the `triggers` objects.
    pub control: Arc<Control>,
    /// Runs to carry out.
    pub pending: tokio::sync::mpsc::UnboundedSender<String>,
    /// The durable cursor.
    pub cursor_file: CursorFile,
    /// Per trigger: cooldowns, rate limit, series windows.
    pub states: HashMap<String, SafetyState>,
    /// Every evaluation's alerts, from the rule engine.
    pub alerts: Option<tokio::sync::broadcast::Receiver<Arc<Vec<kevents_alert::Alert>>>>,
    /// Turns true at shutdown.
    pub shutdown: tokio::sync::watch::Receiver<bool>,
}

impl Engine {
    /// Runs until shutdown.
    pub async fn run(mut self) {
        let mut cursor = match self.cursor_file.load() {
            Ok(Some(cursor)) => cursor,
            Ok(None) => self.store.resource_version(),
            Err(e) => {
                tracing::warn!(error = %e, "unreadable trigger cursor; starting from the current version");
                self.store.resource_version()
            }
        };
        let mut saved = None;
        self.save(cursor, &mut saved);
        let mut changes = self.store.follow(cursor);
        let mut ticker = tokio::time::interval(Duration::from_secs(1));
        tracing::info!(cursor, "triggers started");
        loop {
            tokio::select! {
                next = changes.next() => match next {
                    Some(Ok(change)) => {
                        if self.accept(&change).await.is_err() {
                            break;
                        }
                        cursor = change.resource_version;
                    }
                    Some(Err(too_old)) => {
                        tracing::warn!(lost_from = too_old.requested + 1, lost_to = too_old.oldest,
                            "triggers fell behind the retained history; changes in this range are not evaluated");
                        changes.skip_to(too_old.oldest);
                        cursor = too_old.oldest;
                    }
                    None => break,
                },
                alerts = next_alerts(&mut self.alerts) => {
                    if let Some(alerts) = alerts {
                        if self.on_alerts(&alerts).await.is_err() {
                            break;
                        }
                    }
                }
                _ = ticker.tick() => {
                    self.ledger.flush();
                    self.control.publish_counts();
                    self.save(cursor, &mut saved);
                }
                _ = self.shutdown.changed() => break,
            }
        }
        self.ledger.flush();
        self.save(cursor, &mut saved);
        tracing::info!(cursor, "triggers stopped");
    }

    fn save(&self, cursor: u64, saved: &mut Option<u64>) {
        if *saved == Some(cursor) {
            return;
        }
        match self.cursor_file.save(cursor) {
            Ok(()) => *saved = Some(cursor),
            Err(e) => tracing::warn!(error = %e, "saving the trigger cursor failed"),
        }
    }

    /// Evaluates every trigger on one change; `Err` when shutting down before a firing could
    /// be recorded (the cursor then stays before the change).
    async fn accept(&mut self, change: &Change) -> Result<(), ()> {
        if change.change_type == ChangeType::Deleted {
            return Ok(());
        }
        let occurrences = occurrences_added(change);
        if occurrences == 0 {
            return Ok(());
        }
        let record = &change.object.record;
        let triggers = self.triggers.borrow().clone();
        for spec in triggers.iter() {
            let When::Event(route) = &spec.when else {
                continue;
            };
            // The matcher takes the event's own cluster (the hub's for its own events).
            let cluster = record.cluster_or(&self.hub_cluster).to_string();
            if !route.matches(record, &cluster) {
                continue;
            }
            let values = event_values(record, &cluster);
            let dedupe_key = spec.dedupe_key.render(&values);
            let source = Source::Event(&change.object);
            let at = change.committed_at.0;
            self.settle(spec, source, values, dedupe_key, at, occurrences)
                .await?;
        }
        Ok(())
    }

    /// Evaluates the alert triggers on one evaluation's alerts. An alert instance fires a
    /// trigger once: its idempotency key comes from its start time, which the rule engine
    /// keeps across restarts, so the alert sent again after a restart finds its run.
    async fn on_alerts(&mut self, alerts: &[kevents_alert::Alert]) -> Result<(), ()> {
        let triggers = self.triggers.borrow().clone();
        for spec in triggers.iter() {
            let When::Alert(matcher) = &spec.when else {
                continue;
            };
            for alert in alerts.iter().filter(|a| matcher.matches(a)) {
                let values = alert_values(alert, &self.hub_cluster);
                let dedupe_key = spec.dedupe_key.render(&values);
                let at = alert.starts_at.0;
                let key = crate::run::idempotency_key(&spec.name, &dedupe_key, at);
                if self.ledger.get(&key).is_some() {
                    continue;
                }
                self.settle(spec, Source::Alert(alert), values, dedupe_key, at, 1)
                    .await?;
            }
        }
        Ok(())
    }

    /// Asks the trigger's safety state whether `source` (`occurrences` at `at`, its dedupe key
    /// rendered from `values`) fires it, and
    /// records the firing or the suppression; `Err` when shutting down before a firing could
    /// be recorded.
    async fn settle(
        &mut self,
        spec: &TriggerSpec,
        source: Source<'_>,
        values: Values,
        dedupe_key: String,
        at: i64,
        occurrences: u64,
    ) -> Result<(), ()> {
        let paused = self.control.is_paused(&spec.name);
        let state = self.states.entry(spec.name.clone()).or_default();
        match state.decide(&spec.limits, &dedupe_key, at, occurrences, paused) {
            Decision::Wait => {}
            Decision::Suppress(reason, run) => {
                if let Some(run) = run {
                    self.ledger.suppress(&run, reason);
                }
                self.control.count(&spec.name, false);
            }
            Decision::Fire { window_start } => {
                let run = Firing {
                    spec,
                    source,
                    hub_cluster: &self.hub_cluster,
                    dedupe_key: &dedupe_key,
                    window_start,
                    values,
                }
                .run();
                state.fired(&dedupe_key, window_start, &run.metadata.name);
                self.record(run).await?;
                self.control.count(&spec.name, true);
            }
        }
        Ok(())
    }

    /// Records a new run, retrying while the journal cannot be written; hands it to the
    /// executor unless it is a dry run.
    async fn record(&mut self, run: crate::run::TriggerRun) -> Result<(), ()> {
        let name = run.metadata.name.clone();
        let act = run.status.phase == crate::run::Phase::Pending;
        loop {
            match self.ledger.create(run.clone()) {
                Ok(created) => {
                    if created && act {
                        let _ = self.pending.send(name);
                    }
                    return Ok(());
                }
                Err(e) => {
                    tracing::error!(run = %name, error = %e, "could not record a trigger run; retrying");
                    tokio::select! {
                        _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                        _ = self.shutdown.changed() => return Err(()),
                    }
                }
            }
        }
    }
}

/// The next evaluation's alerts; never, without a rule engine. A reader that fell behind
/// skips to the newest evaluations (each carries every firing alert).
async fn next_alerts(
    alerts: &mut Option<tokio::sync::broadcast::Receiver<Arc<Vec<kevents_alert::Alert>>>>,
) -> Option<Arc<Vec<kevents_alert::Alert>>> {
    let Some(receiver) = alerts else {
        return std::future::pending().await;
    };
    loop {
        match receiver.recv().await {
            Ok(alerts) => return Some(alerts),
            Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
            Err(tokio::sync::broadcast::error::RecvError::Closed) => {
                *alerts = None;
                return None;
            }
        }
    }
}
