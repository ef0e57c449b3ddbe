//! The alerting loop: evaluates the rules when something changed or is due, hands the alerts to
//! delivery, remembers when the firing alerts started (a small file, rewritten only when the
//! set of firing alerts changes; everything else is rebuilt from the store), and reloads rule
//! files when they change.

use crate::delivery::Dispatcher;
use crate::rules::{RuleEngine, RuleSources};
use kevents_model::Micros;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// Settings of the alerting loop.
#[derive(Debug, Clone)]
pub struct AlertingConfig {
    /// Where rules come from.
    pub sources: RuleSources,
    /// Where the start times of firing alerts are kept across restarts.
    pub firing_path: PathBuf,
    /// How often rules are evaluated.
    pub evaluation_interval: Duration,
    /// How often rule files are checked for changes.
    pub reload_interval: Duration,
    /// Also sends every evaluation's alerts (firing, and those that just resolved) here, for
    /// the triggers that act on alerts.
    pub published: Option<tokio::sync::broadcast::Sender<Arc<Vec<crate::Alert>>>>,
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

/// Runs until `shutdown` turns true.
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
    let mut saved = read_firing(&config.firing_path);
    let mut evaluate = tokio::time::interval(config.evaluation_interval);
    let mut reload = tokio::time::interval(config.reload_interval);
    loop {
        tokio::select! {
            _ = evaluate.tick() => {
                evaluate_and_publish(&config, &engine, &key_resources, &dispatcher, &metrics, &mut saved);
            }
            _ = engine.rebuilt() => {
                evaluate_and_publish(&config, &engine, &key_resources, &dispatcher, &metrics, &mut saved);
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
                    return;
                }
            }
        }
    }
}

/// One evaluation (when due): the gauge, the saved start times, the published alerts and
/// delivery follow it; then the engine is told its answer is out ([`RuleEngine::settled`]).
fn evaluate_and_publish(
    config: &AlertingConfig,
    engine: &RuleEngine,
    key_resources: &crate::KeyResources,
    dispatcher: &Dispatcher,
    metrics: &AlertingMetrics,
    saved: &mut BTreeMap<String, i64>,
) {
    let now = Micros::now();
    key_resources.refresh(now);
    if let Some(alerts) = engine.evaluate_if_due(now) {
        let firing: BTreeMap<String, i64> = alerts
            .iter()
            .filter(|a| !a.is_resolved())
            .map(|a| (a.fingerprint(), a.starts_at.0))
            .collect();
        metrics.firing.set(firing.len() as i64);
        if firing != *saved {
            if let Err(e) = write_firing(&config.firing_path, &firing) {
                tracing::warn!(error = %e, path = %config.firing_path.display(), "could not save the firing alerts");
            }
            *saved = firing;
        }
        if let Some(published) = &config.published {
            let _ = published.send(Arc::new(alerts.clone()));
        }
        dispatcher.update(alerts);
    }
    engine.settled();
}

/// Gives `engine` the start times of the alerts that were firing when the hub stopped, from
/// `path` (see [`AlertingConfig::firing_path`]).
pub fn restore_firing(engine: &RuleEngine, path: &Path) {
    let starts: HashMap<String, Micros> = read_firing(path)
        .into_iter()
        .map(|(fingerprint, at)| (fingerprint, Micros(at)))
        .collect();
    engine.restore_firing(starts);
}

fn read_firing(path: &Path) -> BTreeMap<String, i64> {
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes).unwrap_or_else(|e| {
            tracing::warn!(error = %e, path = %path.display(), "ignoring unreadable firing alerts");
            BTreeMap::new()
        }),
        Err(_) => BTreeMap::new(),
    }
}

fn write_firing(path: &Path, firing: &BTreeMap<String, i64>) -> std::io::Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, serde_json::to_vec(firing)?)?;
    std::fs::rename(&tmp, path)
}
