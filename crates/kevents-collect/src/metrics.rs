//! The collector's own metrics, one series per cluster, registered in one place.

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use std::sync::atomic::AtomicU64;

type Labels = Vec<(&'static str, String)>;

/// Every collector metric, labelled by `cluster`.
#[derive(Clone, Default)]
pub struct CollectorMetrics {
    lag: Family<Labels, Gauge<f64, AtomicU64>>,
    cursor: Family<Labels, Gauge>,
    sent: Family<Labels, Counter>,
    skipped: Family<Labels, Counter>,
    rejected: Family<Labels, Counter>,
    batches: Family<Labels, Counter>,
    retried: Family<Labels, Counter>,
    watch_errors: Family<Labels, Counter>,
    relists: Family<Labels, Counter>,
}

/// The series of one cluster.
#[derive(Clone)]
pub struct ClusterMetrics {
    /// Seconds since the oldest event not yet acknowledged by the hub was received.
    pub lag: Gauge<f64, AtomicU64>,
    /// The cursor the hub acknowledged.
    pub cursor: Gauge,
    /// Events the hub acknowledged.
    pub sent: Counter,
    /// Events not sent because the hub's cursor covers them.
    pub skipped: Counter,
    /// Events the hub refused one by one.
    pub rejected: Counter,
    /// Batches the hub acknowledged.
    pub batches: Counter,
    /// Failed attempts to send a batch (each is retried).
    pub retried: Counter,
    /// List or watch errors from the source (the watcher retries).
    pub watch_errors: Counter,
    /// Lists of the source: the first one and every relist.
    pub relists: Counter,
}

impl CollectorMetrics {
    /// Creates the metrics and registers them.
    pub fn new(registry: &mut Registry) -> CollectorMetrics {
        let metrics = CollectorMetrics::default();
        registry.register(
            "kevents_collector_lag_seconds",
            "Seconds since the oldest event not yet acknowledged by the hub was received from the cluster (0 when caught up)",
            metrics.lag.clone(),
        );
        registry.register(
            "kevents_collector_cursor",
            "The source resourceVersion up to which the hub has applied every change",
            metrics.cursor.clone(),
        );
        registry.register(
            "kevents_collector_events_sent",
            "Events written into the hub and acknowledged",
            metrics.sent.clone(),
        );
        registry.register(
            "kevents_collector_events_skipped",
            "Listed or watched events not sent because the hub's cursor covers them",
            metrics.skipped.clone(),
        );
        registry.register(
            "kevents_collector_events_rejected",
            "Events the hub refused one by one (invalid)",
            metrics.rejected.clone(),
        );
        registry.register(
            "kevents_collector_batches_sent",
            "Batches acknowledged by the hub",
            metrics.batches.clone(),
        );
        registry.register(
            "kevents_collector_batches_retried",
            "Failed attempts to send a batch; each failed batch is retried with backoff",
            metrics.retried.clone(),
        );
        registry.register(
            "kevents_collector_watch_errors",
            "List or watch errors from the cluster (the watch is retried with backoff)",
            metrics.watch_errors.clone(),
        );
        registry.register(
            "kevents_collector_lists",
            "Full lists of the cluster's events: the first one and every relist (e.g. after 410 Expired)",
            metrics.relists.clone(),
        );
        metrics
    }

    /// The series of `cluster`.
    pub fn cluster(&self, cluster: &str) -> ClusterMetrics {
        let labels: Labels = vec![("cluster", cluster.to_string())];
        ClusterMetrics {
            lag: self.lag.get_or_create(&labels).clone(),
            cursor: self.cursor.get_or_create(&labels).clone(),
            sent: self.sent.get_or_create(&labels).clone(),
            skipped: self.skipped.get_or_create(&labels).clone(),
            rejected: self.rejected.get_or_create(&labels).clone(),
            batches: self.batches.get_or_create(&labels).clone(),
            retried: self.retried.get_or_create(&labels).clone(),
            watch_errors: self.watch_errors.get_or_create(&labels).clone(),
            relists: self.relists.get_or_create(&labels).clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn series_are_labelled_by_cluster_with_total_suffixes() {
        let mut registry = Registry::default();
        let metrics = CollectorMetrics::new(&mut registry);
        let a = metrics.cluster("a");
        a.lag.set(2.5);
        a.sent.inc_by(3);
        metrics.cluster("b").retried.inc();
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &registry).expect("encodes");
        assert!(
            text.contains("kevents_collector_lag_seconds{cluster=\"a\"} 2.5"),
            "{text}"
        );
        assert!(text.contains("kevents_collector_events_sent_total{cluster=\"a\"} 3"));
        assert!(text.contains("kevents_collector_batches_retried_total{cluster=\"b\"} 1"));
    }
}
