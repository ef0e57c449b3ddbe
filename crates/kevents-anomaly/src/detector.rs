//! The detector: one baseline per pattern (cluster, reason, learned template), per
//! (cluster, namespace, reason, type) and per (cluster, reason, type), fed every occurrence; new patterns and first warnings are
//! found as they arrive, spikes and drops by [`Detector::evaluate`] against the baselines.

mod evaluate;
#[cfg(test)]
mod tests;

use crate::anomaly::{Anomaly, AnomalyKind, EventLink, LINKS_KEPT};
use crate::baseline::{Baseline, BaselineConfig, DAY, HOUR, MINUTE};
use kevents_model::Micros;
use std::collections::{HashMap, VecDeque};

/// The detector's parameters.
#[derive(Clone, Debug, PartialEq)]
pub struct DetectorConfig {
    /// History kept and needed per baseline.
    pub baseline: BaselineConfig,
    /// Hours of history the hub must know before a pattern counts as new. Default 24.
    pub learning_hours: i64,
    /// Least robust z-score of the five-minute count for a spike. Default 6.
    pub spike_score: f64,
    /// Least occurrences in five minutes for a spike. Default 10.
    pub spike_min: u32,
    /// A spike exceeds the usual day's busiest five minutes this many times. Default 2.
    pub peak_factor: f64,
    /// Least usual occurrences per hour of a Normal pattern watched for drops. Default 6.
    pub drop_min_per_hour: f64,
    /// Least share of comparable hours in which it occurred. Default 0.9.
    pub drop_active_share: f64,
    /// Quiet for this many usual gaps is a drop. Default 3.
    pub drop_gaps: f64,
    /// ... and for at least these minutes. Default 3.
    pub drop_min_minutes: f64,
    /// A new pattern or first warning ends after this many quiet minutes. Default 10.
    pub quiet_minutes: i64,
    /// Keys tracked at most; beyond it new keys are not tracked. Default 100,000.
    pub max_keys: usize,
    /// Ended anomalies kept. Default 1,000.
    pub ended_kept: usize,
}

impl Default for DetectorConfig {
    fn default() -> DetectorConfig {
        DetectorConfig {
            baseline: BaselineConfig::default(),
            learning_hours: 24,
            spike_score: 6.0,
            spike_min: 10,
            peak_factor: 2.0,
            drop_min_per_hour: 6.0,
            drop_active_share: 0.9,
            drop_gaps: 3.0,
            drop_min_minutes: 3.0,
            quiet_minutes: 10,
            max_keys: 100_000,
            ended_kept: 1_000,
        }
    }
}

/// One occurrence (or several at one time) of an event.
#[derive(Clone, Copy, Debug)]
pub struct Occurrence<'a> {
    /// The cluster; empty for the hub's own events.
    pub cluster: &'a str,
    /// The event's namespace.
    pub namespace: &'a str,
    /// `reason`.
    pub reason: &'a str,
    /// `type`.
    pub event_type: &'a str,
    /// The learned message template.
    pub template: &'a str,
    /// `involvedObject.kind`.
    pub object_kind: &'a str,
    /// `involvedObject.namespace`.
    pub object_namespace: &'a str,
    /// `involvedObject.name`.
    pub object_name: &'a str,
    /// The event's name.
    pub event: &'a str,
    /// Whether the object is a key resource (its first Warning in a day is an anomaly).
    pub key_resource: bool,
    /// When (the event's last timestamp).
    pub at: Micros,
    /// How many occurrences.
    pub count: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum KeyKind {
    /// Cluster, namespace, reason and type.
    Group,
    /// Cluster, reason and type: a spike spread over namespaces (a node's pods).
    ClusterGroup,
    /// Cluster, reason and learned template.
    Pattern,
}

#[derive(Debug)]
struct Tracked {
    kind: KeyKind,
    cluster: String,
    namespace: String,
    reason: String,
    event_type: String,
    template: String,
    baseline: Baseline,
    /// The latest events, with their time.
    latest: VecDeque<(Micros, EventLink)>,
}

/// Finds anomalies. One writer: wrap it in a lock to share it.
#[derive(Debug, Default)]
pub struct Detector {
    config: DetectorConfig,
    keys: HashMap<u64, Tracked>,
    known_since: Option<Micros>,
    /// Key of a key resource → its latest Warning.
    warned: HashMap<u64, Micros>,
    anomalies: Vec<Anomaly>,
    /// (key, kind) → index in `anomalies` of the open anomaly.
    open: HashMap<(u64, AnomalyKind), usize>,
    /// Anomalies opened so far, by kind.
    opened: HashMap<AnomalyKind, u64>,
    version: u64,
}

fn hash(fields: &[&str]) -> u64 {
    let mut bytes = Vec::with_capacity(fields.iter().map(|f| f.len() + 1).sum());
    for field in fields {
        bytes.extend_from_slice(field.as_bytes());
        bytes.push(0xFF);
    }
    twox_hash::XxHash3_64::oneshot(&bytes)
}

