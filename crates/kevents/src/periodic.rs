//! The hub's periodic chores beside the API: re-reading the security files, expiring events.

use kevents_api::Security;
use kevents_model::Micros;
use kevents_store::Store;
use std::sync::Arc;
use std::time::Duration;

/// Re-reads token and policy files every two seconds, until shutdown.
pub async fn reload_security(
    security: Arc<Security>,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) {
    let mut ticker = tokio::time::interval(Duration::from_secs(2));
    loop {
        tokio::select! {
            _ = ticker.tick() => security.reload(),
            _ = shutdown.changed() => return,
        }
    }
}

/// Deletes events past their TTL once a second, until shutdown.
pub async fn expire_events(store: Store, mut shutdown: tokio::sync::watch::Receiver<bool>) {
    let mut ticker = tokio::time::interval(Duration::from_secs(1));
    loop {
        tokio::select! {
            _ = ticker.tick() => {
                match store.expire(Micros::now()).await {
                    Ok(0) => {}
                    Ok(deleted) => tracing::debug!(deleted, "expired events"),
                    Err(e) => tracing::warn!(error = %e, "expiring events failed"),
                }
            }
            _ = shutdown.changed() => return,
        }
    }
}
