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

use crate::served::collection_routes;
use crate::state::SharedState;
use axum::routing::get;
use axum::Router;

/// Adds the `anomalies` routes.
pub(crate) fn routes(router: Router<SharedState>) -> Router<SharedState> {
    collection_routes(router, "anomalies", true, handlers::read).route(
        "/apis/kevents.io/v1/namespaces/{namespace}/anomalies/{name}",
        get(handlers::one),
    )
}
