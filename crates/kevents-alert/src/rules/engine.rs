//! Rule evaluation: per rule and group, a window of occurrences and a small state machine
//! (inactive → pending for `for` → firing → resolved). One lock; observe and evaluate are short.
//!
//! Evaluation costs nothing while nothing changes: observing an occurrence or replacing the
//! rules marks the engine changed, and each evaluation notes the next time a group's answer
//! could change on its own (an occurrence leaving a window, a quiet time running out, a `for`
//! held long enough). [`RuleEngine::evaluate_if_due`] evaluates only then.

use super::group::{Group, Latest};
use super::listing::{resolved_entry, ListedAlert, Resolved};
use super::rule::{Condition, Rule};
use crate::occurrences::occurrences_added;
use crate::Alert;
use kevents_model::{EventRecord, Micros};
use kevents_store::Change;
use parking_lot::Mutex;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use std::collections::{BTreeMap, HashMap};

/// Alert groups held at most, over all rules, unless configured otherwise.
pub const DEFAULT_MAX_GROUPS: usize = 1000;

/// Bytes alert groups hold at most, over all rules, unless configured otherwise: 1,000 groups
/// of a few KiB of text and a 10-minute window each fit several times.
pub const DEFAULT_MAX_BYTES: usize = 32 << 20;

#[derive(Default)]
pub(super) struct State {
    /// rule name → group key → group.
    pub(super) groups: HashMap<String, HashMap<String, Group>>,
    /// Groups held, over all rules.
    held: usize,
    /// Bytes the groups hold ([`Group::bytes`]), over all rules.
    held_bytes: usize,
    /// Something was observed or the rules changed since the last evaluation.
    pub(super) changed: bool,
    /// When a group's answer may change without a new occurrence.
    next_due: Option<Micros>,
    /// Start times of the alerts firing before a restart, by fingerprint; used once.
    restored_starts: HashMap<String, Micros>,
    /// While the engine is rebuilt from the store: the changes followed meanwhile.
    pub(super) rebuilding: Option<Vec<Change>>,
    /// Recently resolved alerts, for the list.
    pub(super) resolved: Resolved,
    /// Held from the end of a rebuild until the first evaluation after it is published
    /// ([`RuleEngine::hold_until_evaluated`]).
    pub(super) until_evaluated: Option<Box<dyn Send>>,
}

/// Evaluates rules over the events it observes.
pub struct RuleEngine {
    pub(super) rules: Mutex<Vec<Rule>>,
    pub(super) state: Mutex<State>,
    pub(super) cluster: String,
    key_resources: Option<std::sync::Arc<crate::KeyResources>>,
    max_groups: usize,
    max_bytes: usize,
    groups_held: Gauge,
    bytes_held: Gauge,
    overflow: Counter,
    /// Told when a rebuild ends, so the alerting loop evaluates at once.
    pub(super) rebuilt: tokio::sync::Notify,
}

