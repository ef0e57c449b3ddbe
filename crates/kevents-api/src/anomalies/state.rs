//! The hub's anomaly detector, fed from the series state with every stored occurrence and
//! evaluated periodically; changes go to watchers and metrics.

use kevents_anomaly::{Anomaly, AnomalyKind, Detector, DetectorConfig, Occurrence};
use kevents_correlate::Series;
use kevents_model::{EventRecord, Micros};
use parking_lot::RwLock;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use std::sync::Arc;
use tokio::sync::broadcast;

/// Tells whether an event is about a key resource (`--key-resource`).
pub type KeyResourceCheck = Box<dyn Fn(&EventRecord) -> bool + Send + Sync>;

/// `source.component` of the events written for anomalies.
pub const ANOMALY_SOURCE: &str = "kevents-anomaly";

/// The anomalies of the hub's events.
pub struct AnomalyState {
    pub(crate) detector: RwLock<Detector>,
    pub(crate) feed: broadcast::Sender<Arc<Anomaly>>,
    key_resource: RwLock<Option<KeyResourceCheck>>,
    found: Family<Vec<(&'static str, String)>, Counter>,
    open: Family<Vec<(&'static str, String)>, Gauge>,
}

impl AnomalyState {
    /// A detector with `config`.
    pub fn new(config: DetectorConfig) -> AnomalyState {
        AnomalyState {
            detector: RwLock::new(Detector::new(config)),
            feed: broadcast::channel(1024).0,
            key_resource: RwLock::new(None),
            found: Family::default(),
            open: Family::default(),
        }
    }

    /// Sets which objects are key resources.
    pub fn set_key_resources(&self, check: KeyResourceCheck) {
        *self.key_resource.write() = Some(check);
    }

    /// Registers `kevents_anomalies_total{kind}` and `kevents_anomalies_open{kind}`.
    pub fn register(&self, registry: &mut Registry) {
        registry.register(
            "kevents_anomalies",
            "Anomalies found, by kind (NewPattern, RateSpike, RateDrop, FirstWarning)",
            self.found.clone(),
        );
        registry.register(
            "kevents_anomalies_open",
            "Anomalies open now, by kind",
            self.open.clone(),
        );
    }

    /// Accounts for `added` occurrences of `record`, which belongs to `series`; `merged` are
    /// the series its message merged into `series`' template.
    pub(crate) fn observe(
        &self,
        record: &EventRecord,
        series: &Series,
        added: u64,
        merged: &[(Series, kevents_correlate::SeriesId)],
        now: Micros,
    ) {
        if record.source_component == ANOMALY_SOURCE {
            // The hub's own record of an anomaly is not evidence of another.
            return;
        }
        let key = series.key();
        let mut detector = self.detector.write();
        for (old, _) in merged {
            let old = old.key();
            detector.merge_pattern(old.cluster, old.reason, old.template, key.template);
        }
        if added == 0 {
            return;
        }
        let key_resource = self
            .key_resource
            .read()
            .as_ref()
            .is_some_and(|check| check(record));
        let at = record
            .last_seen()
            .or(record.creation_timestamp)
            .unwrap_or(now)
            .min(now);
        let occurrence = Occurrence {
            cluster: key.cluster,
            namespace: key.namespace,
            reason: key.reason,
            event_type: key.event_type,
            template: key.template,
            object_kind: key.object.kind,
            object_namespace: key.object.namespace,
            object_name: key.object.name,
            event: &record.name,
            key_resource,
            at,
            count: added,
        };
        let changed = detector.observe(&occurrence, now);
        self.publish(&detector, changed);
    }

    /// Finds spikes and drops and ends what is over, at `now`.
    pub fn evaluate(&self, now: Micros) {
        let mut detector = self.detector.write();
        let changed = detector.evaluate(now);
        self.publish(&detector, changed);
    }

    fn publish(&self, detector: &Detector, changed: Vec<Anomaly>) {
        if changed.is_empty() {
            return;
        }
        for kind in [
            AnomalyKind::NewPattern,
            AnomalyKind::RateSpike,
            AnomalyKind::RateDrop,
            AnomalyKind::FirstWarning,
        ] {
            let open = detector
                .anomalies()
                .iter()
                .filter(|a| a.kind == kind && a.end.is_none())
                .count();
            let labels = vec![("kind", kind.as_str().to_string())];
            self.open
                .get_or_create(&labels)
                .set(i64::try_from(open).unwrap_or(i64::MAX));
            let found = self.found.get_or_create(&labels);
            found.inc_by(detector.opened(kind).saturating_sub(found.get()));
        }
        if self.feed.receiver_count() > 0 {
            for anomaly in changed {
                let _ = self.feed.send(Arc::new(anomaly));
            }
        }
    }
}

impl Default for AnomalyState {
    fn default() -> AnomalyState {
        AnomalyState::new(DetectorConfig::default())
    }
}
