//! What an anomaly says: its kind, what it is about, when, how unusual, compared with what,
//! and which events show it.

use crate::baseline::Expected;
use kevents_model::Micros;

/// The kinds of anomalies.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AnomalyKind {
    /// A Warning pattern (reason and learned template) never seen before.
    NewPattern,
    /// Far more Warnings of a cluster, namespace and reason than usual at this hour, and than
    /// the busiest five minutes of a usual day (rollouts).
    RateSpike,
    /// A Normal pattern that usually occurs every few minutes at this hour went quiet (a CronJob
    /// that stopped creating Jobs, a controller that stopped reconciling).
    RateDrop,
    /// A Warning about a key resource, the first in a day.
    FirstWarning,
}

impl AnomalyKind {
    /// The name shown in the `kind` field (`NewPattern`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            AnomalyKind::NewPattern => "NewPattern",
            AnomalyKind::RateSpike => "RateSpike",
            AnomalyKind::RateDrop => "RateDrop",
            AnomalyKind::FirstWarning => "FirstWarning",
        }
    }

    /// Parses [`AnomalyKind::as_str`].
    pub fn parse(text: &str) -> Option<AnomalyKind> {
        [
            AnomalyKind::NewPattern,
            AnomalyKind::RateSpike,
            AnomalyKind::RateDrop,
            AnomalyKind::FirstWarning,
        ]
        .into_iter()
        .find(|kind| kind.as_str() == text)
    }
}

/// An event an anomaly links to, by namespace and name (in the anomaly's cluster).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventLink {
    /// `metadata.namespace`.
    pub namespace: String,
    /// `metadata.name`.
    pub name: String,
}

/// Events linked per anomaly, at most.
pub const LINKS_KEPT: usize = 5;

/// One anomaly, open (`end` is `None`) or ended.
#[derive(Clone, Debug, PartialEq)]
pub struct Anomaly {
    /// A name that is the same whenever the same key turns anomalous at the same minute: kind,
    /// key hash and start minute (a DNS subdomain).
    pub name: String,
    /// The kind.
    pub kind: AnomalyKind,
    /// The cluster of its events; empty for the hub's own.
    pub cluster: String,
    /// The namespace of its events (of the latest one, for a pattern).
    pub namespace: String,
    /// `reason`.
    pub reason: String,
    /// `type`.
    pub event_type: String,
    /// The learned message template, for pattern anomalies; empty otherwise.
    pub template: String,
    /// `Kind/name` of the key resource, for [`AnomalyKind::FirstWarning`]; empty otherwise.
    pub object: String,
    /// How unusual: a robust z-score for spikes, quiet time in usual gaps for drops, the days
    /// of history without it for new patterns and first warnings.
    pub score: f64,
    /// When it started.
    pub start: Micros,
    /// When it ended; `None` while open.
    pub end: Option<Micros>,
    /// The baseline it was compared with, when there is one.
    pub baseline: Option<Expected>,
    /// Occurrences in the five minutes when it was detected (spikes: the most since).
    pub observed: u64,
    /// Some of its events (the first ones), at most [`LINKS_KEPT`].
    pub events: Vec<EventLink>,
    /// What happened, in one sentence.
    pub message: String,
    /// The detector's version at its last change (for watches).
    pub version: u64,
}

impl Anomaly {
    /// A field selector that lists its events (with the namespace and a time range).
    pub fn selector(&self) -> String {
        let mut selector = format!("reason={}", self.reason);
        if !self.event_type.is_empty() {
            selector.push_str(&format!(",type={}", self.event_type));
        }
        if let Some((kind, name)) = self.object.split_once('/') {
            selector.push_str(&format!(
                ",involvedObject.kind={kind},involvedObject.name={name}"
            ));
        }
        selector
    }
}