impl RuleEngine {
    /// An engine for `rules`, labelling alerts with `cluster`.
    pub fn new(rules: Vec<Rule>, cluster: impl Into<String>) -> RuleEngine {
        RuleEngine {
            rules: Mutex::new(rules),
            state: Mutex::new(State {
                changed: true,
                ..State::default()
            }),
            cluster: cluster.into(),
            key_resources: None,
            max_groups: DEFAULT_MAX_GROUPS,
            max_bytes: DEFAULT_MAX_BYTES,
            groups_held: Gauge::default(),
            bytes_held: Gauge::default(),
            overflow: Counter::default(),
            rebuilt: tokio::sync::Notify::new(),
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

    /// Holds at most `max_groups` alert groups over all rules; occurrences that would open
    /// another group are counted in `kevents_alert_group_overflow_total` instead.
    pub fn with_max_groups(mut self, max_groups: usize) -> RuleEngine {
        self.max_groups = max_groups;
        self
    }

    /// Holds at most `max_bytes` bytes of alert groups over all rules (windows, labels, latest
    /// events, listed objects): past it no group is opened and no group keeps a larger latest
    /// event; such occurrences are counted in `kevents_alert_group_overflow_total`.
    pub fn with_max_bytes(mut self, max_bytes: usize) -> RuleEngine {
        self.max_bytes = max_bytes;
        self
    }

    /// Registers the engine's metrics.
    pub fn register(&self, registry: &mut Registry) {
        registry.register(
            "kevents_alert_groups",
            "Alert groups held by the rule engine",
            self.groups_held.clone(),
        );
        registry.register(
            "kevents_alert_group_bytes",
            "Bytes held by the rule engine's alert groups and the resolved alerts it lists (bounded by \
             --alert-max-bytes)",
            self.bytes_held.clone(),
        );
        registry.register(
            "kevents_alert_group_overflow",
            "Occurrences not grouped, or whose event text was not kept, because the rule engine \
             held --alert-max-groups groups or --alert-max-bytes bytes",
            self.overflow.clone(),
        );
    }

    /// Replaces the rules; state is kept for rules whose name stays, and alerts of removed
    /// rules resolve at the next evaluation.
    pub fn set_rules(&self, rules: Vec<Rule>) {
        *self.rules.lock() = rules;
        self.state.lock().changed = true;
    }

    /// Names of the loaded rules.
    pub fn rule_names(&self) -> Vec<String> {
        self.rules.lock().iter().map(|r| r.name.clone()).collect()
    }

    /// The start times of alerts that fired before a restart (by [`Alert::fingerprint`]): an
    /// alert that fires again at the first evaluation keeps its start time.
    pub fn restore_firing(&self, starts: HashMap<String, Micros>) {
        self.state.lock().restored_starts = starts;
    }

    /// Accounts for a committed change observed at `now`.
    pub fn observe_at(&self, change: &Change, now: Micros) {
        let rules = self.rules.lock();
        let mut state = self.state.lock();
        if let Some(buffered) = state.rebuilding.as_mut() {
            // Every change: the first after the rebuild's version carries the state then.
            buffered.push(change.clone());
            return;
        }
        let added = occurrences_added(change);
        if added == 0 {
            return;
        }
        self.record(&rules, &mut state, &change.object.record, now, added);
    }

    fn is_key_resource(&self, event: &EventRecord) -> bool {
        self.key_resources
            .as_ref()
            .is_some_and(|k| k.contains(event))
    }

    /// Whether any rule counts `event` (the rebuild keeps only those).
    pub(super) fn counted_by_any(&self, rules: &[Rule], event: &EventRecord) -> bool {
        let cluster = event.cluster_or(&self.cluster);
        let is_key = self.is_key_resource(event);
        rules.iter().any(|r| applies(r, event, cluster, is_key))
    }

    /// Counts `added` occurrences of `event` at `at` in every group it belongs to.
    pub(super) fn record(
        &self,
        rules: &[Rule],
        state: &mut State,
        event: &EventRecord,
        at: Micros,
        added: u64,
    ) {
        let cluster = event.cluster_or(&self.cluster);
        let is_key = self.is_key_resource(event);
        for rule in rules.iter().filter(|r| applies(r, event, cluster, is_key)) {
            let labels: BTreeMap<String, String> = rule
                .group_by
                .iter()
                .map(|f| (f.label().to_string(), f.value(event, cluster)))
                .collect();
            let key = fingerprint(&labels);
            let (held, held_bytes) = (state.held, state.held_bytes);
            let groups = state.groups.entry(rule.name.clone()).or_default();
            // `counted`: what held_bytes already includes of this group.
            let (group, counted) = match groups.get_mut(&key) {
                Some(group) => {
                    let counted = group.bytes();
                    (group, counted)
                }
                None => {
                    let group = Group::new(labels, at);
                    let needed = group.bytes() + Group::event_bytes(event);
                    if held >= self.max_groups || held_bytes + needed > self.max_bytes {
                        self.overflow.inc_by(added);
                        continue;
                    }
                    state.held += 1;
                    (groups.entry(key).or_insert(group), 0)
                }
            };
            let others = held_bytes.saturating_sub(counted);
            let room = self.max_bytes.saturating_sub(others + group.bytes());
            if !group.record(rule, event, at, added, room) {
                self.overflow.inc_by(added);
            }
            state.held_bytes = others + group.bytes();
            state.changed = true;
        }
        self.groups_held.set(state.held as i64);
        self.bytes_held.set(state.held_bytes as i64);
    }

    /// Evaluates when something changed or a group's answer may have changed by `now`: the
    /// alerts as [`RuleEngine::evaluate`] gives them, or `None` when they are as before. Never
    /// while the engine is rebuilt from the store.
    pub fn evaluate_if_due(&self, now: Micros) -> Option<Vec<Alert>> {
        {
            let state = self.state.lock();
            let due = state.changed || state.next_due.is_some_and(|due| due <= now);
            if state.rebuilding.is_some() || !due {
                return None;
            }
        }
        Some(self.evaluate(now))
    }

    /// Evaluates every group at `now`: returns the firing alerts and those that just resolved.
    pub fn evaluate(&self, now: Micros) -> Vec<Alert> {
        let rules = self.rules.lock();
        let mut state = self.state.lock();
        let state = &mut *state;
        let mut alerts = Vec::new();
        let mut resolved_now = Vec::new();
        let known: std::collections::HashSet<&str> =
            rules.iter().map(|r| r.name.as_str()).collect();
        // Alerts of rules that were removed resolve now.
        state.groups.retain(|name, groups| {
            if known.contains(name.as_str()) {
                return true;
            }
            for group in groups.values().filter(|g| g.firing_since.is_some()) {
                let alert = resolved(name, group, now);
                resolved_now.push(resolved_entry(None, group, alert.clone(), now));
                alerts.push(alert);
            }
            false
        });
        let restored = std::mem::take(&mut state.restored_starts);
        let mut next_due: Option<Micros> = None;
        for rule in rules.iter() {
            let Some(groups) = state.groups.get_mut(&rule.name) else {
                continue;
            };
            groups.retain(|_, group| {
                let keep = self.evaluate_group(
                    rule,
                    group,
                    now,
                    &restored,
                    &mut alerts,
                    &mut resolved_now,
                );
                if keep {
                    if let Some(due) = group.next_change(rule, now) {
                        next_due = Some(next_due.map_or(due, |d| d.min(due)));
                    }
                }
                keep
            });
        }
        state.groups.retain(|_, groups| !groups.is_empty());
        state.held = state.groups.values().map(HashMap::len).sum();
        let groups_bytes: usize = state
            .groups
            .values()
            .flat_map(HashMap::values)
            .map(Group::bytes)
            .sum();
        // Resolved alerts take at most a quarter of the bound, and only what groups leave.
        let room = (self.max_bytes / 4).min(self.max_bytes.saturating_sub(groups_bytes));
        state.resolved.add(resolved_now, now, room);
        state.held_bytes = groups_bytes + state.resolved.bytes();
        if let Some(expiry) = state.resolved.next_expiry() {
            next_due = Some(next_due.map_or(expiry, |d| d.min(expiry)));
        }
        self.groups_held.set(state.held as i64);
        self.bytes_held.set(state.held_bytes as i64);
        state.changed = false;
        state.next_due = next_due;
        alerts
    }

    /// Steps one group at `now`, adding its alert to `alerts`; false when it can be forgotten.
    fn evaluate_group(
        &self,
        rule: &Rule,
        group: &mut Group,
        now: Micros,
        restored: &HashMap<String, Micros>,
        alerts: &mut Vec<Alert>,
        resolved_now: &mut Vec<ListedAlert>,
    ) -> bool {
        let horizon = rule.condition.window();
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
            Condition::Forecast {
                per_second,
                window,
                horizon,
            } => group.forecast(now, window, horizon) >= per_second,
            Condition::Lasting(span) => !quiet && group.last_seen.0 - group.first_seen.0 >= span,
        };
        if active {
            if group.firing_since.is_none() && !restored.is_empty() {
                let labels = alert_labels(&rule.name, &rule.labels, group);
                if let Some(since) = restored.get(&fingerprint(&labels)) {
                    group.pending_since = Some(*since);
                    group.firing_since = Some(*since);
                }
            }
            let pending = *group.pending_since.get_or_insert(now);
            if group.firing_since.is_none() && now.0 - pending.0 >= rule.hold {
                group.firing_since = Some(now);
            }
            if let Some(since) = group.firing_since {
                alerts.push(firing(rule, group, since, &self.cluster));
            }
            return true;
        }
        if let Some(since) = group.firing_since {
            let mut alert = firing(rule, group, since, &self.cluster);
            alert.ends_at = Some(now);
            resolved_now.push(resolved_entry(Some(rule), group, alert.clone(), now));
            alerts.push(alert);
        }
        group.pending_since = None;
        group.firing_since = None;
        // Keep the group while its occurrences may still count; a quiet one starts over.
        !quiet || !group.window.is_empty()
    }
}

impl crate::Observer for RuleEngine {
    /// Counts a change at its commit, as a rebuild from the store counts it: the groups, and
    /// the events behind each alert, come back the same after a restart.
    fn observe(&self, change: &Change) {
        self.observe_at(change, change.committed_at);
    }
}

/// Labels as `name=value` pairs joined by `,`: a group's key and an alert's fingerprint.
fn fingerprint(labels: &BTreeMap<String, String>) -> String {
    labels
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(",")
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

pub(super) fn firing(rule: &Rule, group: &Group, since: Micros, cluster: &str) -> Alert {
    let latest: &Latest = &group.latest;
    let values: BTreeMap<&'static str, String> = BTreeMap::from([
        ("object", latest.object()),
        ("objects", group.objects_text()),
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

/// Whether `rule` counts `event` of `cluster`.
fn applies(rule: &Rule, event: &EventRecord, cluster: &str, is_key: bool) -> bool {
    (!rule.matcher.key_resources_only() || is_key) && rule.matcher.matches(event, cluster)
}
