//! Rule evaluation: per rule and group, a window of occurrences and a small state machine
//! (inactive → pending for `for` → firing → resolved). One lock; observe and evaluate are short.

use super::rule::{Condition, Rule};
use crate::occurrences::occurrences_added;
use crate::Alert;
use kevents_model::{EventRecord, Micros};
use kevents_store::Change;
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap, VecDeque};

/// The latest event of a group, for annotations.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Latest {
    kind: String,
    name: String,
    namespace: String,
    reason: String,
    message: String,
    event_type: String,
    source: String,
    #[serde(default)]
    cluster: String,
}

/// What the engine keeps per rule and group; serialized to survive restarts.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Group {
    labels: BTreeMap<String, String>,
    window: VecDeque<(Micros, u64)>,
    first_seen: Micros,
    last_seen: Micros,
    total: u64,
    latest: Latest,
    pending_since: Option<Micros>,
    firing_since: Option<Micros>,
}

impl Group {
    fn in_window(&self, now: Micros, window: i64) -> u64 {
        self.window
            .iter()
            .filter(|(at, _)| at.0 > now.0 - window)
            .map(|(_, n)| n)
            .sum()
    }
}

#[derive(Default, Serialize, Deserialize)]
struct State {
    /// rule name → group key → group.
    groups: HashMap<String, HashMap<String, Group>>,
}

/// Evaluates rules over the events it observes.
pub struct RuleEngine {
    rules: Mutex<Vec<Rule>>,
    state: Mutex<State>,
    cluster: String,
    key_resources: Option<std::sync::Arc<crate::KeyResources>>,
}

impl RuleEngine {
    /// An engine for `rules`, labelling alerts with `cluster`.
    pub fn new(rules: Vec<Rule>, cluster: impl Into<String>) -> RuleEngine {
        RuleEngine {
            rules: Mutex::new(rules),
            state: Mutex::new(State::default()),
            cluster: cluster.into(),
            key_resources: None,
        }
    }

    /// Lets rules with `keyResources: true` see only events about these objects.
    pub fn with_key_resources(
        mut self,
        key_resources: std::sync::Arc<crate::KeyResources>,
    ) -> RuleEngine {
        self.key_resources = Some(key_resources);
        self
    }

    /// Replaces the rules; state is kept for rules whose name stays, and alerts of removed
    /// rules resolve at the next evaluation.
    pub fn set_rules(&self, rules: Vec<Rule>) {
        *self.rules.lock() = rules;
    }

    /// Names of the loaded rules.
    pub fn rule_names(&self) -> Vec<String> {
        self.rules.lock().iter().map(|r| r.name.clone()).collect()
    }

    /// Accounts for a committed change observed at `now`.
    pub fn observe_at(&self, change: &Change, now: Micros) {
        let added = occurrences_added(change);
        if added == 0 {
            return;
        }
        let event = &change.object.record;
        let rules = self.rules.lock();
        let mut state = self.state.lock();
        let is_key = self
            .key_resources
            .as_ref()
            .is_some_and(|k| k.contains(event));
        let applies = |r: &&Rule| {
            (!r.matcher.key_resources_only || is_key)
                && r.matcher.matches(event, event.cluster_or(&self.cluster))
        };
        for rule in rules.iter().filter(applies) {
            let labels: BTreeMap<String, String> = rule
                .group_by
                .iter()
                .map(|f| {
                    (
                        f.label().to_string(),
                        f.value(event, event.cluster_or(&self.cluster)),
                    )
                })
                .collect();
            let key = labels
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(",");
            let groups = state.groups.entry(rule.name.clone()).or_default();
            let group = groups.entry(key).or_insert_with(|| Group {
                labels,
                window: VecDeque::new(),
                first_seen: now,
                last_seen: now,
                total: 0,
                latest: Latest::default(),
                pending_since: None,
                firing_since: None,
            });
            // Only windowed conditions need the individual occurrences.
            if matches!(
                rule.condition,
                Condition::Count { .. } | Condition::Rate { .. }
            ) {
                group.window.push_back((now, added));
            }
            group.total += added;
            group.last_seen = now;
            group.latest = latest(event);
        }
    }

