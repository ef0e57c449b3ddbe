//! Prometheus metrics derived from Kubernetes events: `kube_event_count` (occurrences, counting
//! `count` increments like the established event exporters) and
//! `kube_event_unique_events_total`, with configurable labels and a cardinality guard.
#![warn(missing_docs)]

mod alert;
mod event_metrics;
mod follow;
pub mod rules;

pub use alert::Alert;
pub use event_metrics::{EventLabel, EventMetrics, EventMetricsConfig};
pub use follow::{follow_store, Observer};
