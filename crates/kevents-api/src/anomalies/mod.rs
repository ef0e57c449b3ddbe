//! The `kevents.io/v1` resource `anomalies` (namespaced, read-only, watchable): what the
//! detector of `kevents-anomaly` finds in the stored events — new Warning patterns, Warning
//! rate spikes, drops of regular Normal patterns, first Warnings for key resources — with score,
//! start, end, baseline and links to events. `kubectl get anomalies -A` works.

mod encode;
mod handlers;
mod record;
mod state;

pub use record::record_anomalies;
pub use state::{AnomalyState, KeyResourceCheck};

use crate::state::SharedState;
use axum::routing::get;
use axum::Router;

/// Adds the `anomalies` routes.
pub(crate) fn routes(router: Router<SharedState>) -> Router<SharedState> {
    let base = "/apis/kevents.io/v1";
    router
        .route(&format!("{base}/anomalies"), get(handlers::all))
        .route(&format!("{base}/watch/anomalies"), get(handlers::watch_all))
        .route(
            &format!("{base}/namespaces/{{namespace}}/anomalies"),
            get(handlers::namespaced),
        )
        .route(
            &format!("{base}/watch/namespaces/{{namespace}}/anomalies"),
            get(handlers::watch_namespaced),
        )
        .route(
            &format!("{base}/namespaces/{{namespace}}/anomalies/{{name}}"),
            get(handlers::one),
        )
}
