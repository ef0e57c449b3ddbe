//! The alerts as a list, for the API and the web UI: every pending and firing alert of the
//! groups the engine holds, and the recently resolved ones (at most [`RESOLVED_KEPT`], for at
//! most [`RESOLVED_MAX_AGE`], counted in the engine's bytes), each with the events behind it.

use super::group::Group;
use super::refs::EventRef;
use super::rule::{Condition, Rule};
use crate::Alert;
use kevents_model::Micros;
use serde::Serialize;
use std::collections::{BTreeMap, VecDeque};
use std::hash::{Hash, Hasher};

/// Resolved alerts kept for the list, newest first.
pub const RESOLVED_KEPT: usize = 100;

/// How long a resolved alert stays in the list (microseconds): a day.
pub const RESOLVED_MAX_AGE: i64 = 24 * 3600 * 1_000_000;

/// Where an alert is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AlertState {
    /// The condition holds, but not yet for the rule's `for`.
    Pending,
    /// Firing: sent to Alertmanager and webhooks.
    Firing,
    /// It fired, then the condition stopped holding.
    Resolved,
}

impl AlertState {
    /// `pending`, `firing` or `resolved`.
    pub fn as_str(self) -> &'static str {
        match self {
            AlertState::Pending => "pending",
            AlertState::Firing => "firing",
            AlertState::Resolved => "resolved",
        }
    }
}

/// One alert as the list shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ListedAlert {
    /// The rule's name (the `alertname` label).
    pub rule: String,
    /// Pending, firing or resolved.
    pub state: AlertState,
    /// The alert's labels: `alertname`, the rule's labels and the grouping labels.
    pub labels: BTreeMap<String, String>,
    /// The rendered annotations (summary, description, ...).
    pub annotations: BTreeMap<String, String>,
    /// When the condition began to hold (the start of pending).
    pub active_since: Micros,
    /// When it started firing.
    pub firing_since: Option<Micros>,
    /// When it resolved.
    pub resolved_at: Option<Micros>,
    /// The condition's current value: occurrences in the window (`count`), per second
    /// (`rate`, `forecast`), seconds spanned (`lasting`), or occurrences (`any`).
    pub value: f64,
    /// Occurrences counted in the group.
    pub count: u64,
    /// The latest distinct events that counted, newest first.
    pub events: Vec<EventRef>,
}

impl ListedAlert {
    pub(super) fn of(
        alert: Alert,
        state: AlertState,
        group: &Group,
        active_since: Micros,
        value: f64,
    ) -> Self {
        ListedAlert {
            rule: alert.labels.get("alertname").cloned().unwrap_or_default(),
            state,
            resolved_at: alert.ends_at,
            firing_since: (state != AlertState::Pending).then_some(alert.starts_at),
            labels: alert.labels,
            annotations: alert.annotations,
            active_since,
            value,
            count: group.total,
            events: group.events.to_vec(),
        }
    }

    /// A name that stays the same from pending through firing to resolved, and differs for
    /// another group or a later firing of the same group: the rule's name in lower case and a
    /// hash of the labels and the start.
    pub fn name(&self) -> String {
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        self.labels.hash(&mut hasher);
        self.active_since.0.hash(&mut hasher);
        let rule: String = self
            .rule
            .chars()
            .map(|c| match c.to_ascii_lowercase() {
                c @ ('a'..='z' | '0'..='9') => c,
                _ => '-',
            })
            .collect();
        format!("{}-{:016x}", rule.trim_matches('-'), hasher.finish())
    }

    /// The namespace the alert is about (its `namespace` label), or `""` for cluster-wide ones.
    pub fn namespace(&self) -> &str {
        self.labels.get("namespace").map_or("", String::as_str)
    }

    fn bytes(&self) -> usize {
        let text: usize = self
            .labels
            .iter()
            .chain(self.annotations.iter())
            .map(|(k, v)| k.len() + v.len() + 64)
            .sum();
        std::mem::size_of::<ListedAlert>()
            + self.rule.len()
            + text
            + self.events.iter().map(EventRef::bytes).sum::<usize>()
    }
}

/// The condition's current value for a group (see [`ListedAlert::value`]).
pub(super) fn value(rule: &Rule, group: &Group, now: Micros) -> f64 {
    match rule.condition {
        Condition::Any => group.total as f64,
        Condition::Count { window, .. } => group.in_window(now, window) as f64,
        Condition::Rate { window, .. } => {
            group.in_window(now, window) as f64 / (window as f64 / 1e6)
        }
        Condition::Forecast {
            window, horizon, ..
        } => group.forecast(now, window, horizon),
        Condition::Lasting(_) => (group.last_seen.0 - group.first_seen.0) as f64 / 1e6,
    }
}

/// The resolved alert of `group`, which fired as `alert` (its `ends_at` set).
pub(super) fn resolved_entry(
    rule: Option<&Rule>,
    group: &Group,
    alert: Alert,
    now: Micros,
) -> ListedAlert {
    let active_since = group.pending_since.unwrap_or(alert.starts_at);
    let value = rule.map_or(0.0, |rule| value(rule, group, now));
    ListedAlert::of(alert, AlertState::Resolved, group, active_since, value)
}

/// The recently resolved alerts, newest first.
#[derive(Debug, Default)]
pub(super) struct Resolved {
    pub(super) alerts: VecDeque<ListedAlert>,
}

impl Resolved {
    /// Adds alerts that just resolved, then keeps the newest [`RESOLVED_KEPT`] that resolved
    /// within [`RESOLVED_MAX_AGE`] of `now` and fit in `room` bytes.
    pub(super) fn add(&mut self, resolved: Vec<ListedAlert>, now: Micros, room: usize) {
        for alert in resolved {
            self.alerts.push_front(alert);
        }
        self.alerts.truncate(RESOLVED_KEPT);
        while self.alerts.back().is_some_and(|a| {
            a.resolved_at
                .is_none_or(|at| now.0 - at.0 >= RESOLVED_MAX_AGE)
        }) || self.bytes() > room
        {
            if self.alerts.pop_back().is_none() {
                break;
            }
        }
    }

    /// Bytes the resolved alerts hold.
    pub(super) fn bytes(&self) -> usize {
        self.alerts.iter().map(ListedAlert::bytes).sum()
    }

    /// When the oldest one leaves the list.
    pub(super) fn next_expiry(&self) -> Option<Micros> {
        self.alerts
            .back()
            .and_then(|a| a.resolved_at)
            .map(|at| Micros(at.0 + RESOLVED_MAX_AGE))
    }
}

#[cfg(test)]
#[path = "listing_tests.rs"]
mod tests;
