//! What one sink still has to deliver: a pure state machine fed with the engine's views and with
//! the outcome of each request, so the delivery rules are testable without I/O or clocks.

use super::kind::SinkKind;
use crate::Alert;
use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

/// The delivery state of one sink.
pub(super) struct Outbox {
    kind: SinkKind,
    /// The firing alerts of the latest view, as last seen (change detection and re-sends).
    firing: BTreeMap<String, Alert>,
    /// Webhooks: fingerprints settled as firing and not yet settled as resolved. Persisted, so a
    /// restart does not notify them again.
    notified: BTreeSet<String>,
    /// Changes not delivered yet: the newest state per fingerprint.
    pending: BTreeMap<String, Pending>,
}

struct Pending {
    alert: Alert,
    /// When this fingerprint started waiting; the retry window counts from here.
    since: Instant,
}

/// The alerts of one request.
#[derive(Debug, PartialEq)]
pub(super) struct Batch {
    /// For webhooks all of them firing or all of them resolved.
    pub(super) alerts: Vec<Alert>,
}

impl Batch {
    /// The webhook payload's `status`.
    pub(super) fn status(&self) -> &'static str {
        if self.alerts.iter().all(Alert::is_resolved) {
            "resolved"
        } else {
            "firing"
        }
    }

    /// The fingerprints, for log lines.
    pub(super) fn fingerprints(&self) -> Vec<String> {
        self.alerts.iter().map(Alert::fingerprint).collect()
    }
}

impl Outbox {
    /// A sink's outbox; `notified` is what a webhook was already told is firing (from the state
    /// file).
    pub(super) fn new(kind: SinkKind, notified: BTreeSet<String>) -> Outbox {
        Outbox {
            kind,
            firing: BTreeMap::new(),
            notified,
            pending: BTreeMap::new(),
        }
    }

    /// What a webhook was told is firing, for the state file.
    pub(super) fn notified(&self) -> &BTreeSet<String> {
        &self.notified
    }

    /// True while something waits for delivery.
    pub(super) fn has_pending(&self) -> bool {
        !self.pending.is_empty()
    }

    /// Takes in the engine's view (every firing alert plus those resolved since the previous
    /// view) and queues what this sink must be told. The view is authoritative: an alert missing
    /// from it is forgotten. Returns true when `notified` changed.
    pub(super) fn observe(&mut self, view: Vec<Alert>, now: Instant) -> bool {
        let mut firing = BTreeMap::new();
        let mut resolved = BTreeSet::new();
        for alert in view {
            let fingerprint = alert.fingerprint();
            if alert.is_resolved() {
                if self.was_told_firing(&fingerprint) {
                    self.enqueue(fingerprint.clone(), alert, now);
                }
                resolved.insert(fingerprint);
            } else {
                let news = match self.kind {
                    SinkKind::Alertmanager => self.firing.get(&fingerprint) != Some(&alert),
                    SinkKind::Webhook => {
                        !self.notified.contains(&fingerprint)
                            && !self.pending.contains_key(&fingerprint)
                    }
                };
                if news {
                    self.enqueue(fingerprint.clone(), alert.clone(), now);
                }
                firing.insert(fingerprint, alert);
            }
        }
        self.firing = firing;
        let in_view = |fingerprint: &String| {
            self.firing.contains_key(fingerprint) || resolved.contains(fingerprint)
        };
        // A resolved alert is listed once, so a pending resolve outlives the views after it.
        self.pending
            .retain(|fingerprint, pending| pending.alert.is_resolved() || in_view(fingerprint));
        let before = self.notified.len();
        self.notified
            .retain(|fingerprint| in_view(fingerprint) || self.pending.contains_key(fingerprint));
        self.notified.len() != before
    }

    fn was_told_firing(&self, fingerprint: &str) -> bool {
        let pending_firing = self
            .pending
            .get(fingerprint)
            .is_some_and(|pending| !pending.alert.is_resolved());
        pending_firing
            || match self.kind {
                SinkKind::Alertmanager => self.firing.contains_key(fingerprint),
                SinkKind::Webhook => self.notified.contains(fingerprint),
            }
    }

