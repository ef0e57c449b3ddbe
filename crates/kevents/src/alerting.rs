//! Brings the rule engine's groups back after a start: rebuilt from the stored events in the
//! background (the hub serves meanwhile; the engine holds the followed changes and does not
//! evaluate until it is done).

use kevents_alert::rules::RuleEngine;
use kevents_model::Micros;
use kevents_store::Store;
use std::sync::Arc;

/// Rebuilds `engine` from `store` as of version `from`, which the change feed must be
/// followed after; [`RuleEngine::begin_rebuild`] must have been called before the feed and the
/// alerting loop started. `rebuilding` is held until the rebuild ends.
pub fn rebuild(
    engine: &Arc<RuleEngine>,
    store: &Store,
    from: u64,
    rebuilding: crate::metrics::RebuildGuard,
    shutdown: tokio::sync::watch::Receiver<bool>,
) -> tokio::task::JoinHandle<()> {
    let (engine, store) = (engine.clone(), store.clone());
    tokio::task::spawn_blocking(move || {
        let started = std::time::Instant::now();
        let read = engine.finish_rebuild(&store, from, Micros::now(), || !*shutdown.borrow());
        tracing::info!(
            events = read,
            millis = started.elapsed().as_millis() as u64,
            "alert groups rebuilt from the store"
        );
        drop(rebuilding);
    })
}
