//! Discovery (legacy and aggregated), `/version`, OpenAPI, and health endpoints.

use crate::error::ApiError;
use crate::error::Reply;
use crate::kinds::{kind, ReferencedKind, REFERENCED_KINDS};
use crate::openapi;
use crate::respond::json_response;
use crate::state::SharedState;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use kevents_model::ApiGroup;
use kevents_store::StoreError;
use serde_json::{json, Value};

const VERBS: [&str; 8] = [
    "create",
    "delete",
    "deletecollection",
    "get",
    "list",
    "patch",
    "update",
    "watch",
];

/// `/version`, shaped like the apiserver's (kubectl prints it as the server version): the
/// Kubernetes version whose API types kevents is built with.
pub async fn version() -> Reply {
    let minor = kevents_model::wire::kubernetes_minor();
    json_response(
        StatusCode::OK,
        &json!({
            "major": "1",
            "minor": minor.to_string(),
            "gitVersion": format!("v1.{minor}.0-kevents.{}", env!("CARGO_PKG_VERSION")),
            "gitCommit": "",
            "gitTreeState": "clean",
            "buildDate": "",
            "goVersion": "",
            "compiler": "rustc",
            "platform": format!("{}/{}", std::env::consts::OS, std::env::consts::ARCH),
        }),
    )
}

/// The aggregated discovery version the client accepts, if any.
fn aggregated_version(headers: &HeaderMap) -> Option<&'static str> {
    let accept = headers.get(header::ACCEPT)?.to_str().ok()?;
    for range in accept.split(',') {
        let params: Vec<&str> = range.split(';').map(str::trim).collect();
        let has = |p: &str| params.contains(&p);
        if has("g=apidiscovery.k8s.io") && has("as=APIGroupDiscoveryList") {
            if has("v=v2") {
                return Some("v2");
            }
            if has("v=v2beta1") {
                return Some("v2beta1");
            }
        }
    }
    None
}

fn discovery_response(version: &str, body: Value) -> Reply {
    let mut response = json_response(StatusCode::OK, &body)?;
    let content_type =
        format!("application/json;g=apidiscovery.k8s.io;v={version};as=APIGroupDiscoveryList");
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_str(&content_type).expect("a valid header value"),
    );
    Ok(response)
}

/// The non-core groups served or listed, in discovery order.
const GROUPS: &[(&str, &str)] = &[
    ("events.k8s.io", "v1"),
    ("kevents.io", "v1"),
    ("authorization.k8s.io", "v1"),
    ("apps", "v1"),
    ("batch", "v1"),
    ("autoscaling", "v2"),
    ("policy", "v1"),
    ("networking.k8s.io", "v1"),
];

fn events_resource(group: &str) -> ReferencedKind {
    kind(
        if group.is_empty() {
            ""
        } else {
            "events.k8s.io"
        },
        "v1",
        "events",
        "event",
        "Event",
        true,
        if group.is_empty() { &["ev"] } else { &[] },
    )
}

/// Resources of one group version: events where served, plus the referenced kinds.
fn resources_of(group: &str, version: &str) -> Vec<ReferencedKind> {
    let mut resources = Vec::new();
    if (group.is_empty() || group == "events.k8s.io") && version == "v1" {
        resources.push(events_resource(group));
    }
    resources.extend(
        REFERENCED_KINDS
            .iter()
            .filter(|k| k.group == group && k.version == version)
            .map(|k| {
                kind(
                    k.group,
                    k.version,
                    k.resource,
                    k.singular,
                    k.kind,
                    k.namespaced,
                    k.short_names,
                )
            }),
    );
    resources
}

fn verbs_of(resource: &ReferencedKind) -> &'static [&'static str] {
    match resource.resource {
        "events" => &VERBS,
        "selfsubjectaccessreviews" => &["create"],
        "eventseries" => &["get", "list", "watch"],
        "eventpatterns" => &["get", "list"],
        "anomalies" => &["get", "list", "watch"],
        "triggerruns" | "alerts" => &["get", "list", "watch"],
        "triggers" => &["get", "list", "watch", "patch"],
        _ => &[],
    }
}

fn aggregated_group(group: &str, version: &str) -> Value {
    let resources: Vec<Value> = resources_of(group, version)
        .iter()
        .map(|r| {
            let mut entry = json!({
                "resource": r.resource,
                "singularResource": r.singular,
                "scope": if r.namespaced { "Namespaced" } else { "Cluster" },
                "responseKind": {"group": r.group, "version": r.version, "kind": r.kind},
                "verbs": verbs_of(r),
            });
            if !r.short_names.is_empty() {
                entry["shortNames"] = json!(r.short_names);
            }
            entry
        })
        .collect();
    let mut metadata = json!({"creationTimestamp": null});
    if !group.is_empty() {
        metadata["name"] = json!(group);
    }
    json!({
        "metadata": metadata,
        "versions": [{"version": version, "freshness": "Current", "resources": resources}],
    })
}

fn aggregated_list(version: &str, items: Vec<Value>) -> Value {
    json!({
        "kind": "APIGroupDiscoveryList",
        "apiVersion": format!("apidiscovery.k8s.io/{version}"),
        "metadata": {},
        "items": items,
    })
}

fn server_address(headers: &HeaderMap) -> String {
    headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("127.0.0.1:8080")
        .to_string()
}

