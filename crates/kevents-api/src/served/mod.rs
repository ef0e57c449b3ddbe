//! `kevents.io/v1` resources whose objects another part of the hub keeps: `triggerruns` (one
//! per firing of a trigger), `triggers` (one per loaded trigger, with its kill switch) and
//! `alerts` (the rule engine's pending, firing and recently resolved alerts). The keeper puts
//! whole objects; the API lists, gets and watches them like the series, and hands a `PATCH` of
//! a trigger to the keeper, which decides what may change. Other methods answer `405`.

mod handlers;
mod objects;
mod resources;

pub use objects::{Patcher, ServedObjects};

use resources::{Resource, ALERTS, TRIGGERS, TRIGGER_RUNS};

use crate::clusters::ClusterScope;
use crate::error::{not_allowed, ApiError};
use crate::state::AppState;
use axum::extract::{Path, RawQuery, Request, State};
use axum::http::HeaderMap;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, MethodRouter};
use axum::Router;

/// Adds the routes of the served resources.
pub(crate) fn routes(router: Router<AppState>) -> Router<AppState> {
    let base = "/apis/kevents.io/v1";
    let runs: handlers::Pick = |s| s.trigger_runs.clone();
    let triggers: handlers::Pick = |s| s.triggers.clone();
    router
        .merge(alert_routes(base))
        .route(
            &format!("{base}/triggerruns"),
            every(runs, &TRIGGER_RUNS, false),
        )
        .route(
            &format!("{base}/watch/triggerruns"),
            every(runs, &TRIGGER_RUNS, true),
        )
        .route(
            &format!("{base}/namespaces/{{namespace}}/triggerruns"),
            in_namespace(runs, &TRIGGER_RUNS, false),
        )
        .route(
            &format!("{base}/watch/namespaces/{{namespace}}/triggerruns"),
            in_namespace(runs, &TRIGGER_RUNS, true),
        )
        .route(
            &format!("{base}/namespaces/{{namespace}}/triggerruns/{{name}}"),
            one_in_namespace(runs, &TRIGGER_RUNS),
        )
        .route(
            &format!("{base}/triggers"),
            every(triggers, &TRIGGERS, false),
        )
        .route(
            &format!("{base}/watch/triggers"),
            every(triggers, &TRIGGERS, true),
        )
        .route(
            &format!("{base}/triggers/{{name}}"),
            get(
                move |s: State<AppState>, Path(name): Path<String>, q: RawQuery, h: HeaderMap| {
                    handlers::one(triggers, &TRIGGERS, s, Path((String::new(), name)), q, h)
                },
            )
            .patch(
                move |s: State<AppState>, p: Path<String>, body: axum::body::Bytes| {
                    handlers::patch(triggers, &TRIGGERS, s, p, body)
                },
            )
            .fallback(not_allowed()),
        )
}

/// The rule engine's alerts belong to the hub, not to one collected cluster: they are served
/// at the root only (under `/clusters/{name}/` a grant for one cluster would show them all).
fn alert_routes(base: &str) -> Router<AppState> {
    let alerts: handlers::Pick = |s| s.alerts.clone();
    Router::new()
        .route(&format!("{base}/alerts"), every(alerts, &ALERTS, false))
        .route(
            &format!("{base}/watch/alerts"),
            every(alerts, &ALERTS, true),
        )
        .route(
            &format!("{base}/namespaces/{{namespace}}/alerts"),
            in_namespace(alerts, &ALERTS, false),
        )
        .route(
            &format!("{base}/watch/namespaces/{{namespace}}/alerts"),
            in_namespace(alerts, &ALERTS, true),
        )
        .route(
            &format!("{base}/namespaces/{{namespace}}/alerts/{{name}}"),
            one_in_namespace(alerts, &ALERTS),
        )
        // Alerts about no namespace (grouped by cluster or node).
        .route(
            &format!("{base}/alerts/{{name}}"),
            get(
                move |s: State<AppState>, Path(name): Path<String>, q: RawQuery, h: HeaderMap| {
                    handlers::one(alerts, &ALERTS, s, Path((String::new(), name)), q, h)
                },
            )
            .fallback(not_allowed()),
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

fn every(pick: handlers::Pick, resource: &'static Resource, watch: bool) -> MethodRouter<AppState> {
    get(move |s: State<AppState>, q: RawQuery, h: HeaderMap| {
        handlers::list(pick, resource, s, None, q, h, watch)
    })
    .fallback(not_allowed())
}

fn one_in_namespace(pick: handlers::Pick, resource: &'static Resource) -> MethodRouter<AppState> {
    get(
        move |s: State<AppState>, p: Path<(String, String)>, q: RawQuery, h: HeaderMap| {
            handlers::one(pick, resource, s, p, q, h)
        },
    )
    .fallback(not_allowed())
}

fn in_namespace(
    pick: handlers::Pick,
    resource: &'static Resource,
    watch: bool,
) -> MethodRouter<AppState> {
    get(
        move |s: State<AppState>, p: Path<String>, q: RawQuery, h: HeaderMap| {
            handlers::namespaced(pick, resource, s, p, q, h, watch)
        },
    )
    .fallback(not_allowed())
}
