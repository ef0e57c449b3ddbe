//! `kevents.io/v1` resources whose objects another part of the hub keeps: `triggerruns` (one
//! per firing of a trigger), `triggers` (one per loaded trigger, with its kill switch) and
//! `alerts` (the rule engine's pending, firing and recently resolved alerts). The keeper puts
//! whole objects; the API lists, gets and watches them, and hands a `PATCH` of a trigger to
//! the keeper, which decides what may change. Other methods answer `405`. The list, get, watch
//! and Table plumbing ([`view`]) and the collection routes are shared with the series,
//! patterns and anomalies, whose items the series state keeps.

mod collection;
mod handlers;
mod objects;
mod resources;
pub(crate) mod view;

pub(crate) use collection::{collection_routes, Collection};
pub use objects::{Patcher, ServedObjects};

use resources::{Resource, ALERTS, TRIGGERS, TRIGGER_RUNS};

use crate::clusters::ClusterScope;
use crate::error::{not_allowed, ApiError};
use crate::state::SharedState;
use axum::extract::{Path, RawQuery, Request, State};
use axum::http::HeaderMap;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, MethodRouter};
use axum::Router;

/// Adds the routes of the served resources.
pub(crate) fn routes(router: Router<SharedState>) -> Router<SharedState> {
    let base = "/apis/kevents.io/v1";
    let runs: handlers::Pick = |s| s.trigger_runs.clone();
    let triggers: handlers::Pick = |s| s.triggers.clone();
    let router = collection_routes(router, "triggerruns", true, move |state, at| {
        handlers::list(runs, &TRIGGER_RUNS, state, at)
    });
    let router = collection_routes(router, "triggers", false, move |state, at| {
        handlers::list(triggers, &TRIGGERS, state, at)
    });
    router
        .merge(alert_routes(base))
        .route(
            &format!("{base}/namespaces/{{namespace}}/triggerruns/{{name}}"),
            one_in_namespace(runs, &TRIGGER_RUNS),
        )
        .route(
            &format!("{base}/triggers/{{name}}"),
            one_cluster_wide(triggers, &TRIGGERS).patch(
                move |s: State<SharedState>, p: Path<String>, body: axum::body::Bytes| {
                    handlers::patch(triggers, &TRIGGERS, s, p, body)
                },
            ),
        )
}

/// The rule engine's alerts belong to the hub, not to one collected cluster: they are served
/// at the root only (under `/clusters/{name}/` a grant for one cluster would show them all).
fn alert_routes(base: &str) -> Router<SharedState> {
    let alerts: handlers::Pick = |s| s.alerts.clone();
    collection_routes(Router::new(), "alerts", true, move |state, at| {
        handlers::list(alerts, &ALERTS, state, at)
    })
    .route(
        &format!("{base}/namespaces/{{namespace}}/alerts/{{name}}"),
        one_in_namespace(alerts, &ALERTS),
    )
    // Alerts about no namespace (grouped by cluster or node).
    .route(
        &format!("{base}/alerts/{{name}}"),
        one_cluster_wide(alerts, &ALERTS),
    )
    .route_layer(axum::middleware::from_fn(hub_only))
}

async fn hub_only(request: Request, next: Next) -> Response {
    let scoped = request
        .extensions()
        .get::<ClusterScope>()
        .is_some_and(|scope| scope.0.is_some());
    if scoped {
        return ApiError::unknown_path().into_response();
    }
    next.run(request).await
}

fn one_in_namespace(
    pick: handlers::Pick,
    resource: &'static Resource,
) -> MethodRouter<SharedState> {
    get(
        move |s: State<SharedState>, p: Path<(String, String)>, q: RawQuery, h: HeaderMap| {
            handlers::one(pick, resource, s, p, q, h)
        },
    )
    .fallback(not_allowed())
}

fn one_cluster_wide(
    pick: handlers::Pick,
    resource: &'static Resource,
) -> MethodRouter<SharedState> {
    get(
        move |s: State<SharedState>, Path(name): Path<String>, q: RawQuery, h: HeaderMap| {
            handlers::one(pick, resource, s, Path((String::new(), name)), q, h)
        },
    )
    .fallback(not_allowed())
}
