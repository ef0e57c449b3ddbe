//! The internal event record: one shape for both Kubernetes API versions.

use crate::time::Micros;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A reference to the object an event is about (`involvedObject` / `regarding`, or `related`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectRef {
    /// Kind of the referent, e.g. `Pod`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub kind: String,
    /// Namespace of the referent; empty for cluster-scoped objects.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub namespace: String,
    /// Name of the referent.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// UID of the referent.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub uid: String,
    /// API version of the referent.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub api_version: String,
    /// Resource version of the referent when the event was emitted.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub resource_version: String,
    /// Path to a part of the referent, e.g. `spec.containers{web}`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub field_path: String,
}

/// An events.k8s.io-style series: the event happened `count` times, last at `last_observed`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Series {
    /// Number of occurrences so far.
    pub count: i32,
    /// Time of the last occurrence; `None` when a client left it unset.
    pub last_observed: Option<Micros>,
}

/// Identity of a stored event: its cluster, namespace and name. Keys order by cluster first, so
/// one cluster's events are one contiguous range.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct EventKey {
    /// The cluster the event was collected from; empty for the hub's own events.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub cluster: String,
    /// The event's namespace.
    pub namespace: String,
    /// The event's name.
    pub name: String,
}

impl EventKey {
    /// Builds a key of the hub's own cluster from its parts.
    pub fn new(namespace: impl Into<String>, name: impl Into<String>) -> EventKey {
        EventKey::in_cluster("", namespace, name)
    }

    /// Builds a key of an event collected from `cluster`.
    pub fn in_cluster(
        cluster: impl Into<String>,
        namespace: impl Into<String>,
        name: impl Into<String>,
    ) -> EventKey {
        EventKey {
            cluster: cluster.into(),
            namespace: namespace.into(),
            name: name.into(),
        }
    }
}

/// One Kubernetes Event as kevents keeps it, independent of the API version it came through.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct EventRecord {
    /// The cluster the event was collected from; empty for events written to the hub itself.
    /// Shown to clients as the `kevents.io/cluster` label.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub cluster: String,
    /// `metadata.resourceVersion` of the event in its source cluster, for collected events: a
    /// replayed or older version of the same source object is recognised and not applied again.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub source_resource_version: String,
    /// `metadata.namespace`.
    pub namespace: String,
    /// `metadata.name`.
    pub name: String,
    /// `metadata.generateName`, kept for clients that read it back.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub generate_name: String,
    /// `metadata.uid`, assigned by the server.
    #[serde(default)]
    pub uid: String,
    /// `metadata.resourceVersion`, assigned by the store on every write.
    #[serde(default)]
    pub resource_version: u64,
    /// `metadata.creationTimestamp`, assigned by the server (second precision).
    #[serde(default)]
    pub creation_timestamp: Option<Micros>,
    /// `metadata.labels`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// `metadata.annotations`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
    /// Other `metadata` fields (ownerReferences, finalizers, ...) kept verbatim.
    #[serde(default, skip_serializing_if = "serde_json::Map::is_empty")]
    pub extra_metadata: serde_json::Map<String, serde_json::Value>,

    /// `involvedObject` (core/v1) / `regarding` (events.k8s.io/v1).
    #[serde(default)]
    pub involved_object: ObjectRef,
    /// `related`: a secondary object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub related: Option<ObjectRef>,
    /// `reason`: a short CamelCase machine-readable cause.
    #[serde(default)]
    pub reason: String,
    /// `message` (core/v1) / `note` (events.k8s.io/v1).
    #[serde(default)]
    pub message: String,
    /// `type`: `Normal` or `Warning` (legacy clients may send anything).
    #[serde(default, rename = "type")]
    pub event_type: String,
    /// `action`: what was done or failed.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub action: String,
    /// `reportingComponent` (core/v1) / `reportingController` (events.k8s.io/v1).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub reporting_controller: String,
    /// `reportingInstance`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub reporting_instance: String,
    /// `eventTime`: when the event was first observed (new-style events).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_time: Option<Micros>,
    /// `series`: repeated occurrences (new-style events).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub series: Option<Series>,
    /// `source.component` (core/v1) / `deprecatedSource.component`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub source_component: String,
    /// `source.host` / `deprecatedSource.host`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub source_host: String,
    /// `firstTimestamp` / `deprecatedFirstTimestamp` (second precision).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_timestamp: Option<Micros>,
    /// `lastTimestamp` / `deprecatedLastTimestamp` (second precision).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_timestamp: Option<Micros>,
    /// `count` / `deprecatedCount`; 0 when unset.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub count: i32,
}