fn pattern_key(cluster: &str, reason: &str, template: &str) -> u64 {
    hash(&["pattern", cluster, reason, template])
}

impl Detector {
    /// An empty detector.
    pub fn new(config: DetectorConfig) -> Detector {
        Detector {
            config,
            ..Detector::default()
        }
    }

    /// The settings.
    pub fn config(&self) -> &DetectorConfig {
        &self.config
    }

    /// Accounts for an occurrence; returns the anomalies it opened or changed. `now` is the
    /// server time: only occurrences of the last minutes open anomalies (not those read back
    /// from the store after a restart).
    pub fn observe(&mut self, occurrence: &Occurrence<'_>, now: Micros) -> Vec<Anomaly> {
        if occurrence.count == 0 {
            return Vec::new();
        }
        let at = occurrence.at.min(now);
        let learned_before = self.known_since.is_some_and(|since| {
            since.0 <= now.0 - self.config.learning_hours * HOUR && since.0 < at.0
        });
        self.known_since = Some(self.known_since.map_or(at, |s| s.min(at)));
        let recent = at.0 > now.0 - self.config.quiet_minutes * MINUTE;
        let mut changed = Vec::new();
        let group = hash(&[
            "group",
            occurrence.cluster,
            occurrence.namespace,
            occurrence.reason,
            occurrence.event_type,
        ]);
        self.track(group, KeyKind::Group, occurrence, at);
        let cluster_group = hash(&[
            "cluster",
            occurrence.cluster,
            occurrence.reason,
            occurrence.event_type,
        ]);
        self.track(cluster_group, KeyKind::ClusterGroup, occurrence, at);
        let pattern = pattern_key(occurrence.cluster, occurrence.reason, occurrence.template);
        let new_pattern = !self.keys.contains_key(&pattern);
        self.track(pattern, KeyKind::Pattern, occurrence, at);
        let warning = occurrence.event_type == "Warning";
        let history_days = (at.0 - self.known_since.map_or(at.0, |s| s.0)) as f64 / DAY as f64;
        if new_pattern && warning && learned_before && recent {
            let message = format!("new {} pattern: {}", occurrence.reason, occurrence.template);
            let opened = self.open(
                pattern,
                AnomalyKind::NewPattern,
                at,
                history_days,
                None,
                message,
            );
            changed.extend(opened.map(|index| self.anomalies[index].clone()));
        }
        if occurrence.key_resource && warning {
            let resource = format!(
                "{}/{}/{}",
                occurrence.object_kind, occurrence.object_namespace, occurrence.object_name
            );
            let key = hash(&["resource", occurrence.cluster, &resource]);
            let previous = self.warned.insert(key, at);
            let first = previous.is_none_or(|p| p.0 <= at.0 - DAY);
            if first && recent && learned_before {
                let days = previous.map_or(history_days, |p| (at.0 - p.0) as f64 / DAY as f64);
                let message = format!("first Warning for {resource}: {}", occurrence.reason);
                if let Some(index) =
                    self.open(key, AnomalyKind::FirstWarning, at, days, None, message)
                {
                    let anomaly = &mut self.anomalies[index];
                    anomaly.cluster = occurrence.cluster.to_string();
                    anomaly.namespace = occurrence.namespace.to_string();
                    anomaly.reason = occurrence.reason.to_string();
                    anomaly.event_type = occurrence.event_type.to_string();
                    anomaly.object =
                        format!("{}/{}", occurrence.object_kind, occurrence.object_name);
                    self.link(occurrence, key, AnomalyKind::FirstWarning);
                    changed.push(self.anomalies[index].clone());
                }
            }
        }
        for (key, kind) in [
            (pattern, AnomalyKind::NewPattern),
            (group, AnomalyKind::RateSpike),
            (cluster_group, AnomalyKind::RateSpike),
            (pattern, AnomalyKind::RateDrop),
        ] {
            if let Some(anomaly) = self.link(occurrence, key, kind) {
                changed.push(anomaly);
            }
        }
        changed
    }

    fn track(&mut self, key: u64, kind: KeyKind, occurrence: &Occurrence<'_>, at: Micros) {
        if !self.keys.contains_key(&key) && self.keys.len() >= self.config.max_keys {
            return;
        }
        let tracked = self.keys.entry(key).or_insert_with(|| Tracked {
            kind,
            cluster: occurrence.cluster.to_string(),
            namespace: occurrence.namespace.to_string(),
            reason: occurrence.reason.to_string(),
            event_type: occurrence.event_type.to_string(),
            template: match kind {
                KeyKind::Pattern => occurrence.template.to_string(),
                KeyKind::Group | KeyKind::ClusterGroup => String::new(),
            },
            baseline: Baseline::default(),
            latest: VecDeque::new(),
        });
        tracked
            .baseline
            .add(at, occurrence.count, &self.config.baseline);
        if tracked.namespace != occurrence.namespace {
            tracked.namespace = occurrence.namespace.to_string();
        }
        if tracked.latest.len() == LINKS_KEPT {
            tracked.latest.pop_front();
        }
        let link = EventLink {
            namespace: occurrence.namespace.to_string(),
            name: occurrence.event.to_string(),
        };
        tracked.latest.push_back((at, link));
    }

