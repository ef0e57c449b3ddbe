//! Create and update with `application/vnd.kubernetes.protobuf` bodies, as client-go's typed
//! clients send them (tools/events' recorder among them), answered in JSON. The bodies were
//! written by Go's own encoder (tests/k8s/cmd/protofixtures).

use axum::body::Body;
use axum::http::Request;
use http_body_util::BodyExt;
use kevents_api::{router, AppState};
use kevents_model::proto::{wire::Writer, MAGIC};
use kevents_store::{Store, StoreConfig};
use serde_json::Value;
use tower::ServiceExt;

const PROTOBUF: &str = "application/vnd.kubernetes.protobuf";
const CLIENT_GO_ACCEPT: &str = "application/vnd.kubernetes.protobuf,application/json";
const EVENTS: &str = "/apis/events.k8s.io/v1/namespaces/default/events";
const CORE: &str = "/api/v1/namespaces/default/events";

fn fixture(name: &str) -> Vec<u8> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../kevents-model/testdata/proto")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn app(dir: &tempfile::TempDir) -> axum::Router {
    let store = Store::open(StoreConfig::new(dir.path())).unwrap();
    let (stop, shutdown) = tokio::sync::watch::channel(false);
    std::mem::forget(stop);
    router(AppState::new(store, shutdown))
}

async fn send(app: &axum::Router, method: &str, uri: &str, body: Vec<u8>) -> (u16, Value) {
    let request = Request::builder()
        .method(method)
        .uri(uri)
        .header("content-type", PROTOBUF)
        .header("accept", CLIENT_GO_ACCEPT)
        .body(Body::from(body))
        .unwrap();
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status().as_u16();
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        content_type.starts_with("application/json"),
        "{content_type}"
    );
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, serde_json::from_slice(&body).unwrap())
}

#[tokio::test]
async fn recorder_create_then_series_update_in_protobuf() {
    let dir = tempfile::tempdir().unwrap();
    let app = app(&dir);
    let name = "web-0.182c9f1e2d3a4b5c";
    let (status, created) = send(&app, "POST", EVENTS, fixture("events-v1-recorded.pb")).await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["reportingController"], "default-scheduler");
    assert_eq!(created["eventTime"], "2025-03-14T15:09:26.535897Z");
    assert_eq!(created["regarding"]["fieldPath"], "spec.containers{web}");
    assert_eq!(created["related"]["kind"], "Node");

    let uri = format!("{EVENTS}/{name}");
    let (status, updated) = send(&app, "PUT", &uri, fixture("events-v1-series.pb")).await;
    assert_eq!(status, 200, "{updated}");
    assert_eq!(updated["series"]["count"], 3);
    assert_eq!(
        updated["series"]["lastObservedTime"],
        "2025-03-14T15:10:56.535897Z"
    );
    assert_eq!(updated["metadata"]["labels"]["tier"], "frontend");
    assert_eq!(
        updated["metadata"]["annotations"]["kevents.dev/note"],
        "ünïcode ✓"
    );
    assert_eq!(updated["metadata"]["uid"], created["metadata"]["uid"]);

    // Validation is the JSON path's: a new-style event may not fill the deprecated fields.
    let (status, refused) = send(&app, "POST", EVENTS, fixture("events-v1-deprecated.pb")).await;
    assert_eq!(status, 422, "{refused}");
    assert_eq!(refused["details"]["causes"][0]["field"], "firstTimestamp");
    assert_eq!(
        refused["details"]["causes"][0]["message"],
        "Invalid value: \"\": needs to be unset"
    );
}

#[tokio::test]
async fn core_create_in_protobuf_reads_back_through_both_groups() {
    let dir = tempfile::tempdir().unwrap();
    let app = app(&dir);
    let (status, created) = send(&app, "POST", CORE, fixture("core-v1-recorded.pb")).await;
    assert_eq!(status, 201, "{created}");
    let name = created["metadata"]["name"].as_str().unwrap();
    let get = Request::get(format!("{EVENTS}/{name}"))
        .body(Body::empty())
        .unwrap();
    let response = app.clone().oneshot(get).await.unwrap();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    let read: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(read["deprecatedCount"], 7);
    assert_eq!(read["deprecatedFirstTimestamp"], "2025-03-14T15:00:00Z");
    assert_eq!(read["deprecatedSource"]["host"], "node-1");
    assert_eq!(read["note"], created["message"]);
}

/// `DeleteOptions{preconditions{resourceVersion}}` as client-go's typed `Delete` sends it.
fn delete_options(resource_version: &str) -> Vec<u8> {
    let mut preconditions = Writer::new();
    preconditions.bytes(2, resource_version.as_bytes());
    let mut options = Writer::new();
    options.bytes(2, &preconditions.finish());
    let mut type_meta = Writer::new();
    type_meta.bytes(1, b"meta.k8s.io/v1");
    type_meta.bytes(2, b"DeleteOptions");
    let mut unknown = Writer::new();
    unknown.bytes(1, &type_meta.finish());
    unknown.bytes(2, &options.finish());
    let mut body = MAGIC.to_vec();
    body.extend(unknown.finish());
    body
}

#[tokio::test]
async fn typed_delete_sends_protobuf_delete_options() {
    let dir = tempfile::tempdir().unwrap();
    let app = app(&dir);
    let (_, created) = send(&app, "POST", CORE, fixture("core-v1-recorded.pb")).await;
    let uri = format!("{CORE}/{}", created["metadata"]["name"].as_str().unwrap());
    let (status, answer) = send(&app, "DELETE", &uri, delete_options("999")).await;
    assert_eq!(
        (status, answer["reason"].as_str()),
        (409, Some("Conflict")),
        "{answer}"
    );
    let current = created["metadata"]["resourceVersion"].as_str().unwrap();
    let (status, answer) = send(&app, "DELETE", &uri, delete_options(current)).await;
    assert_eq!(status, 200, "{answer}");
}

#[tokio::test]
async fn malformed_or_foreign_protobuf_is_a_bad_request() {
    let dir = tempfile::tempdir().unwrap();
    let app = app(&dir);
    let (status, answer) = send(&app, "POST", CORE, fixture("core-v1-pod.pb")).await;
    assert_eq!(
        (status, answer["reason"].as_str()),
        (400, Some("BadRequest"))
    );
    assert!(answer["message"]
        .as_str()
        .unwrap()
        .contains("(Pod) does not match"));

    let recorded = fixture("events-v1-recorded.pb");
    let (status, answer) = send(&app, "POST", EVENTS, recorded[..100].to_vec()).await;
    assert_eq!(status, 400, "{answer}");
    assert!(
        answer["message"].as_str().unwrap().contains("needs"),
        "{answer}"
    );

    let (status, answer) = send(&app, "POST", CORE, recorded).await;
    assert_eq!(status, 400, "{answer}");
    assert!(answer["message"]
        .as_str()
        .unwrap()
        .contains("events.k8s.io/v1"));
}
