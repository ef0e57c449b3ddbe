//! The event-derived series and their cardinality guard.

use kevents_model::EventRecord;
use kevents_store::{Change, ChangeType};
use parking_lot::Mutex;
use prometheus_client::encoding::{EncodeMetric, MetricEncoder};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::{MetricType, TypedMetric};
use prometheus_client::registry::Registry;
use std::collections::HashSet;
use std::str::FromStr;

/// A label of the event series.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EventLabel {
    /// `type`: Normal / Warning.
    Type,
    /// `reason`.
    Reason,
    /// `namespace` of the event.
    Namespace,
    /// `involved_object_kind`.
    InvolvedObjectKind,
    /// `source`: source.component, else reportingController.
    Source,
    /// `cluster`: the cluster the event came from.
    Cluster,
}

impl EventLabel {
    /// Every label, in exposition order.
    pub const ALL: [EventLabel; 6] = [
        EventLabel::Type,
        EventLabel::Reason,
        EventLabel::Namespace,
        EventLabel::InvolvedObjectKind,
        EventLabel::Source,
        EventLabel::Cluster,
    ];

    /// The Prometheus label name.
    pub fn name(self) -> &'static str {
        match self {
            EventLabel::Type => "type",
            EventLabel::Reason => "reason",
            EventLabel::Namespace => "namespace",
            EventLabel::InvolvedObjectKind => "involved_object_kind",
            EventLabel::Source => "source",
            EventLabel::Cluster => "cluster",
        }
    }

    /// Labels whose values are bounded by nature and so are never folded.
    fn bounded(self) -> bool {
        matches!(self, EventLabel::Type | EventLabel::Cluster)
    }
}

impl FromStr for EventLabel {
    type Err = String;

    fn from_str(text: &str) -> Result<EventLabel, String> {
        EventLabel::ALL
            .into_iter()
            .find(|label| label.name() == text)
            .ok_or_else(|| {
                let names: Vec<&str> = EventLabel::ALL.iter().map(|l| l.name()).collect();
                format!(
                    "unknown event metric label {text:?}; known: {}",
                    names.join(", ")
                )
            })
    }
}

/// Settings of the event series.
#[derive(Clone, Debug)]
pub struct EventMetricsConfig {
    /// Labels put on the series.
    pub labels: Vec<EventLabel>,
    /// Most label combinations per series; past it, unbounded label values become `other`.
    pub max_series: usize,
    /// Value of the `cluster` label for events of this hub.
    pub cluster: String,
}

impl Default for EventMetricsConfig {
    fn default() -> Self {
        EventMetricsConfig {
            labels: EventLabel::ALL.to_vec(),
            max_series: 10_000,
            cluster: "default".to_string(),
        }
    }
}

