//! `kevents.io/v1` resources whose objects another part of the hub keeps: `triggerruns` (one
//! per firing of a trigger) and `triggers` (one per loaded trigger, with its kill switch).
//! The keeper puts whole objects; the API lists, gets and watches them like the series, and
//! hands a `PATCH` of an object to the keeper, which decides what may change.

mod handlers;
mod objects;
mod resources;

pub use objects::{Patcher, ServedObjects};

use resources::{Resource, TRIGGERS, TRIGGER_RUNS};

use crate::state::SharedState;
use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use axum::routing::{get, MethodRouter};
use axum::Router;

/// Adds the routes of the served resources.
pub(crate) fn routes(router: Router<SharedState>) -> Router<SharedState> {
    let base = "/apis/kevents.io/v1";
    let runs: handlers::Pick = |s| s.trigger_runs.clone();
    let triggers: handlers::Pick = |s| s.triggers.clone();
    router
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
            get(
                move |s: State<SharedState>,
                      p: Path<(String, String)>,
                      q: RawQuery,
                      h: HeaderMap| {
                    handlers::one(runs, &TRIGGER_RUNS, s, p, q, h)
                },
            ),
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
                move |s: State<SharedState>,
                      Path(name): Path<String>,
                      q: RawQuery,
                      h: HeaderMap| {
                    handlers::one(triggers, &TRIGGERS, s, Path((String::new(), name)), q, h)
                },
            )
            .patch(
                move |s: State<SharedState>, p: Path<String>, body: axum::body::Bytes| {
                    handlers::patch(triggers, &TRIGGERS, s, p, body)
                },
            ),
        )
}

fn every(
    pick: handlers::Pick,
    resource: &'static Resource,
    watch: bool,
) -> MethodRouter<SharedState> {
    get(move |s: State<SharedState>, q: RawQuery, h: HeaderMap| {
        handlers::list(pick, resource, s, None, q, h, watch)
    })
}

fn in_namespace(
    pick: handlers::Pick,
    resource: &'static Resource,
    watch: bool,
) -> MethodRouter<SharedState> {
    get(
        move |s: State<SharedState>, p: Path<String>, q: RawQuery, h: HeaderMap| {
            handlers::namespaced(pick, resource, s, p, q, h, watch)
        },
    )
}
