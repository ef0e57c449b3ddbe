//! `kevents.io/v1` resources whose objects another part of the hub keeps: `triggerruns` (one
//! per firing of a trigger) and `triggers` (one per loaded trigger, with its kill switch).
//! The keeper puts whole objects; the API lists, gets and watches them, and hands a `PATCH` of
//! an object to the keeper, which decides what may change. The list, get, watch and Table
//! plumbing ([`view`]) and the collection routes are shared with the series, patterns and
//! anomalies, whose items the series state keeps.

mod collection;
mod handlers;
mod objects;
mod resources;
pub(crate) mod view;

pub(crate) use collection::{collection_routes, Collection};
pub use objects::{Patcher, ServedObjects};

use resources::{TRIGGERS, TRIGGER_RUNS};

use crate::state::AppState;
use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use axum::routing::get;
use axum::Router;

/// Adds the routes of the served resources.
pub(crate) fn routes(router: Router<AppState>) -> Router<AppState> {
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
        .route(
            &format!("{base}/namespaces/{{namespace}}/triggerruns/{{name}}"),
            get(
                move |s: State<AppState>, p: Path<(String, String)>, q: RawQuery, h: HeaderMap| {
                    handlers::one(runs, &TRIGGER_RUNS, s, p, q, h)
                },
            ),
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
            ),
        )
}