    /// Queues every firing alert again for Alertmanager, which expires alerts that are not
    /// re-sent. Webhooks are told once.
    pub(super) fn resend_firing(&mut self, now: Instant) {
        if self.kind == SinkKind::Webhook {
            return;
        }
        let firing: Vec<_> = self
            .firing
            .iter()
            .map(|(fingerprint, alert)| (fingerprint.clone(), alert.clone()))
            .collect();
        for (fingerprint, alert) in firing {
            self.enqueue(fingerprint, alert, now);
        }
    }

    fn enqueue(&mut self, fingerprint: String, alert: Alert, now: Instant) {
        match self.pending.get_mut(&fingerprint) {
            Some(pending) => {
                if supersedes(&alert, &pending.alert) {
                    pending.alert = alert;
                }
            }
            None => {
                self.pending
                    .insert(fingerprint, Pending { alert, since: now });
            }
        }
    }

    /// The next request: everything pending for Alertmanager; for a webhook the resolved alerts
    /// first, then the firing ones. With `resolved_only`, only resolved alerts (the final flush).
    pub(super) fn next_batch(&self, resolved_only: bool) -> Option<Batch> {
        let any_resolved = self.pending.values().any(|p| p.alert.is_resolved());
        let take_resolved = resolved_only || (self.kind == SinkKind::Webhook && any_resolved);
        let alerts: Vec<Alert> = self
            .pending
            .values()
            .filter(|p| !take_resolved || p.alert.is_resolved())
            .map(|p| p.alert.clone())
            .collect();
        (!alerts.is_empty()).then_some(Batch { alerts })
    }

    /// Marks a batch as done with, delivered or rejected for good: it leaves the queue unless an
    /// alert changed meanwhile. Returns true when `notified` changed.
    pub(super) fn settle(&mut self, batch: &Batch) -> bool {
        let mut notified_changed = false;
        for alert in &batch.alerts {
            let fingerprint = alert.fingerprint();
            if self
                .pending
                .get(&fingerprint)
                .is_some_and(|pending| pending.alert == *alert)
            {
                self.pending.remove(&fingerprint);
            }
            if self.kind == SinkKind::Webhook {
                notified_changed |= if alert.is_resolved() {
                    self.notified.remove(&fingerprint)
                } else {
                    self.notified.insert(fingerprint)
                };
            }
        }
        notified_changed
    }

    /// Drops the alerts that have waited for `window` or longer and returns them. A webhook's
    /// dropped firing alert is queued again by the next view that still has it firing.
    pub(super) fn expire(&mut self, now: Instant, window: Duration) -> Vec<Alert> {
        let expired: Vec<String> = self
            .pending
            .iter()
            .filter(|(_, pending)| now.saturating_duration_since(pending.since) >= window)
            .map(|(fingerprint, _)| fingerprint.clone())
            .collect();
        expired
            .iter()
            .filter_map(|fingerprint| self.pending.remove(fingerprint))
            .map(|pending| pending.alert)
            .collect()
    }

    /// Drops everything still pending (delivery stops) and returns it.
    pub(super) fn abandon(&mut self) -> Vec<Alert> {
        std::mem::take(&mut self.pending)
            .into_values()
            .map(|pending| pending.alert)
            .collect()
    }
}

/// Whether `newer` replaces `older`, two states of the same fingerprint: a resolved state wins
/// over a firing state unless that firing state started after it resolved (it fired again).
pub(super) fn supersedes(newer: &Alert, older: &Alert) -> bool {
    match (older.ends_at, newer.ends_at) {
        (Some(resolved_at), None) => newer.starts_at > resolved_at,
        _ => true,
    }
}

/// Merges two views the sink has not taken in yet: the newer view, plus the resolved alerts of
/// the older one it does not supersede (a view lists a resolved alert only once).
pub(super) fn merge_views(older: Vec<Alert>, newer: Vec<Alert>) -> Vec<Alert> {
    let mut merged: BTreeMap<String, Alert> = newer
        .into_iter()
        .map(|alert| (alert.fingerprint(), alert))
        .collect();
    for alert in older.into_iter().filter(Alert::is_resolved) {
        let fingerprint = alert.fingerprint();
        let keep_newer = merged
            .get(&fingerprint)
            .is_some_and(|current| supersedes(current, &alert));
        if !keep_newer {
            merged.insert(fingerprint, alert);
        }
    }
    merged.into_values().collect()
}