type Labels = Vec<(&'static str, String)>;

/// A counter exposed without the `_total` suffix, so `kube_event_count` keeps the name the
/// established exporters (and the rules people already run) use; the type is `untyped`, which
/// `rate()` treats the same.
#[derive(Clone, Debug, Default)]
struct ExporterCounter(Counter);

impl TypedMetric for ExporterCounter {
    const TYPE: MetricType = MetricType::Unknown;
}

impl EncodeMetric for ExporterCounter {
    fn encode(&self, mut encoder: MetricEncoder) -> Result<(), std::fmt::Error> {
        encoder.encode_gauge(&(self.0.get() as i64))
    }

    fn metric_type(&self) -> MetricType {
        MetricType::Unknown
    }
}

/// The event-derived series.
pub struct EventMetrics {
    config: EventMetricsConfig,
    occurrences: Family<Labels, ExporterCounter>,
    unique: Family<Labels, Counter>,
    folded: Counter,
    seen: Mutex<HashSet<Labels>>,
}

impl EventMetrics {
    /// Creates the series and registers them.
    pub fn new(config: EventMetricsConfig, registry: &mut Registry) -> EventMetrics {
        let metrics = EventMetrics {
            config,
            occurrences: Family::default(),
            unique: Family::default(),
            folded: Counter::default(),
            seen: Mutex::new(HashSet::new()),
        };
        registry.register(
            "kube_event_count",
            "Occurrences of Kubernetes events (count increments, not objects), as event exporters expose it",
            metrics.occurrences.clone(),
        );
        registry.register(
            "kube_event_unique_events",
            "Distinct Kubernetes event objects created",
            metrics.unique.clone(),
        );
        registry.register(
            "kevents_metric_label_folds",
            "Observations whose label values were folded into \"other\" by the cardinality guard",
            metrics.folded.clone(),
        );
        metrics
    }

    /// The labels of `event` for `series` series (each fold is counted once per series).
    fn labels(&self, event: &EventRecord, series: u64) -> Labels {
        let exact: Labels = self
            .config
            .labels
            .iter()
            .map(|label| {
                let value = match label {
                    EventLabel::Type => event.event_type.clone(),
                    EventLabel::Reason => event.reason.clone(),
                    EventLabel::Namespace => event.namespace.clone(),
                    EventLabel::InvolvedObjectKind => event.involved_object.kind.clone(),
                    EventLabel::Source => event.source_name().to_string(),
                    EventLabel::Cluster => event.cluster_or(&self.config.cluster).to_string(),
                };
                (label.name(), value)
            })
            .collect();
        let mut seen = self.seen.lock();
        if seen.contains(&exact) {
            return exact;
        }
        if seen.len() < self.config.max_series {
            seen.insert(exact.clone());
            return exact;
        }
        self.folded.inc_by(series);
        let folded: Labels = exact
            .into_iter()
            .zip(&self.config.labels)
            .map(|((name, value), label)| {
                if label.bounded() {
                    (name, value)
                } else {
                    (name, "other".to_string())
                }
            })
            .collect();
        seen.insert(folded.clone());
        folded
    }
}

impl crate::Observer for EventMetrics {
    /// Accounts for one committed change.
    fn observe(&self, change: &Change) {
        let event = &change.object.record;
        let added = change.change_type == ChangeType::Added;
        let occurred = crate::occurrences::occurrences_added(change);
        if !added && occurred == 0 {
            return;
        }
        // Worked out once for both series: each call allocates every label value.
        let labels = self.labels(event, u64::from(added) + u64::from(occurred > 0));
        if added {
            self.unique.get_or_create(&labels).inc();
        }
        if occurred > 0 {
            self.occurrences.get_or_create(&labels).0.inc_by(occurred);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Observer;
    use kevents_model::Micros;
    use kevents_store::StoredEvent;
    use prometheus_client::encoding::prometheus_text::encode;
    use std::sync::Arc;

    fn change(
        change_type: ChangeType,
        reason: &str,
        namespace: &str,
        count: i32,
        previous_count: Option<i32>,
    ) -> Change {
        let record = |count| EventRecord {
            namespace: namespace.into(),
            name: "e".into(),
            reason: reason.into(),
            event_type: "Warning".into(),
            count,
            source_component: "kubelet".into(),
            ..Default::default()
        };
        let stored = |count| {
            Arc::new(StoredEvent {
                record: record(count),
                updated_at: Micros(0),
            })
        };
        Change {
            resource_version: 1,
            change_type,
            object: stored(count),
            previous: previous_count.map(stored),
            committed_at: Micros(0),
        }
    }

    fn exposition(registry: &Registry) -> String {
        let mut out = String::new();
        encode(&mut out, registry).unwrap();
        out
    }

    #[test]
    fn occurrences_count_increments_not_objects() {
        let mut registry = Registry::default();
        let metrics = EventMetrics::new(EventMetricsConfig::default(), &mut registry);
        metrics.observe(&change(ChangeType::Added, "BackOff", "web", 1, None));
        metrics.observe(&change(ChangeType::Modified, "BackOff", "web", 4, Some(1)));
        metrics.observe(&change(ChangeType::Modified, "BackOff", "web", 4, Some(4)));
        metrics.observe(&change(ChangeType::Deleted, "BackOff", "web", 4, Some(4)));
        let text = exposition(&registry);
        let labels = r#"{type="Warning",reason="BackOff",namespace="web",involved_object_kind="",source="kubelet",cluster="default"}"#;
        assert!(
            text.contains(&format!("kube_event_count{labels} 4\n")),
            "{text}"
        );
        assert!(
            text.contains(&format!("kube_event_unique_events_total{labels} 1\n")),
            "{text}"
        );
        assert!(text.contains("# TYPE kube_event_count untyped\n"), "{text}");
    }

    #[test]
    fn cardinality_guard_folds_new_combinations_into_other() {
        let mut registry = Registry::default();
        let config = EventMetricsConfig {
            labels: vec![EventLabel::Type, EventLabel::Reason],
            max_series: 2,
            cluster: "c".into(),
        };
        let metrics = EventMetrics::new(config, &mut registry);
        for reason in ["A", "B", "C", "D", "A"] {
            metrics.observe(&change(ChangeType::Added, reason, "ns", 1, None));
        }
        let text = exposition(&registry);
        assert!(
            text.contains(r#"kube_event_count{type="Warning",reason="A"} 2"#),
            "{text}"
        );
        assert!(
            text.contains(r#"kube_event_count{type="Warning",reason="B"} 1"#),
            "{text}"
        );
        assert!(
            text.contains(r#"kube_event_count{type="Warning",reason="other"} 2"#),
            "{text}"
        );
        assert!(!text.contains(r#"reason="C""#), "{text}");
        assert!(
            text.contains("kevents_metric_label_folds_total 4"),
            "{text}"
        );
    }

    #[test]
    fn labels_parse_by_name() {
        assert_eq!(
            "involved_object_kind".parse(),
            Ok(EventLabel::InvolvedObjectKind)
        );
        assert!("pod".parse::<EventLabel>().is_err());
    }
}
