//! The list and watch routes of a `kevents.io/v1` resource (across namespaces, and in one),
//! all answered by one function of the resource.

use crate::clusters::ClusterScope;
use crate::error::{not_allowed, Reply};
use crate::state::SharedState;
use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use axum::routing::{get, MethodRouter};
use axum::Router;
use std::future::Future;

/// Where a list or a watch of a `kevents.io/v1` resource was asked for.
pub(crate) struct Collection {
    /// The cluster of a `/clusters/{name}/…` path.
    pub cluster: Option<String>,
    /// The namespace of a `/namespaces/{namespace}/…` path.
    pub namespace: Option<String>,
    /// The raw query.
    pub query: Option<String>,
    /// The request's headers (the representation asked for).
    pub headers: HeaderMap,
    /// Asked on a `/watch/…` path.
    pub watch_path: bool,
}

/// Adds the list and watch routes of `plural`, across namespaces and, when `namespaced`, in
/// one; `read` answers them all, other methods a `405`.
pub(crate) fn collection_routes<R, F>(
    router: Router<SharedState>,
    plural: &str,
    namespaced: bool,
    read: R,
) -> Router<SharedState>
where
    R: Fn(SharedState, Collection) -> F + Clone + Send + Sync + 'static,
    F: Future<Output = Reply> + Send + 'static,
{
    let base = "/apis/kevents.io/v1";
    let across = |watch_path: bool| -> MethodRouter<SharedState> {
        let read = read.clone();
        get(
            move |State(state): State<SharedState>,
                  ClusterScope(cluster): ClusterScope,
                  RawQuery(query): RawQuery,
                  headers: HeaderMap| {
                let at = Collection {
                    cluster,
                    namespace: None,
                    query,
                    headers,
                    watch_path,
                };
                read(state, at)
            },
        )
        .fallback(not_allowed())
    };
    let within = |watch_path: bool| -> MethodRouter<SharedState> {
        let read = read.clone();
        get(
            move |State(state): State<SharedState>,
                  ClusterScope(cluster): ClusterScope,
                  Path(namespace): Path<String>,
                  RawQuery(query): RawQuery,
                  headers: HeaderMap| {
                let at = Collection {
                    cluster,
                    namespace: Some(namespace),
                    query,
                    headers,
                    watch_path,
                };
                read(state, at)
            },
        )
        .fallback(not_allowed())
    };
    let router = router
        .route(&format!("{base}/{plural}"), across(false))
        .route(&format!("{base}/watch/{plural}"), across(true));
    if !namespaced {
        return router;
    }
    router
        .route(
            &format!("{base}/namespaces/{{namespace}}/{plural}"),
            within(false),
        )
        .route(
            &format!("{base}/watch/namespaces/{{namespace}}/{plural}"),
            within(true),
        )
}
