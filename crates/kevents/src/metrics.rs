//! `/metrics`: every registered metric, in Prometheus text (0.0.4) or OpenMetrics, by `Accept`.

use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use kevents_store::Store;
use prometheus_client::encoding::{prometheus_text, text};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// Gauges read from the store at scrape time.
#[derive(Clone, Default)]
pub struct StoreGauges {
    events: Gauge,
    hot_events: Gauge,
    resource_version: Gauge,
    disk_bytes: Gauge,
    history: Gauge,
    history_bytes: Gauge,
    block_cache_bytes: Gauge,
    retention_deleted: TotalCounter,
    corrupt_blocks: Gauge,
    checkpoints: TotalCounter,
    checkpointing: Gauge,
}

impl StoreGauges {
    /// Creates and registers the gauges.
    pub fn new(registry: &mut Registry) -> StoreGauges {
        let gauges = StoreGauges::default();
        registry.register(
            "kevents_store_events",
            "Events currently stored",
            gauges.events.clone(),
        );
        registry.register(
            "kevents_store_hot_events",
            "Events held in memory (the head); the others are in cold files on disk",
            gauges.hot_events.clone(),
        );
        registry.register(
            "kevents_store_resource_version",
            "The store's current resourceVersion (it grows by one per write)",
            gauges.resource_version.clone(),
        );
        registry.register(
            "kevents_store_disk_bytes",
            "Bytes of log segments and checkpoints on disk",
            gauges.disk_bytes.clone(),
        );
        registry.register(
            "kevents_watch_history_changes",
            "Changes kept in memory for watch resume",
            gauges.history.clone(),
        );
        registry.register(
            "kevents_watch_history_bytes",
            "Bytes of events the watch history holds (bounded by --watch-history-bytes)",
            gauges.history_bytes.clone(),
        );
        registry.register(
            "kevents_block_cache_bytes",
            "Bytes of decoded cold events the block cache holds (bounded by --block-cache-bytes)",
            gauges.block_cache_bytes.clone(),
        );
        registry.register(
            "kevents_store_retention_deleted_events",
            "Events deleted early because the store outgrew --retention-size",
            gauges.retention_deleted.counter.clone(),
        );
        registry.register(
            "kevents_store_corrupt_blocks",
            "Sealed blocks found damaged (checksum mismatch) when the store opened",
            gauges.corrupt_blocks.clone(),
        );
        registry.register(
            "kevents_store_checkpoints",
            "Checkpoints written since the hub started (each moves events to the cold tier and may merge cold files)",
            gauges.checkpoints.counter.clone(),
        );
        registry.register(
            "kevents_store_checkpointing",
            "1 while a checkpoint is being written (on its own thread), else 0",
            gauges.checkpointing.clone(),
        );
        gauges
    }

    fn update(&self, store: &Store) {
        let stats = store.stats();
        let clamp = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
        self.events.set(clamp(stats.events as u64));
        self.hot_events.set(clamp(stats.hot_events as u64));
        self.resource_version.set(clamp(stats.resource_version));
        self.disk_bytes.set(clamp(stats.disk_bytes));
        self.history.set(clamp(stats.history as u64));
        self.history_bytes.set(clamp(stats.history_bytes as u64));
        self.block_cache_bytes
            .set(clamp(stats.block_cache_bytes as u64));
        self.corrupt_blocks.set(clamp(stats.corrupt_blocks));
        self.checkpointing.set(i64::from(stats.checkpointing));
        self.checkpoints.follow(stats.checkpoints);
        self.retention_deleted.follow(stats.retention_deleted);
    }
}

/// A counter exported from a total the store keeps: each scrape adds what the total grew by
/// since the last one (scrapes may run concurrently).
#[derive(Clone, Default)]
struct TotalCounter {
    counter: Counter,
    seen: Arc<AtomicU64>,
}

impl TotalCounter {
    fn follow(&self, total: u64) {
        let before = self.seen.fetch_max(total, Ordering::Relaxed);
        if total > before {
            self.counter.inc_by(total - before);
        }
    }
}

#[derive(Clone)]
struct MetricsState {
    registry: Arc<Registry>,
    gauges: StoreGauges,
    store: Store,
}

/// The `/metrics` route.
pub fn router(registry: Arc<Registry>, gauges: StoreGauges, store: Store) -> Router {
    Router::new()
        .route("/metrics", get(scrape))
        .with_state(MetricsState {
            registry,
            gauges,
            store,
        })
}

async fn scrape(State(state): State<MetricsState>, headers: HeaderMap) -> Response {
    state.gauges.update(&state.store);
    let openmetrics = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| accept.contains("application/openmetrics-text"));
    let mut body = String::new();
    let (encoded, content_type) = if openmetrics {
        (
            text::encode(&mut body, &state.registry),
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )
    } else {
        (
            prometheus_text::encode(&mut body, &state.registry),
            prometheus_text::CONTENT_TYPE,
        )
    };
    if let Err(e) = encoded {
        return (
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("encoding metrics: {e}"),
        )
            .into_response();
    }
    let mut response = body.into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

/// `kevents_rebuilding{part}`: 1 while a part of the hub's derived state (`series`,
/// `alert_groups`) is being rebuilt from the store after a start, 0 once it is caught up. The
/// hub serves meanwhile; this says when its series counts and alerts are whole again.
#[derive(Clone, Default)]
pub struct Rebuilds(
    prometheus_client::metrics::family::Family<Vec<(&'static str, &'static str)>, Gauge>,
);

impl Rebuilds {
    /// Creates and registers the gauge.
    pub fn new(registry: &mut Registry) -> Rebuilds {
        let rebuilds = Rebuilds::default();
        registry.register(
            "kevents_rebuilding",
            "1 while this part of the hub's state (series, alert_groups) is rebuilt from the \
             store after a start; 0 once caught up",
            rebuilds.0.clone(),
        );
        rebuilds
    }

    /// Marks `part` as rebuilding until the returned guard is dropped.
    pub fn begin(&self, part: &'static str) -> RebuildGuard {
        let gauge = self.0.get_or_create(&vec![("part", part)]).clone();
        gauge.set(1);
        RebuildGuard(gauge)
    }
}

/// Sets its part's `kevents_rebuilding` back to 0 when dropped (done, stopped or failed).
pub struct RebuildGuard(Gauge);

impl Drop for RebuildGuard {
    fn drop(&mut self) {
        self.0.set(0);
    }
}