    /// Adds the occurrence's event to the open anomaly of `key` and `kind`, if any.
    fn link(
        &mut self,
        occurrence: &Occurrence<'_>,
        key: u64,
        kind: AnomalyKind,
    ) -> Option<Anomaly> {
        let &index = self.open.get(&(key, kind))?;
        let anomaly = &mut self.anomalies[index];
        let link = EventLink {
            namespace: occurrence.namespace.to_string(),
            name: occurrence.event.to_string(),
        };
        if anomaly.events.len() >= LINKS_KEPT || anomaly.events.contains(&link) {
            return None;
        }
        anomaly.events.push(link);
        self.version += 1;
        anomaly.version = self.version;
        Some(anomaly.clone())
    }

    /// Opens an anomaly of `kind` for `key` unless one is open; returns its index.
    fn open(
        &mut self,
        key: u64,
        kind: AnomalyKind,
        start: Micros,
        score: f64,
        baseline: Option<crate::baseline::Expected>,
        message: String,
    ) -> Option<usize> {
        if self.open.contains_key(&(key, kind)) {
            return None;
        }
        let tracked = self.keys.get(&key);
        self.version += 1;
        let minute = start.0.div_euclid(MINUTE);
        let anomaly = Anomaly {
            name: format!(
                "{}-{key:016x}-{minute:x}",
                kind.as_str().to_ascii_lowercase()
            ),
            kind,
            cluster: tracked.map(|t| t.cluster.clone()).unwrap_or_default(),
            namespace: tracked.map(|t| t.namespace.clone()).unwrap_or_default(),
            reason: tracked.map(|t| t.reason.clone()).unwrap_or_default(),
            event_type: tracked.map(|t| t.event_type.clone()).unwrap_or_default(),
            template: tracked.map(|t| t.template.clone()).unwrap_or_default(),
            object: String::new(),
            score,
            start,
            end: None,
            baseline,
            observed: tracked.map_or(0, |t| u64::from(t.baseline.current_window(start))),
            // A drop links the last events before the quiet; the others their own.
            events: tracked.map_or_else(Vec::new, |t| {
                t.latest
                    .iter()
                    .filter(|(at, _)| kind == AnomalyKind::RateDrop || *at >= start)
                    .map(|(_, link)| link.clone())
                    .collect()
            }),
            message,
            version: self.version,
        };
        *self.opened.entry(kind).or_default() += 1;
        self.open.insert((key, kind), self.anomalies.len());
        self.anomalies.push(anomaly);
        Some(self.anomalies.len() - 1)
    }

    /// A pattern's template gained a wildcard (see `kevents_correlate::miner`): its baseline
    /// moves to the new template's, which does not count as a new pattern.
    pub fn merge_pattern(&mut self, cluster: &str, reason: &str, from: &str, to: &str) {
        let Some(old) = self.keys.remove(&pattern_key(cluster, reason, from)) else {
            return;
        };
        let config = self.config.baseline;
        let target = self
            .keys
            .entry(pattern_key(cluster, reason, to))
            .or_insert_with(|| Tracked {
                template: to.to_string(),
                baseline: Baseline::default(),
                latest: VecDeque::new(),
                ..old_shape(&old)
            });
        target.baseline.merge(&old.baseline, &config);
    }

    /// Every anomaly kept, open and ended, oldest first.
    pub fn anomalies(&self) -> &[Anomaly] {
        &self.anomalies
    }

    /// The version of the latest change (0 before any).
    pub fn version(&self) -> u64 {
        self.version
    }

    /// Keys tracked (patterns and groups).
    pub fn keys(&self) -> usize {
        self.keys.len()
    }

    /// Anomalies of `kind` opened so far (for a counter).
    pub fn opened(&self, kind: AnomalyKind) -> u64 {
        self.opened.get(&kind).copied().unwrap_or(0)
    }

    /// Anomalies open now.
    pub fn open_count(&self) -> usize {
        self.open.len()
    }
}

fn old_shape(old: &Tracked) -> Tracked {
    Tracked {
        kind: old.kind,
        cluster: old.cluster.clone(),
        namespace: old.namespace.clone(),
        reason: old.reason.clone(),
        event_type: old.event_type.clone(),
        template: String::new(),
        baseline: Baseline::default(),
        latest: old.latest.clone(),
    }
}
