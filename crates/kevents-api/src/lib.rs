//! The Kubernetes-compatible Events API of kevents: discovery, OpenAPI, list/get/watch,
//! create/update/patch/delete for `events` in `v1` and `events.k8s.io/v1`, Table printing,
//! and `Status` errors. [`router`] builds the axum router over a [`kevents_store::Store`].
#![warn(missing_docs)]

mod admission;
mod anomalies;
pub mod auth;
mod body;
mod clusters;
mod count_buckets;
mod counts;
mod delete;
mod discovery;
mod error;
mod filter;
mod guaranteed;
mod kinds;
mod metrics;
mod namespaces;
mod negotiate;
mod openapi;
mod panics;
mod patch;
mod query;
mod read;
mod respond;
mod series;
mod served;
mod state;
mod table;
mod uid;
mod watch;
mod write;

pub use admission::task::run_folding;
pub use admission::{Admission, AdmissionConfig};
pub use anomalies::{record_anomalies, AnomalyState, KeyResourceCheck};
pub use auth::{AuditRecord, Identity, Peer, Security};
use clusters::ClusterScope;
pub use clusters::{ClusterRegistry, ClusterState, GapRecord};
use error::not_allowed;
pub use error::{ApiError, ApiResult, MAX_REQUEST_HEAD_BYTES, MAX_REQUEST_TARGET_BYTES};
pub use metrics::ApiMetrics;
pub use panics::log_panics_briefly;
pub use series::SeriesState;
pub use served::{Patcher, ServedObjects};
pub use state::{ApiConfig, AppState};
use state::{SharedState, Target};

/// Entry points for fuzzing the request parsers directly; not a stable API.
#[doc(hidden)]
pub mod fuzzing {
    pub use crate::negotiate::PatchKind;
    pub use crate::patch::{apply as apply_patch, Limits as PatchLimits};
    pub use crate::query::{parse_query, ContinueToken, ListOptions};

    /// Applies a PATCH body to `document`, an event's JSON form through `group`, and decodes
    /// the result, as the PATCH handler does before validating and storing it.
    pub fn patch_event(
        kind: PatchKind,
        document: serde_json::Value,
        patch: &[u8],
        limits: &PatchLimits,
        group: kevents_model::ApiGroup,
    ) -> Result<(), crate::ApiError> {
        crate::write::patched_event(
            kind,
            document,
            patch,
            limits,
            group,
            crate::body::FieldValidation::Warn,
        )
        .map(|_| ())
    }
}

use axum::extract::{Path, RawQuery, Request, State};
use axum::http::HeaderMap;
use axum::routing::{get, MethodRouter};
use axum::Router;
use kevents_model::ApiGroup;

/// Builds the HTTP router.
pub fn router(state: AppState) -> Router {
    let state: SharedState = std::sync::Arc::new(state);
    let mut router = Router::new()
        .route("/version", get(discovery::version))
        .route("/api", get(discovery::core_versions))
        .route("/apis", get(discovery::groups))
        .route("/api/v1", get(discovery::core_resources))
        .route("/apis/{group}", get(discovery::group))
        .route("/apis/{group}/{version}", get(discovery::group_resources))
        .route("/openapi/v3", get(discovery::openapi_index))
        .route("/openapi/v3/api/v1", get(discovery::openapi_core))
        .route(
            "/openapi/v3/apis/events.k8s.io/v1",
            get(discovery::openapi_events),
        )
        .route("/healthz", get(discovery::healthy))
        .route("/livez", get(discovery::healthy))
        .route("/readyz", get(discovery::ready))
        .route(
            "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
            axum::routing::post(auth::self_subject_access_review),
        );
    for group in [ApiGroup::Core, ApiGroup::Events] {
        let prefix = match group {
            ApiGroup::Core => "/api/v1",
            ApiGroup::Events => "/apis/events.k8s.io/v1",
        };
        router = router
            .route(&format!("{prefix}/events"), all_namespaces(group, false))
            .route(
                &format!("{prefix}/watch/events"),
                all_namespaces(group, true),
            )
            .route(
                &format!("{prefix}/namespaces/{{namespace}}/events"),
                collection(group, false),
            )
            .route(
                &format!("{prefix}/watch/namespaces/{{namespace}}/events"),
                collection(group, true),
            )
            .route(
                &format!("{prefix}/namespaces/{{namespace}}/events/{{name}}"),
                item(group, false),
            )
            .route(
                &format!("{prefix}/watch/namespaces/{{namespace}}/events/{{name}}"),
                item(group, true),
            );
    }
    let router = namespaces::routes(counts::routes(served::routes(series::routes(
        anomalies::routes(router),
    ))));
    let scoped = router
        .clone()
        .fallback(|| async { ApiError::unknown_path() })
        .with_state(state.clone());
    clusters::routes(router, scoped)
        .fallback(|| async { ApiError::unknown_path() })
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            auth::guard,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            panics::catch,
        ))
        .layer(axum::middleware::from_fn_with_state(
            // One Arc per request rather than a clone of every metric's.
            std::sync::Arc::new(state.metrics.clone()),
            metrics::track,
        ))
        .with_state(state)
}

