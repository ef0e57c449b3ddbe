//! The reads every `kevents.io/v1` resource shares (served objects, series, anomalies): lists
//! narrowed by namespace and labels, Tables with typed cells, watches that send what is kept
//! and then each change, and a `405` Status for any method a resource does not take.

use axum::body::Body;
use axum::http::Request;
use http_body_util::BodyExt;
use kevents_api::{router, AppState, ServedObjects};
use kevents_store::{Store, StoreConfig};
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;
use tower::ServiceExt;

const TABLE: &str = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json";

fn app(store: &Store, runs: Arc<ServedObjects>) -> axum::Router {
    let (stop, shutdown) = tokio::sync::watch::channel(false);
    std::mem::forget(stop);
    router(AppState {
        trigger_runs: runs,
        ..AppState::new(store.clone(), shutdown)
    })
}

async fn send(app: &axum::Router, request: Request<Body>) -> (u16, Vec<u8>) {
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status().as_u16();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, body.to_vec())
}

async fn get(app: &axum::Router, path: &str, accept: &str) -> (u16, Value) {
    let request = Request::get(path)
        .header("accept", accept)
        .body(Body::empty())
        .unwrap();
    let (status, body) = send(app, request).await;
    (status, serde_json::from_slice(&body).unwrap())
}

fn run(namespace: &str, name: &str, labels: Value) -> Value {
    json!({
        "apiVersion": "kevents.io/v1", "kind": "TriggerRun",
        "metadata": {"namespace": namespace, "name": name, "labels": labels},
        "spec": {"trigger": "restart", "action": {"type": "webhook"}},
        "status": {"phase": "Succeeded", "attempts": 2},
    })
}

fn names(list: &Value) -> Vec<&str> {
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["metadata"]["name"].as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn lists_narrow_by_namespace_and_labels_and_print_typed_table_cells() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(StoreConfig::new(dir.path())).unwrap();
    let runs = Arc::new(ServedObjects::default());
    runs.put(run("a", "r1", json!({"tier": "web"})));
    runs.put(run("a", "r2", json!({})));
    runs.put(run("b", "r3", json!({"tier": "web"})));
    let app = app(&store, runs);
    let base = "/apis/kevents.io/v1";

    let (status, list) = get(&app, &format!("{base}/triggerruns"), "application/json").await;
    assert_eq!(status, 200);
    assert_eq!(list["kind"], "TriggerRunList");
    assert_eq!(list["metadata"]["resourceVersion"], "3");
    assert_eq!(names(&list), ["r1", "r2", "r3"]);
    let (_, list) = get(
        &app,
        &format!("{base}/namespaces/a/triggerruns"),
        "application/json",
    )
    .await;
    assert_eq!(names(&list), ["r1", "r2"]);
    let (_, list) = get(
        &app,
        &format!("{base}/triggerruns?labelSelector=tier%3Dweb"),
        "application/json",
    )
    .await;
    assert_eq!(names(&list), ["r1", "r3"]);

    let (status, table) = get(&app, &format!("{base}/namespaces/b/triggerruns"), TABLE).await;
    assert_eq!(status, 200);
    assert_eq!(table["kind"], "Table");
    assert_eq!(table["columnDefinitions"][0]["format"], "name");
    assert_eq!(table["columnDefinitions"][4]["type"], "integer");
    let cells = &table["rows"][0]["cells"];
    assert_eq!(cells[0], "r3");
    assert_eq!(cells[2], "webhook");
    assert_eq!(cells[4], 2, "an integer column holds a number");
    assert_eq!(cells[5], 0, "a missing integer is 0");
    assert_eq!(cells[6], "<unknown>", "an age without a time");
    assert_eq!(
        table["rows"][0]["object"]["kind"], "PartialObjectMetadata",
        "rows carry metadata unless includeObject=Object"
    );

    let (status, one) = get(
        &app,
        &format!("{base}/namespaces/a/triggerruns/r9"),
        "application/json",
    )
    .await;
    assert_eq!((status, one["reason"].as_str()), (404, Some("NotFound")));
}

#[tokio::test]
async fn a_watch_sends_what_is_kept_then_each_change_and_resumes_after_a_version() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(StoreConfig::new(dir.path())).unwrap();
    let runs = Arc::new(ServedObjects::default());
    runs.put(run("a", "r1", json!({})));
    runs.put(run("a", "r2", json!({})));
    let app = app(&store, runs.clone());
    let writer = {
        let runs = runs.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(500)).await;
            runs.put(run("a", "r1", json!({})));
            runs.put(run("b", "r3", json!({})));
            runs.remove("a", "r2");
        })
    };
    let watch = Request::get("/apis/kevents.io/v1/watch/namespaces/a/triggerruns?timeoutSeconds=3")
        .body(Body::empty())
        .unwrap();
    let (status, body) = send(&app, watch).await;
    writer.await.unwrap();
    assert_eq!(status, 200);
    let events: Vec<(String, String, String)> = body
        .split(|b| *b == b'\n')
        .filter(|line| !line.is_empty())
        .map(|line| {
            let event: Value = serde_json::from_slice(line).unwrap();
            let metadata = &event["object"]["metadata"];
            (
                event["type"].as_str().unwrap().to_string(),
                metadata["name"].as_str().unwrap().to_string(),
                metadata["resourceVersion"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let expected = [
        ("ADDED", "r1", "1"),
        ("ADDED", "r2", "2"),
        ("MODIFIED", "r1", "3"),
        ("DELETED", "r2", "5"),
    ];
    let expected: Vec<(String, String, String)> = expected
        .iter()
        .map(|(t, n, v)| (t.to_string(), n.to_string(), v.to_string()))
        .collect();
    assert_eq!(events, expected, "r3 is in another namespace");

    let resume =
        Request::get("/apis/kevents.io/v1/watch/triggerruns?resourceVersion=3&timeoutSeconds=1")
            .body(Body::empty())
            .unwrap();
    let (_, body) = send(&app, resume).await;
    let first: Value = serde_json::from_slice(body.split(|b| *b == b'\n').next().unwrap()).unwrap();
    assert_eq!(
        first["type"], "MODIFIED",
        "resuming sends what changed since"
    );
    assert_eq!(first["object"]["metadata"]["name"], "r3");
}

#[tokio::test]
async fn methods_a_read_only_collection_does_not_take_answer_a_405_status() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(StoreConfig::new(dir.path())).unwrap();
    let app = app(&store, Arc::new(ServedObjects::default()));
    for path in [
        "/apis/kevents.io/v1/triggerruns",
        "/apis/kevents.io/v1/namespaces/a/eventseries",
        "/apis/kevents.io/v1/anomalies",
    ] {
        let request = Request::post(path)
            .header("content-type", "application/json")
            .body(Body::from("{}"))
            .unwrap();
        let (status, body) = send(&app, request).await;
        assert_eq!(status, 405, "{path}");
        let status: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(
            (status["kind"].as_str(), status["reason"].as_str()),
            (Some("Status"), Some("MethodNotAllowed")),
            "{path}"
        );
    }
}
