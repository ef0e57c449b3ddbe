//! Feeds observers (event metrics, the rule engine) from the store's change feed, never
//! skipping a change the store still retains.

use kevents_store::{Change, Scope, Store, WatchFrom};
use std::sync::Arc;
use tokio::sync::broadcast::error::RecvError;

/// Something that accounts for committed changes.
pub trait Observer: Send + Sync {
    /// Called once per committed change, in resourceVersion order.
    fn observe(&self, change: &Change);
}

/// Follows the store's changes after version `from` until `shutdown` turns true.
pub async fn follow_store(
    store: Store,
    observers: Vec<Arc<dyn Observer>>,
    from: u64,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) {
    let notify = |change: &Change| {
        for observer in &observers {
            observer.observe(change);
        }
    };
    let mut last_rv = from;
    loop {
        let subscription = match store.subscribe(WatchFrom::After(last_rv), Scope::ALL) {
            Ok(subscription) => subscription,
            Err(too_old) => {
                tracing::warn!(
                    from = too_old.requested,
                    oldest = too_old.oldest,
                    "metrics and alerting fell behind the retained history; some occurrences are not counted"
                );
                last_rv = store.resource_version();
                continue;
            }
        };
        for change in &subscription.backlog {
            notify(change);
            last_rv = change.resource_version;
        }
        let mut live = subscription.live;
        loop {
            tokio::select! {
                received = live.recv() => match received {
                    Ok(change) if change.resource_version > last_rv => {
                        notify(&change);
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