fn all_namespaces(group: ApiGroup, watch_path: bool) -> MethodRouter<SharedState> {
    get(
        move |State(state): State<SharedState>,
              ClusterScope(cluster): ClusterScope,
              RawQuery(query): RawQuery,
              headers: HeaderMap| {
            let target = Target {
                group,
                cluster,
                namespace: None,
                name: None,
            };
            read::list_or_watch(state, target, query, headers, watch_path)
        },
    )
    .fallback(not_allowed())
}

fn collection(group: ApiGroup, watch_path: bool) -> MethodRouter<SharedState> {
    let target = move |cluster: Option<String>, namespace: String| Target {
        group,
        cluster,
        namespace: Some(namespace),
        name: None,
    };
    let list = get(
        move |State(state): State<SharedState>,
              ClusterScope(cluster): ClusterScope,
              Path(namespace): Path<String>,
              RawQuery(query): RawQuery,
              headers: HeaderMap| {
            let target = target(cluster, namespace);
            read::list_or_watch(state, target, query, headers, watch_path)
        },
    );
    if watch_path {
        return list.fallback(not_allowed());
    }
    list.post(
        move |State(state): State<SharedState>,
              ClusterScope(cluster): ClusterScope,
              Path(namespace): Path<String>,
              RawQuery(query): RawQuery,
              request: Request| {
            write::create(state, target(cluster, namespace), query, request)
        },
    )
    .delete(
        move |State(state): State<SharedState>,
              ClusterScope(cluster): ClusterScope,
              Path(namespace): Path<String>,
              RawQuery(query): RawQuery,
              request: Request| {
            delete::delete_collection(state, target(cluster, namespace), query, request)
        },
    )
    .fallback(not_allowed())
}

fn item(group: ApiGroup, watch_path: bool) -> MethodRouter<SharedState> {
    let target = move |cluster: Option<String>, (namespace, name): (String, String)| Target {
        group,
        cluster,
        namespace: Some(namespace),
        name: Some(name),
    };
    let read = get(
        move |State(state): State<SharedState>,
              ClusterScope(cluster): ClusterScope,
              Path(path): Path<(String, String)>,
              RawQuery(query): RawQuery,
              headers: HeaderMap| async move {
            let target = target(cluster, path);
            if watch_path {
                read::list_or_watch(state, target, query, headers, true).await
            } else {
                read::get_one(state, target, query, headers).await
            }
        },
    );
    if watch_path {
        return read.fallback(not_allowed());
    }
    read.put(
        move |State(state): State<SharedState>,
              ClusterScope(cluster): ClusterScope,
              Path(path): Path<(String, String)>,
              RawQuery(query): RawQuery,
              request: Request| {
            write::update(state, target(cluster, path), query, request)
        },
    )
    .patch(
        move |State(state): State<SharedState>,
              ClusterScope(cluster): ClusterScope,
              Path(path): Path<(String, String)>,
              RawQuery(query): RawQuery,
              request: Request| {
            write::patch(state, target(cluster, path), query, request)
        },
    )
    .delete(
        move |State(state): State<SharedState>,
              ClusterScope(cluster): ClusterScope,
              Path(path): Path<(String, String)>,
              RawQuery(query): RawQuery,
              request: Request| {
            delete::delete(state, target(cluster, path), query, request)
        },
    )
    .fallback(not_allowed())
}
