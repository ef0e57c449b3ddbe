//! Feeds the event metrics from the store's change feed, never skipping a change the store
//! still retains.

use crate::EventMetrics;
use kevents_store::{Store, WatchFrom};
use std::sync::Arc;
use tokio::sync::broadcast::error::RecvError;

/// Follows the store from its current version until `shutdown` turns true.
pub async fn follow_store(
    store: Store,
    metrics: Arc<EventMetrics>,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) {
    let mut last_rv = store.resource_version();
    loop {
        let subscription = match store.subscribe(WatchFrom::After(last_rv), None) {
            Ok(subscription) => subscription,
            Err(too_old) => {
                tracing::warn!(
                    from = too_old.requested,
                    oldest = too_old.oldest,
                    "event metrics fell behind the retained history; some occurrences are not counted"
                );
                last_rv = store.resource_version();
                continue;
            }
        };
        for change in &subscription.backlog {
            metrics.observe(change);
            last_rv = change.resource_version;
        }
        let mut live = subscription.live;
        loop {
            tokio::select! {
                received = live.recv() => match received {
                    Ok(change) if change.resource_version > last_rv => {
                        metrics.observe(&change);
                        last_rv = change.resource_version;
                    }
                    Ok(_) => {}
                    // Resubscribe from the last counted version; the history fills the gap.
                    Err(RecvError::Lagged(_)) => break,
                    Err(RecvError::Closed) => return,
                },
                changed = shutdown.changed() => {
                    if changed.is_err() || *shutdown.borrow() {
                        return;
                    }
                }
            }
        }
    }
}