    /// Evaluates every group at `now`: returns the firing alerts and those that just resolved.
    pub fn evaluate(&self, now: Micros) -> Vec<Alert> {
        let rules = self.rules.lock();
        let mut state = self.state.lock();
        let mut alerts = Vec::new();
        let known: std::collections::HashSet<&str> =
            rules.iter().map(|r| r.name.as_str()).collect();
        // Alerts of rules that were removed resolve now.
        state.groups.retain(|name, groups| {
            if known.contains(name.as_str()) {
                return true;
            }
            for group in groups.values().filter(|g| g.firing_since.is_some()) {
                alerts.push(resolved(name, group, now));
            }
            false
        });
        for rule in rules.iter() {
            let Some(groups) = state.groups.get_mut(&rule.name) else {
                continue;
            };
            groups.retain(|_, group| {
                let horizon = match rule.condition {
                    Condition::Count { window, .. } | Condition::Rate { window, .. } => window,
                    _ => 0,
                };
                while group
                    .window
                    .front()
                    .is_some_and(|(at, _)| at.0 <= now.0 - horizon)
                {
                    group.window.pop_front();
                }
                let quiet = now.0 - group.last_seen.0 >= rule.resolve_after;
                let active = match rule.condition {
                    Condition::Any => !quiet,
                    Condition::Count { min, window } => group.in_window(now, window) >= min,
                    Condition::Rate { per_second, window } => {
                        group.in_window(now, window) as f64 / (window as f64 / 1e6) >= per_second
                    }
                    Condition::Lasting(span) => {
                        !quiet && group.last_seen.0 - group.first_seen.0 >= span
                    }
                };
                if active {
                    let pending = *group.pending_since.get_or_insert(now);
                    if group.firing_since.is_none() && now.0 - pending.0 >= rule.hold {
                        group.firing_since = Some(now);
                    }
                    if let Some(since) = group.firing_since {
                        alerts.push(firing(rule, group, since, &self.cluster));
                    }
                    return true;
                }
                if group.firing_since.is_some() {
                    let mut alert = firing(
                        rule,
                        group,
                        group.firing_since.unwrap_or(now),
                        &self.cluster,
                    );
                    alert.ends_at = Some(now);
                    alerts.push(alert);
                }
                group.pending_since = None;
                group.firing_since = None;
                // Keep the group while its occurrences may still count; a quiet one starts over.
                !quiet || !group.window.is_empty()
            });
        }
        alerts
    }

    /// The state as JSON, to survive a restart.
    pub fn save(&self) -> String {
        serde_json::to_string(&*self.state.lock()).unwrap_or_default()
    }

    /// Restores state saved by [`RuleEngine::save`]; unreadable state is ignored with a warning.
    pub fn restore(&self, saved: &str) {
        match serde_json::from_str::<State>(saved) {
            Ok(state) => *self.state.lock() = state,
            Err(e) => tracing::warn!(error = %e, "ignoring unreadable alert state"),
        }
    }
}

impl crate::Observer for RuleEngine {
    fn observe(&self, change: &Change) {
        self.observe_at(change, Micros::now());
    }
}

fn latest(event: &EventRecord) -> Latest {
    Latest {
        kind: event.involved_object.kind.clone(),
        name: event.involved_object.name.clone(),
        namespace: event.namespace.clone(),
        reason: event.reason.clone(),
        message: event.message.clone(),
        event_type: event.event_type.clone(),
        source: event.source_name().to_string(),
        cluster: event.cluster.clone(),
    }
}

fn alert_labels(
    name: &str,
    extra: &BTreeMap<String, String>,
    group: &Group,
) -> BTreeMap<String, String> {
    let mut labels = group.labels.clone();
    labels.extend(extra.iter().map(|(k, v)| (k.clone(), v.clone())));
    labels.insert("alertname".to_string(), name.to_string());
    labels.retain(|_, v| !v.is_empty());
    labels
}

fn firing(rule: &Rule, group: &Group, since: Micros, cluster: &str) -> Alert {
    let latest = &group.latest;
    let object = if latest.name.is_empty() {
        latest.kind.clone()
    } else {
        format!("{}/{}", latest.kind, latest.name)
    };
    let values: BTreeMap<&'static str, String> = BTreeMap::from([
        ("object", object),
        ("kind", latest.kind.clone()),
        ("name", latest.name.clone()),
        ("namespace", latest.namespace.clone()),
        ("reason", latest.reason.clone()),
        ("message", latest.message.clone()),
        ("type", latest.event_type.clone()),
        ("count", group.total.to_string()),
        ("first_seen", group.first_seen.to_time_string()),
        ("last_seen", group.last_seen.to_time_string()),
        (
            "cluster",
            if latest.cluster.is_empty() {
                cluster
            } else {
                &latest.cluster
            }
            .to_string(),
        ),
        ("source", latest.source.clone()),
    ]);
    Alert {
        labels: alert_labels(&rule.name, &rule.labels, group),
        annotations: rule
            .annotations
            .iter()
            .map(|(k, t)| (k.clone(), t.render(&values)))
            .collect(),
        starts_at: since,
        ends_at: None,
        generator_url: String::new(),
    }
}

fn resolved(name: &str, group: &Group, now: Micros) -> Alert {
    Alert {
        labels: alert_labels(name, &BTreeMap::new(), group),
        annotations: BTreeMap::new(),
        starts_at: group.firing_since.unwrap_or(now),
        ends_at: Some(now),
        generator_url: String::new(),
    }
}
