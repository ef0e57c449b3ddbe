//! Metrics and alerts from Kubernetes events: `kube_event_count` and
//! `kube_event_unique_events_total` (configurable labels, a cardinality guard), key-resource
//! gauges, a rule engine with a built-in pack, and delivery to Alertmanager and webhooks (over
//! `kevents-http`).
#![warn(missing_docs)]

mod alert;
pub mod alerting;
pub mod delivery;
mod event_metrics;
mod follow;
mod key_resources;
mod occurrences;
pub mod rules;

pub use alert::Alert;
pub use event_metrics::{EventLabel, EventMetrics, EventMetricsConfig};
pub use follow::{follow_store, Observer};
pub use key_resources::{KeyResourcePattern, KeyResources};