fn is_zero(value: &i32) -> bool {
    *value == 0
}

impl ObjectRef {
    fn text_bytes(&self) -> usize {
        [
            &self.kind,
            &self.namespace,
            &self.name,
            &self.uid,
            &self.api_version,
            &self.resource_version,
            &self.field_path,
        ]
        .iter()
        .map(|s| s.len())
        .sum()
    }
}

/// What one event costs in memory beyond its text: the struct, its maps' nodes and the
/// allocations' headers, rounded up from `size_of::<EventRecord>()` and a map node each.
const RECORD_OVERHEAD_BYTES: usize = 1024;
const MAP_ENTRY_OVERHEAD_BYTES: usize = 64;

impl EventRecord {
    /// An estimate of the memory this event holds, in bytes: its text plus a fixed overhead.
    /// Memory bounds (watch history) count events with it.
    pub fn approximate_bytes(&self) -> usize {
        let strings = [
            &self.cluster,
            &self.source_resource_version,
            &self.namespace,
            &self.name,
            &self.generate_name,
            &self.uid,
            &self.reason,
            &self.message,
            &self.event_type,
            &self.action,
            &self.reporting_controller,
            &self.reporting_instance,
            &self.source_component,
            &self.source_host,
        ];
        let maps = self
            .labels
            .iter()
            .chain(&self.annotations)
            .map(|(k, v)| k.len() + v.len() + MAP_ENTRY_OVERHEAD_BYTES)
            .sum::<usize>();
        let extra = if self.extra_metadata.is_empty() {
            0
        } else {
            serde_json::to_vec(&self.extra_metadata).map_or(0, |b| b.len() * 2)
        };
        RECORD_OVERHEAD_BYTES
            + strings.iter().map(|s| s.len()).sum::<usize>()
            + maps
            + extra
            + self.involved_object.text_bytes()
            + self.related.as_ref().map_or(0, ObjectRef::text_bytes)
    }

    /// The key this event is stored under.
    pub fn key(&self) -> EventKey {
        EventKey::in_cluster(
            self.cluster.clone(),
            self.namespace.clone(),
            self.name.clone(),
        )
    }

    /// When the event first happened, as printers compute it: firstTimestamp, else eventTime.
    pub fn first_seen(&self) -> Option<Micros> {
        self.first_timestamp.or(self.event_time)
    }

    /// When the event last happened: series.lastObservedTime, else lastTimestamp, else first seen.
    pub fn last_seen(&self) -> Option<Micros> {
        if let Some(series) = &self.series {
            return series.last_observed;
        }
        self.last_timestamp.or_else(|| self.first_seen())
    }

    /// When the event last happened, else when it was created (epoch when it says neither):
    /// the instant time windows, partitions and time indexes file an event under.
    pub fn seen_at(&self) -> Micros {
        self.last_seen()
            .or(self.creation_timestamp)
            .unwrap_or(Micros(0))
    }

    /// How many times the event happened: series.count, else count, where 0 means once.
    pub fn occurrences(&self) -> i32 {
        match &self.series {
            Some(series) => series.count,
            None if self.count == 0 => 1,
            None => self.count,
        }
    }

    /// The cluster the event belongs to, naming the hub's own events `own`.
    pub fn cluster_or<'a>(&'a self, own: &'a str) -> &'a str {
        if self.cluster.is_empty() {
            own
        } else {
            &self.cluster
        }
    }

    /// The component that reported the event: source.component, else reportingController.
    pub fn source_name(&self) -> &str {
        if self.source_component.is_empty() {
            &self.reporting_controller
        } else {
            &self.source_component
        }
    }
}