/// `/api`.
pub async fn core_versions(headers: HeaderMap) -> Reply {
    if let Some(version) = aggregated_version(&headers) {
        return discovery_response(
            version,
            aggregated_list(version, vec![aggregated_group("", "v1")]),
        );
    }
    json_response(
        StatusCode::OK,
        &json!({
            "kind": "APIVersions",
            "versions": ["v1"],
            "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server_address(&headers)}],
        }),
    )
}

fn group_document(group: &str, version: &str) -> Value {
    let version = json!({"groupVersion": format!("{group}/{version}"), "version": version});
    json!({
        "name": group,
        "versions": [version],
        "preferredVersion": version,
    })
}

/// `/apis`.
pub async fn groups(headers: HeaderMap) -> Reply {
    if let Some(version) = aggregated_version(&headers) {
        let items = GROUPS.iter().map(|(g, v)| aggregated_group(g, v)).collect();
        return discovery_response(version, aggregated_list(version, items));
    }
    let groups: Vec<Value> = GROUPS.iter().map(|(g, v)| group_document(g, v)).collect();
    json_response(
        StatusCode::OK,
        &json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}),
    )
}

/// `/apis/{group}`.
pub async fn group(Path(group): Path<String>) -> Reply {
    let (name, version) = GROUPS
        .iter()
        .find(|(g, _)| *g == group)
        .ok_or_else(ApiError::unknown_path)?;
    let mut group = group_document(name, version);
    group["kind"] = json!("APIGroup");
    group["apiVersion"] = json!("v1");
    json_response(StatusCode::OK, &group)
}

fn resource_list(group: &str, version: &str) -> Value {
    let resources: Vec<Value> = resources_of(group, version)
        .iter()
        .map(|r| {
            let mut entry = json!({
                "name": r.resource,
                "singularName": r.singular,
                "namespaced": r.namespaced,
                "kind": r.kind,
                "verbs": verbs_of(r),
            });
            if !r.short_names.is_empty() {
                entry["shortNames"] = json!(r.short_names);
            }
            entry
        })
        .collect();
    let group_version = if group.is_empty() {
        version.to_string()
    } else {
        format!("{group}/{version}")
    };
    json!({
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": group_version,
        "resources": resources,
    })
}

/// `/api/v1`.
pub async fn core_resources() -> Reply {
    json_response(StatusCode::OK, &resource_list("", "v1"))
}

/// `/apis/{group}/{version}`.
pub async fn group_resources(Path((group, version)): Path<(String, String)>) -> Reply {
    if !GROUPS.iter().any(|(g, v)| *g == group && *v == version) {
        return Err(ApiError::unknown_path());
    }
    json_response(StatusCode::OK, &resource_list(&group, &version))
}

fn raw_json(bytes: &'static [u8]) -> Reply {
    let mut response = Response::new(Body::from(bytes));
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    Ok(response)
}

/// `/openapi/v3`.
pub async fn openapi_index() -> Reply {
    raw_json(openapi::index())
}

/// `/openapi/v3/api/v1`.
pub async fn openapi_core() -> Reply {
    raw_json(openapi::document(ApiGroup::Core))
}

/// `/openapi/v3/apis/events.k8s.io/v1`.
pub async fn openapi_events() -> Reply {
    raw_json(openapi::document(ApiGroup::Events))
}

/// `/healthz` and `/livez`.
pub async fn healthy() -> &'static str {
    "ok"
}

/// `/readyz`: ready while the store accepts writes (its writer runs and the disk takes writes)
/// and the server is not shutting down; the body says why not.
pub async fn ready(State(state): State<SharedState>) -> (StatusCode, String) {
    if *state.shutdown.borrow() {
        return (StatusCode::SERVICE_UNAVAILABLE, "shutting down".into());
    }
    // After a failed write the store probes the disk with a small write and fsync.
    let store = state.store.clone();
    let accepts = tokio::task::spawn_blocking(move || store.accepts_writes())
        .await
        .unwrap_or(Err(StoreError::Closed));
    match accepts {
        Ok(()) => (StatusCode::OK, "ok".into()),
        Err(e) => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("the store does not accept writes: {e}"),
        ),
    }
}

#[cfg(test)]
mod tests {
    use crate::{router, AppState};
    use axum::body::Body;
    use axum::http::Request;
    use tower::ServiceExt;

    async fn readyz(app: &axum::Router) -> (u16, String) {
        let request = Request::get("/readyz").body(Body::empty()).unwrap();
        let response = app.clone().oneshot(request).await.unwrap();
        let status = response.status().as_u16();
        let body = http_body_util::BodyExt::collect(response.into_body())
            .await
            .unwrap()
            .to_bytes();
        (status, String::from_utf8_lossy(&body).into_owned())
    }

    #[tokio::test]
    async fn readyz_answers_503_once_the_store_stops_accepting_writes_or_the_server_stops() {
        let dir = tempfile::tempdir().unwrap();
        let store =
            kevents_store::Store::open(kevents_store::StoreConfig::new(dir.path())).unwrap();
        let (stop, shutdown) = tokio::sync::watch::channel(false);
        let app = router(AppState::new(store.clone(), shutdown));
        assert_eq!(readyz(&app).await, (200, "ok".into()));

        store.close().await;
        let (status, body) = readyz(&app).await;
        assert_eq!(status, 503);
        assert!(body.contains("the store is closed"), "{body}");

        stop.send(true).unwrap();
        assert_eq!(readyz(&app).await, (503, "shutting down".into()));
    }
}
