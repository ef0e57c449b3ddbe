//! The `kevents.io/v1` resources derived from events: `eventseries` (one per series: object,
//! type, reason, source and message template, with exact counts and per-minute history) and
//! `eventpatterns` (series merged across objects). Read-only, listable and watchable with the
//! usual Kubernetes machinery, so `kubectl get eventseries -A --sort-by=.status.count` works.

pub(crate) mod encode;
mod feed;
mod handlers;
mod metrics;
mod patterns;
mod rebuild;
mod select;
mod state;

pub use state::SeriesState;

use crate::served::collection_routes;
use crate::state::SharedState;
use axum::routing::get;
use axum::Router;

/// Adds the `kevents.io/v1` routes.
pub(crate) fn routes(router: Router<SharedState>) -> Router<SharedState> {
    let base = "/apis/kevents.io/v1";
    collection_routes(router, "eventseries", true, handlers::read_series)
        .route(
            &format!("{base}/namespaces/{{namespace}}/eventseries/{{name}}"),
            get(handlers::one_series),
        )
        .route(
            &format!("{base}/eventpatterns"),
            get(patterns::all_patterns),
        )
        .route(
            &format!("{base}/eventpatterns/{{name}}"),
            get(patterns::one_pattern),
        )
}
