//! Keeps the hub's series (`kubectl get eventseries`) current: rebuilt from the store in the
//! background after a start (the hub serves meanwhile), fed every committed change, and
//! expired once a minute.

use kevents_alert::Observer;
use kevents_api::SeriesState;
use kevents_correlate::SeriesConfig;
use kevents_model::Micros;
use kevents_store::{Change, Store};
use std::sync::Arc;
use std::time::Duration;

/// Feeds the series state from the store's change feed.
struct SeriesFeed(Arc<SeriesState>);

impl Observer for SeriesFeed {
    fn observe(&self, change: &Change) {
        self.0.observe(change);
    }
}

/// The series of `store`'s events (with their metrics in `registry`), the observer that keeps
/// them current (it must follow the store's changes after `from`), and the task that rebuilds
/// them from the stored events and then expires them.
pub fn start(
    store: &Store,
    from: u64,
    config: SeriesConfig,
    registry: &mut prometheus_client::registry::Registry,
    shutdown: tokio::sync::watch::Receiver<bool>,
) -> (
    Arc<SeriesState>,
    Arc<dyn Observer>,
    tokio::task::JoinHandle<()>,
) {
    let state = Arc::new(SeriesState::new(config));
    state.register(registry);
    state.begin_rebuild(from);
    let task = {
        let (state, store) = (state.clone(), store.clone());
        tokio::spawn(async move {
            let (rebuilding, stopping) = (state.clone(), shutdown.clone());
            let started = std::time::Instant::now();
            let read = tokio::task::spawn_blocking(move || {
                rebuilding
                    .finish_rebuild(&store, SeriesState::REBUILD_PAGE, |_| !*stopping.borrow())
            })
            .await
            .unwrap_or(0);
            if *shutdown.borrow() {
                return;
            }
            tracing::info!(
                events = read,
                series = state.len(),
                millis = started.elapsed().as_millis() as u64,
                "series rebuilt from the store"
            );
            expire_periodically(state, shutdown).await
        })
    };
    (state.clone(), Arc::new(SeriesFeed(state)), task)
}

async fn expire_periodically(
    state: Arc<SeriesState>,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) {
    let mut ticker = tokio::time::interval(Duration::from_secs(60));
    loop {
        tokio::select! {
            _ = ticker.tick() => {
                let expired = state.expire(Micros::now());
                if expired > 0 {
                    tracing::debug!(expired, "expired series");
                }
            }
            _ = shutdown.changed() => return,
        }
    }
}
