//! The series of every stored event, kept current from the store's change feed.

use super::feed::SeriesChange;
use super::metrics::PatternMetrics;
use kevents_correlate::{Series, SeriesConfig, SeriesTracker};
use kevents_model::Micros;
use kevents_store::{Change, ChangeType, Store};
use parking_lot::RwLock;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::Gauge;
use std::sync::Arc;

/// The series of every stored event, kept current from the store's change feed.
pub struct SeriesState {
    pub(super) tracker: RwLock<SeriesTracker>,
    pub(super) feed: super::feed::SeriesFeed,
    /// The store version the series account for; `None` until [`SeriesState::rebuild`] (a
    /// state nobody feeds is read as it is).
    pub(super) applied: tokio::sync::watch::Sender<Option<u64>>,
    /// While the stored events are read after a start: changes the feed delivers meanwhile,
    /// applied once the read is done (see `rebuild.rs`).
    pub(super) rebuilding: parking_lot::Mutex<Option<Pending>>,
    metrics: PatternMetrics,
    /// The anomalies of the events, fed with every occurrence counted here.
    pub anomalies: Arc<crate::anomalies::AnomalyState>,
    /// `kevents_series_bytes`: the series' text, bounded by `--series-max-bytes`.
    bytes: Gauge,
    /// `kevents_series_evicted_total`: series dropped for a bound before their TTL.
    evicted: Counter,
}

/// Changes delivered by the feed while a rebuild reads the store.
pub(super) struct Pending {
    /// The version the feed starts after.
    pub(super) from: u64,
    /// The delivered changes, in resourceVersion order.
    pub(super) changes: Vec<Change>,
}

/// How long a read waits for the series to account for writes acknowledged before it.
const CATCH_UP_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

/// Series changes kept for the watchers, in count and in bytes of series text; a watcher that
/// falls behind the oldest is cut off (it relists).
const FEED_CAPACITY: usize = 4096;
const FEED_MAX_BYTES: usize = 64 << 20;

impl SeriesState {
    /// An empty state.
    pub fn new(config: SeriesConfig) -> SeriesState {
        SeriesState {
            tracker: RwLock::new(SeriesTracker::new(config)),
            feed: super::feed::SeriesFeed::new(FEED_CAPACITY, FEED_MAX_BYTES),
            applied: tokio::sync::watch::channel(None).0,
            rebuilding: parking_lot::Mutex::new(None),
            metrics: PatternMetrics::default(),
            anomalies: Arc::default(),
            bytes: Gauge::default(),
            evicted: Counter::default(),
        }
    }

    /// Feeds every live event of `store`, then follows nothing: for a state whose feed starts
    /// after the store's current version (tests, tools). The hub uses
    /// [`SeriesState::begin_rebuild`] and [`SeriesState::finish_rebuild`].
    pub fn rebuild(&self, store: &Store) {
        self.begin_rebuild(store.resource_version());
        self.finish_rebuild(store, Self::REBUILD_PAGE, |_| true);
    }

