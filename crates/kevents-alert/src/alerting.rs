//! The alerting loop: evaluates the rules every interval, hands the alerts to delivery, keeps
//! the engine's state on disk, and reloads rule files when they change.

use crate::delivery::Dispatcher;
use crate::rules::{RuleEngine, RuleSources};
use kevents_model::Micros;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// Settings of the alerting loop.
#[derive(Debug, Clone)]
pub struct AlertingConfig {
    /// Where rules come from.
    pub sources: RuleSources,
    /// Where the engine's state is kept across restarts.
    pub state_path: PathBuf,
    /// How often rules are evaluated.
    pub evaluation_interval: Duration,
    /// How often rule files are checked for changes.
    pub reload_interval: Duration,
}

/// Metrics of the alerting loop.
#[derive(Clone, Default)]
pub struct AlertingMetrics {
    firing: Gauge,
    reloads: Family<Vec<(&'static str, String)>, Counter>,
    rules: Gauge,
}

impl AlertingMetrics {
    /// Registers the metrics.
    pub fn register(&self, registry: &mut Registry) {
        registry.register(
            "kevents_alerts_firing",
            "Alerts firing now",
            self.firing.clone(),
        );
        registry.register(
            "kevents_rule_reloads",
            "Rule file reloads by result (success, failure)",
            self.reloads.clone(),
        );
        registry.register("kevents_rules_loaded", "Rules loaded", self.rules.clone());
    }
}

/// Runs until `shutdown` turns true, then saves the state once more.
pub async fn run_alerting(
    config: AlertingConfig,
    engine: Arc<RuleEngine>,
    key_resources: Arc<crate::KeyResources>,
    dispatcher: Dispatcher,
    metrics: AlertingMetrics,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) {
    metrics.rules.set(engine.rule_names().len() as i64);
    let mut stamp = config.sources.stamp();
    let mut saved = String::new();
    let mut evaluate = tokio::time::interval(config.evaluation_interval);
    let mut reload = tokio::time::interval(config.reload_interval);
    loop {
        tokio::select! {
            _ = evaluate.tick() => {
                let now = Micros::now();
                key_resources.refresh(now);
                let alerts = engine.evaluate(now);
                metrics.firing.set(alerts.iter().filter(|a| !a.is_resolved()).count() as i64);
                dispatcher.update(alerts);
                let state = engine.save();
                if state != saved {
                    if let Err(e) = write_atomically(&config.state_path, &state) {
                        tracing::warn!(error = %e, path = %config.state_path.display(), "could not save alert state");
                    }
                    saved = state;
                }
            }
            _ = reload.tick() => {
                let now = config.sources.stamp();
                if now == stamp {
                    continue;
                }
                stamp = now;
                match config.sources.load() {
                    Ok(rules) => {
                        tracing::info!(rules = rules.len(), "reloaded rules");
                        metrics.rules.set(rules.len() as i64);
                        engine.set_rules(rules);
                        metrics.reloads.get_or_create(&vec![("result", "success".to_string())]).inc();
                    }
                    Err(e) => {
                        tracing::error!(error = %e, "rule files have errors; keeping the previous rules");
                        metrics.reloads.get_or_create(&vec![("result", "failure".to_string())]).inc();
                    }
                }
            }
            changed = shutdown.changed() => {
                if changed.is_err() || *shutdown.borrow() {
                    if let Err(e) = write_atomically(&config.state_path, &engine.save()) {
                        tracing::warn!(error = %e, "could not save alert state");
                    }
                    return;
                }
            }
        }
    }
}

/// Restores the engine's state from `path` when it exists.
pub fn restore_state(engine: &RuleEngine, path: &std::path::Path) {
    if let Ok(saved) = std::fs::read_to_string(path) {
        engine.restore(&saved);
    }
}

fn write_atomically(path: &std::path::Path, contents: &str) -> std::io::Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, contents)?;
    std::fs::rename(&tmp, path)
}
