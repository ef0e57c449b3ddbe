//! Many clusters in one hub: events collected from a cluster live under its name, served with the
//! full Kubernetes API at `/clusters/{name}/…`, and together with every other cluster's at the
//! root. Collectors write through `POST /kevents/v1/clusters/{name}/ingest`.

mod ingest;
mod known;
mod lost;
mod naming;
mod registry;
mod watch;

pub use naming::CLUSTER_LABEL;
pub(crate) use naming::{check_name, settle_cluster};
pub use registry::{ClusterRegistry, ClusterState, GapRecord};

use crate::error::ApiError;
use crate::state::{AppState, SharedState};
use crate::{Identity, Peer};
use axum::extract::{FromRequestParts, Path, Request, State};
use axum::http::request::Parts;
use axum::http::Uri;
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use axum::Router;
use tower::ServiceExt;

/// The cluster a request is scoped to by a `/clusters/{name}` prefix (`""`: the hub's own
/// events); `None` at the root.
#[derive(Clone, Debug, Default)]
pub(crate) struct ClusterScope(pub Option<String>);

impl<S: Send + Sync> FromRequestParts<S> for ClusterScope {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(parts
            .extensions
            .get::<ClusterScope>()
            .cloned()
            .unwrap_or_default())
    }
}

/// Adds the cluster routes to `router`; `scoped` serves the rewritten `/clusters/{name}/…` paths.
pub(crate) fn routes(router: Router<SharedState>, scoped: Router) -> Router<SharedState> {
    router
        .route(
            "/clusters/{cluster}/{*rest}",
            any(
                move |State(state): State<SharedState>,
                      Path((cluster, rest)): Path<(String, String)>,
                      request: Request| {
                    scoped_request(state, scoped.clone(), cluster, rest, request)
                },
            ),
        )
        .route("/kevents/v1/clusters", get(ingest::list_clusters))
        .route("/kevents/v1/clusters/{cluster}", get(ingest::get_cluster))
        .route(
            "/kevents/v1/clusters/{cluster}/ingest",
            post(ingest::ingest),
        )
}

/// Serves `/clusters/{cluster}/{rest}` as `/{rest}` within that cluster.
async fn scoped_request(
    state: SharedState,
    scoped: Router,
    cluster: String,
    rest: String,
    mut request: Request,
) -> Response {
    let cluster = match internal_name(&state, &cluster) {
        Ok(cluster) => cluster,
        Err(e) => return e.into_response(),
    };
    let path = format!("/{}", rest.trim_start_matches('/'));
    let uri = match request.uri().query() {
        Some(query) => format!("{path}?{query}"),
        None => path,
    };
    match uri.parse::<Uri>() {
        Ok(uri) => *request.uri_mut() = uri,
        Err(_) => return ApiError::unknown_path().into_response(),
    }
    // The outer route's path parameters must not reach the inner handlers' `Path` extractors:
    // start from clean extensions, carrying over what the request got before routing.
    let extensions = request.extensions_mut();
    let identity = extensions.get::<Identity>().cloned();
    let peer = extensions.get::<Peer>().cloned();
    extensions.clear();
    if let Some(identity) = identity {
        extensions.insert(identity);
    }
    if let Some(peer) = peer {
        extensions.insert(peer);
    }
    extensions.insert(ClusterScope(Some(cluster)));
    match scoped.oneshot(request).await {
        Ok(response) => response,
        Err(never) => match never {},
    }
}

/// The store's name for a cluster named in a path or selector: the hub's own cluster name means
/// the hub's own events (`""`).
pub(crate) fn internal_name(state: &AppState, cluster: &str) -> Result<String, ApiError> {
    if cluster == state.security.cluster {
        return Ok(String::new());
    }
    check_name(cluster)?;
    Ok(cluster.to_string())
}

/// The hub's name for its own events when tables get a `Cluster` column: only once it holds
/// collected events, so a hub without collectors prints exactly like a cluster.
pub(crate) fn cluster_column(state: &AppState) -> Option<String> {
    let collected = state.store.clusters().iter().any(|(c, _)| !c.is_empty());
    collected.then(|| state.security.cluster.clone())
}
