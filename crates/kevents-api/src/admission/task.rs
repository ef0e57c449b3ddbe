//! The background task that writes the aggregates storm folding hands out.

use super::fold::apply;
use crate::state::AppState;
use kevents_model::{ApiGroup, Micros};
use std::time::Duration;

/// Writes the aggregates the folder hands out, once a second, until shutdown; then the rest.
pub async fn run_folding(state: AppState) {
    let Some(folding) = state.admission.folding.as_ref() else {
        return;
    };
    let mut shutdown = state.shutdown.clone();
    let mut ticker = tokio::time::interval(Duration::from_secs(1));
    loop {
        let stopping = tokio::select! {
            _ = ticker.tick() => false,
            _ = shutdown.changed() => true,
        };
        let now = Micros::now();
        let writes = {
            let mut folding = folding.lock();
            let writes = if stopping {
                folding.folder.drain()
            } else {
                folding.folder.due_writes(now)
            };
            // Templates of minutes long over are not needed any more.
            let minute = now.0.div_euclid(60_000_000);
            folding.templates.retain(|_, (at, _)| *at >= minute - 2);
            writes
        };
        for write in writes {
            match apply(&state.store, folding, ApiGroup::Core, &write).await {
                Ok(()) => state.admission.decisions.count("aggregate_written"),
                Err(e) => {
                    tracing::warn!(error = %e.message, aggregate = %write.target.name, "writing a folded aggregate failed; retrying");
                    if !stopping {
                        folding.lock().folder.requeue(write);
                    }
                }
            }
        }
        if stopping || *shutdown.borrow() {
            return;
        }
    }
}
