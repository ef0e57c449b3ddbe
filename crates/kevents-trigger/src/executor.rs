//! Carries out pending runs: attempts with exponential backoff until the action succeeds, is
//! refused, or runs out of attempts; then a dead-letter record. Every attempt's outcome is
//! journaled before the next, and runs still pending at shutdown (or after a `kill -9`) are
//! picked up again at the next start with the same idempotency key.

use crate::actions::kubernetes::Clusters;
use crate::actions::{attempt, Outcome};
use crate::compile::TriggerSet;
use crate::ledger::Ledger;
use crate::run::{Phase, TriggerRun};
use kevents_model::Micros;
use kevents_sink::files::RotatingFile;
use parking_lot::Mutex;
use std::sync::Arc;

/// What carrying out runs needs.
pub struct Executor {
    /// The runs.
    pub ledger: Arc<Ledger>,
    /// The current triggers (for the action's client and retry settings).
    pub triggers: tokio::sync::watch::Receiver<TriggerSet>,
    /// Credentials for the Kubernetes action.
    pub clusters: Arc<Clusters>,
    /// `<data-dir>/triggers/deadletter.ndjson`.
    pub dead_letter: Mutex<RotatingFile>,
}

impl Executor {
    /// Carries out the runs named on `pending` until shutdown.
    pub async fn run(
        self: Arc<Self>,
        mut pending: tokio::sync::mpsc::UnboundedReceiver<String>,
        mut shutdown: tokio::sync::watch::Receiver<bool>,
    ) {
        let mut tasks = tokio::task::JoinSet::new();
        loop {
            tokio::select! {
                name = pending.recv() => match name {
                    Some(name) => { tasks.spawn(self.clone().carry_out(name)); }
                    None => break,
                },
                Some(_) = tasks.join_next(), if !tasks.is_empty() => {}
                _ = shutdown.changed() => break,
            }
        }
        // Unfinished runs stay pending in the journal; the next start resumes them.
        tasks.abort_all();
    }

    fn finish(
        &self,
        name: &str,
        phase: Phase,
        message: String,
        created: Option<crate::run::ObjectRef>,
    ) {
        let now = Micros::now().to_time_string();
        self.ledger.update(name, |run| {
            run.status.attempts += 1;
            run.status.phase = phase;
            run.status.message = message;
            run.status.last_attempt_time = Some(now.clone());
            run.status.completion_time = Some(now);
            run.status.created_object = created;
        });
        if phase == Phase::Failed {
            if let Some(run) = self.ledger.get(name) {
                self.dead_letter(&run);
            }
        }
    }

    fn dead_letter(&self, run: &TriggerRun) {
        let record = serde_json::json!({
            "time": Micros::now().to_time_string(),
            "trigger": run.spec.trigger,
            "run": run.metadata.name,
            "namespace": run.metadata.namespace,
            "idempotencyKey": run.spec.idempotency_key,
            "attempts": run.status.attempts,
            "error": run.status.message,
            "action": run.spec.action,
        });
        let mut line = serde_json::to_vec(&record).expect("JSON values serialize");
        line.push(b'\n');
        if let Err(e) = self.dead_letter.lock().append(&line) {
            tracing::error!(error = %e, "writing the triggers' dead-letter file failed");
        }
    }

    async fn carry_out(self: Arc<Self>, name: String) {
        loop {
            let Some(run) = self.ledger.get(&name) else {
                return;
            };
            if run.status.phase != Phase::Pending {
                return;
            }
            let spec = self
                .triggers
                .borrow()
                .iter()
                .find(|t| t.name == run.spec.trigger)
                .cloned();
            let Some(spec) = spec else {
                let message = format!("trigger {:?} is no longer configured", run.spec.trigger);
                return self.finish(&name, Phase::Failed, message, None);
            };
            if spec.action.kind() != run.spec.action.kind {
                let message = format!(
                    "trigger {:?} now has a {} action",
                    run.spec.trigger,
                    spec.action.kind()
                );
                return self.finish(&name, Phase::Failed, message, None);
            }
            let attempts = run.status.attempts + 1;
            match attempt(&spec.action, &run, &self.clusters).await {
                Outcome::Done { message, created } => {
                    tracing::info!(run = %name, attempts, "trigger action done");
                    return self.finish(&name, Phase::Succeeded, message, created);
                }
                Outcome::Fail(message) => {
                    tracing::warn!(run = %name, attempts, error = %message, "trigger action refused");
                    return self.finish(&name, Phase::Failed, message, None);
                }
                Outcome::Retry(message) if attempts >= spec.max_attempts => {
                    tracing::warn!(run = %name, attempts, error = %message, "trigger action out of attempts");
                    let message = format!("gave up after {attempts} attempts: {message}");
                    return self.finish(&name, Phase::Failed, message, None);
                }
                Outcome::Retry(message) => {
                    let delay = spec.backoff.delay(attempts);
                    tracing::info!(run = %name, attempts, error = %message, retry_in_ms = delay.as_millis() as u64, "trigger action failed; retrying");
                    let now = Micros::now().to_time_string();
                    self.ledger.update(&name, |run| {
                        run.status.attempts = attempts;
                        run.status.message = message;
                        run.status.last_attempt_time = Some(now);
                    });
                    tokio::time::sleep(delay).await;
                }
            }
        }
    }
}