    /// Waits (bounded) until the series account for every change up to `version`, so a read
    /// after an acknowledged write sees it, as a consistent list from the apiserver's cache
    /// does. A state that is not fed, or a feed that fell behind, is read as it is. While the
    /// series are still being rebuilt from the store after a start (their counts partial) and
    /// the wait runs out, the read is refused with `503` and `Retry-After` (client-go retries
    /// it) instead of answering wrong counts.
    pub(crate) async fn caught_up(&self, version: u64) -> Result<(), crate::error::ApiError> {
        let deadline = tokio::time::Instant::now() + CATCH_UP_WAIT;
        while self.is_rebuilding() {
            if tokio::time::Instant::now() >= deadline {
                return Err(crate::error::ApiError::new(
                    axum::http::StatusCode::SERVICE_UNAVAILABLE,
                    "ServiceUnavailable",
                    "the series are being rebuilt from the stored events after a start; \
                     their counts are partial until it ends",
                )
                .with_details(serde_json::json!({"retryAfterSeconds": 1})));
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        let mut applied = self.applied.subscribe();
        let reached = applied.wait_for(|a| a.is_none_or(|a| a >= version));
        let _ = tokio::time::timeout_at(deadline, reached).await;
        Ok(())
    }

    /// True while a rebuild reads the stored events (see `rebuild.rs`).
    pub fn is_rebuilding(&self) -> bool {
        self.rebuilding.lock().is_some()
    }

    /// Accounts for one committed change, in resourceVersion order.
    pub fn observe(&self, change: &Change) {
        if let Some(pending) = self.rebuilding.lock().as_mut() {
            pending.changes.push(change.clone());
            return;
        }
        self.observe_change(change);
        self.applied.send_if_modified(|applied| match applied {
            Some(version) if *version < change.resource_version => {
                *version = change.resource_version;
                true
            }
            _ => false,
        });
    }

    pub(super) fn observe_change(&self, change: &Change) {
        if change.change_type == ChangeType::Deleted {
            // Occurrences stay counted when their event expires or is deleted.
            return;
        }
        let previous = change.previous.as_ref().map(|p| &p.record);
        self.observe_record(&change.object.record, previous);
    }

    /// Counts one version of an event (`previous`: the version it replaces) and tells series
    /// watchers what changed.
    pub(super) fn observe_record(
        &self,
        record: &kevents_model::EventRecord,
        previous: Option<&kevents_model::EventRecord>,
    ) {
        let mut tracker = self.tracker.write();
        let before = tracker.miner_stats();
        let now = Micros::now();
        let observation = tracker.observe(&record.cluster, record, previous, now);
        self.metrics.update(before, tracker.miner_stats());
        if let Some(series) = tracker.get(&observation.series) {
            self.anomalies
                .observe(record, series, observation.added, &observation.merged, now);
        }
        self.bytes.set(gauge_value(tracker.text_bytes()));
        self.evicted.inc_by(observation.evicted.len() as u64);
        if self.feed.receiver_count() == 0 {
            return;
        }
        let version = tracker.version();
        for evicted in observation.evicted {
            self.publish("DELETED", evicted, version);
        }
        for (ended, successor) in observation.merged {
            self.publish("DELETED", ended, version);
            if successor != observation.series {
                if let Some(series) = tracker.get(&successor) {
                    self.publish("MODIFIED", series.clone(), version);
                }
            }
        }
        if observation.changed {
            if let Some(series) = tracker.get(&observation.series) {
                let kind = if observation.created {
                    "ADDED"
                } else {
                    "MODIFIED"
                };
                self.publish(kind, series.clone(), version);
            }
        }
    }

    /// Registers the metrics of the learned patterns (`kevents_patterns`, …) and of the series'
    /// memory.
    pub fn register(&self, registry: &mut prometheus_client::registry::Registry) {
        self.metrics.register(registry);
        self.anomalies.register(registry);
        registry.register(
            "kevents_series_bytes",
            "Bytes of series text held (key fields, template, latest event name and message; \
             bounded by --series-max-bytes)",
            self.bytes.clone(),
        );
        registry.register(
            "kevents_series_evicted",
            "Series evicted before their TTL because --series-max-bytes or the series cap was \
             reached",
            self.evicted.clone(),
        );
    }

    /// Drops series not seen within their TTL; watchers see them `DELETED`.
    pub fn expire(&self, now: Micros) -> usize {
        let mut tracker = self.tracker.write();
        let expired = tracker.expire(now);
        self.bytes.set(gauge_value(tracker.text_bytes()));
        let version = tracker.version();
        let count = expired.len();
        for series in expired {
            self.publish("DELETED", series, version);
        }
        count
    }

    /// The id of the series `event` of `cluster` belongs to.
    pub fn series_id(
        &self,
        cluster: &str,
        event: &kevents_model::EventRecord,
    ) -> kevents_correlate::SeriesId {
        self.tracker.write().series_id(cluster, event)
    }

    /// Number of series held.
    pub fn len(&self) -> usize {
        self.tracker.read().len()
    }

    /// True when no series is held.
    pub fn is_empty(&self) -> bool {
        self.tracker.read().is_empty()
    }

    fn publish(&self, kind: &'static str, series: Series, version: u64) {
        self.feed.send(Arc::new(SeriesChange {
            kind,
            series,
            version,
        }));
    }
}

fn gauge_value(bytes: usize) -> i64 {
    i64::try_from(bytes).unwrap_or(i64::MAX)
}

impl Default for SeriesState {
    fn default() -> Self {
        SeriesState::new(SeriesConfig::default())
    }
}
