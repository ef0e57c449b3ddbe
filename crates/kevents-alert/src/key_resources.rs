//! Key resources: objects a team cares most about (databases, ingress controllers), named by
//! `cluster/namespace/kind/name` glob patterns. Each matching object gets gauges of its recent
//! Warning events, and rules can be limited to them.

use crate::occurrences::occurrences_added;
use crate::rules::glob_match;
use kevents_model::{EventRecord, Micros};
use kevents_store::Change;
use parking_lot::Mutex;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use std::collections::{HashMap, VecDeque};

const DAY: i64 = 24 * 3600 * 1_000_000;

/// One `cluster/namespace/kind/name` pattern of globs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyResourcePattern {
    cluster: String,
    namespace: String,
    kind: String,
    name: String,
}

impl std::str::FromStr for KeyResourcePattern {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let parts: Vec<&str> = text.split('/').collect();
        match parts.as_slice() {
            [cluster, namespace, kind, name] if parts.iter().all(|p| !p.is_empty()) => {
                Ok(KeyResourcePattern {
                    cluster: cluster.to_string(),
                    namespace: namespace.to_string(),
                    kind: kind.to_string(),
                    name: name.to_string(),
                })
            }
            _ => Err(format!(
                "key resource {text:?} must be cluster/namespace/kind/name (globs allowed, e.g. \
                 '*/prod/StatefulSet/postgres-*'; use '*' for the namespace of cluster-scoped kinds)"
            )),
        }
    }
}

impl KeyResourcePattern {
    fn matches(&self, event: &EventRecord, cluster: &str) -> bool {
        let object = &event.involved_object;
        let namespace = if object.namespace.is_empty() {
            &event.namespace
        } else {
            &object.namespace
        };
        glob_match(&self.cluster, cluster)
            && glob_match(&self.namespace, namespace)
            && glob_match(&self.kind, &object.kind)
            && glob_match(&self.name, &object.name)
    }
}

type ObjectLabels = Vec<(&'static str, String)>;

/// The key resource patterns and the Warning history of matching objects.
pub struct KeyResources {
    patterns: Vec<KeyResourcePattern>,
    cluster: String,
    warnings: Mutex<HashMap<ObjectLabels, VecDeque<(Micros, u64)>>>,
    warnings_24h: Family<ObjectLabels, Gauge>,
    since_last: Family<ObjectLabels, Gauge>,
}

impl KeyResources {
    /// Key resources for `patterns` in `cluster`.
    pub fn new(patterns: Vec<KeyResourcePattern>, cluster: impl Into<String>) -> KeyResources {
        KeyResources {
            patterns,
            cluster: cluster.into(),
            warnings: Mutex::new(HashMap::new()),
            warnings_24h: Family::default(),
            since_last: Family::default(),
        }
    }

    /// Registers the per-object gauges.
    pub fn register(&self, registry: &mut Registry) {
        registry.register(
            "kevents_key_resource_warnings_24h",
            "Warning event occurrences about a key resource in the last 24 hours",
            self.warnings_24h.clone(),
        );
        registry.register(
            "kevents_key_resource_seconds_since_last_warning",
            "Seconds since the last Warning event about a key resource",
            self.since_last.clone(),
        );
    }

    /// True when `event` is about a key resource.
    pub fn contains(&self, event: &EventRecord) -> bool {
        self.patterns
            .iter()
            .any(|p| p.matches(event, event.cluster_or(&self.cluster)))
    }

    fn labels(&self, event: &EventRecord) -> ObjectLabels {
        let object = &event.involved_object;
        vec![
            ("cluster", event.cluster_or(&self.cluster).to_string()),
            ("namespace", object.namespace.clone()),
            ("kind", object.kind.clone()),
            ("name", object.name.clone()),
        ]
    }

    /// Records a change observed at `now`.
    pub fn observe_at(&self, change: &Change, now: Micros) {
        let event = &change.object.record;
        if event.event_type != "Warning" || !self.contains(event) {
            return;
        }
        let added = occurrences_added(change);
        if added > 0 {
            self.warnings
                .lock()
                .entry(self.labels(event))
                .or_default()
                .push_back((now, added));
        }
    }

    /// Recomputes the gauges at `now`, forgetting objects quiet for a day.
    pub fn refresh(&self, now: Micros) {
        let mut warnings = self.warnings.lock();
        warnings.retain(|labels, history| {
            let last = history.back().map(|(at, _)| *at);
            while history.front().is_some_and(|(at, _)| at.0 <= now.0 - DAY) {
                history.pop_front();
            }
            if history.is_empty() {
                self.warnings_24h.remove(labels);
                self.since_last.remove(labels);
                return false;
            }
            let count: u64 = history.iter().map(|(_, n)| n).sum();
            self.warnings_24h.get_or_create(labels).set(count as i64);
            if let Some(last) = last {
                self.since_last
                    .get_or_create(labels)
                    .set((now.0 - last.0).max(0) / 1_000_000);
            }
            true
        });
    }
}

impl crate::Observer for KeyResources {
    fn observe(&self, change: &Change) {
        self.observe_at(change, Micros::now());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kevents_store::{ChangeType, StoredEvent};
    use std::sync::Arc;

    fn warning(kind: &str, namespace: &str, name: &str) -> Change {
        let mut record = EventRecord {
            namespace: namespace.into(),
            event_type: "Warning".into(),
            ..Default::default()
        };
        record.involved_object.kind = kind.into();
        record.involved_object.namespace = namespace.into();
        record.involved_object.name = name.into();
        Change {
            resource_version: 1,
            change_type: ChangeType::Added,
            object: Arc::new(StoredEvent {
                record,
                updated_at: Micros(0),
            }),
            previous: None,
            committed_at: Micros(0),
        }
    }

    #[test]
    fn patterns_select_objects_and_gauges_count_a_day_of_warnings() {
        let patterns = vec!["*/prod/StatefulSet/postgres-*".parse().unwrap()];
        let keys = KeyResources::new(patterns, "c1");
        let mut registry = Registry::default();
        keys.register(&mut registry);
        keys.observe_at(&warning("StatefulSet", "prod", "postgres-main"), Micros(0));
        keys.observe_at(
            &warning("StatefulSet", "prod", "postgres-main"),
            Micros(10 * 1_000_000),
        );
        keys.observe_at(
            &warning("Deployment", "prod", "web"),
            Micros(10 * 1_000_000),
        );
        keys.refresh(Micros(70 * 1_000_000));
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &registry).unwrap();
        let labels = r#"{cluster="c1",namespace="prod",kind="StatefulSet",name="postgres-main"}"#;
        assert!(
            text.contains(&format!("kevents_key_resource_warnings_24h{labels} 2")),
            "{text}"
        );
        assert!(
            text.contains(&format!(
                "kevents_key_resource_seconds_since_last_warning{labels} 60"
            )),
            "{text}"
        );
        assert!(!text.contains("web"), "{text}");
        keys.refresh(Micros(DAY + 20 * 1_000_000));
        assert!(
            keys.warnings.lock().is_empty(),
            "a day without warnings forgets the object"
        );
    }

    #[test]
    fn malformed_patterns_are_rejected() {
        assert!("prod/Pod/web".parse::<KeyResourcePattern>().is_err());
        assert!("*//Pod/web".parse::<KeyResourcePattern>().is_err());
    }
}
