//! Keeps the hub's series (`kubectl get eventseries`) current: rebuilt from the store in the
//! background after a start (`crate::catchup`; the hub serves meanwhile), fed every committed change, and
//! expired once a minute; the anomalies found in them are evaluated every 15 seconds once the
//! rebuild is done, and each one opened is written as an `EventAnomaly` event.

use kevents_alert::Observer;
use kevents_api::{KeyResourceCheck, SeriesState};
use kevents_correlate::SeriesConfig;
use kevents_model::Micros;
use kevents_store::{Change, Store};
use std::sync::Arc;
use std::time::Duration;

/// How often spikes and drops are looked for (a spike is counted over five minutes, a drop
/// over three usual gaps: a quarter of a minute keeps the detection delay small).
const ANOMALY_EVALUATION_INTERVAL: Duration = Duration::from_secs(15);

/// Feeds the series state from the store's change feed.
struct SeriesFeed(Arc<SeriesState>);

impl Observer for SeriesFeed {
    fn observe(&self, change: &Change) {
        self.0.observe(change);
    }
}

/// The series of `store`'s events (with their metrics in `registry`), the observer that keeps
/// them current (it must follow the store's changes after `from`), and the task that expires
/// them once `rebuilt` says their rebuild from the store (`crate::catchup`) is done.
pub fn start(
    store: &Store,
    from: u64,
    config: SeriesConfig,
    key_resources: KeyResourceCheck,
    registry: &mut prometheus_client::registry::Registry,
    rebuilt: tokio::sync::oneshot::Receiver<()>,
    shutdown: tokio::sync::watch::Receiver<bool>,
) -> (
    Arc<SeriesState>,
    Arc<dyn Observer>,
    tokio::task::JoinHandle<()>,
) {
    let state = Arc::new(SeriesState::new(config));
    state.register(registry);
    // Before the rebuild: the stored Warnings about key resources count as such.
    state.anomalies.set_key_resources(key_resources);
    state.begin_rebuild(from);
    let task = {
        let (state, store) = (state.clone(), store.clone());
        tokio::spawn(async move {
            let recorder = tokio::spawn(kevents_api::record_anomalies(
                store.clone(),
                state.anomalies.clone(),
                shutdown.clone(),
            ));
            let _ = rebuilt.await;
            if *shutdown.borrow() {
                return;
            }
            expire_periodically(state, shutdown).await;
            let _ = recorder.await;
        })
    };
    (state.clone(), Arc::new(SeriesFeed(state)), task)
}

async fn expire_periodically(
    state: Arc<SeriesState>,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) {
    let mut ticker = tokio::time::interval(Duration::from_secs(60));
    let mut anomalies = tokio::time::interval(ANOMALY_EVALUATION_INTERVAL);
    loop {
        tokio::select! {
            _ = ticker.tick() => {
                let expired = state.expire(Micros::now());
                if expired > 0 {
                    tracing::debug!(expired, "expired series");
                }
            }
            _ = anomalies.tick() => state.anomalies.evaluate(Micros::now()),
            _ = shutdown.changed() => return,
        }
    }
}
