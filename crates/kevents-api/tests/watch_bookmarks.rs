//! Bookmarks of a watch scoped to a quiet namespace move with the store, not with the last
//! change the watch saw: a client resuming from them stays inside the retained history.

use axum::body::Body;
use axum::http::Request;
use http_body_util::BodyExt;
use kevents_api::{router, ApiConfig, AppState};
use kevents_store::{Store, StoreConfig};
use std::sync::Arc;
use std::time::Duration;
use tower::ServiceExt;

fn create(namespace: &str, name: &str) -> Request<Body> {
    Request::post(format!("/api/v1/namespaces/{namespace}/events"))
        .header("content-type", "application/json")
        .body(Body::from(format!(
            r#"{{"metadata":{{"name":"{name}"}},"involvedObject":{{"kind":"Pod","name":"p","namespace":"{namespace}"}},"reason":"Tick","message":"m","type":"Normal"}}"#
        )))
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_quiet_namespace_watch_bookmarks_the_stores_version() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(StoreConfig::new(dir.path())).unwrap();
    let (_stop, shutdown) = tokio::sync::watch::channel(false);
    let mut state = AppState::new(store.clone(), shutdown);
    state.config = Arc::new(ApiConfig {
        bookmark_interval: Duration::from_millis(100),
        ..ApiConfig::default()
    });
    let app = router(state);
    let start = store.resource_version();
    let watch = Request::get(format!(
        "/api/v1/namespaces/quiet/events?watch=true&allowWatchBookmarks=true&resourceVersion={start}"
    ))
    .body(Body::empty())
    .unwrap();
    let response = app.clone().oneshot(watch).await.unwrap();
    assert_eq!(response.status(), 200);
    let mut body = response.into_body();
    for i in 0..5 {
        let created = app.clone().oneshot(create("busy", &format!("e{i}"))).await;
        assert_eq!(created.unwrap().status(), 201);
    }
    let written = store.resource_version();
    assert!(written > start);

    let mut pending = Vec::new();
    let read = async {
        loop {
            let frame = body.frame().await.expect("the watch stays open").unwrap();
            pending.extend_from_slice(&frame.into_data().unwrap());
            while let Some(end) = pending.iter().position(|b| *b == b'\n') {
                let line: Vec<u8> = pending.drain(..=end).collect();
                let event: serde_json::Value = serde_json::from_slice(&line).unwrap();
                assert_eq!(event["type"], "BOOKMARK", "nothing of another namespace");
                let rv: u64 = event["object"]["metadata"]["resourceVersion"]
                    .as_str()
                    .unwrap()
                    .parse()
                    .unwrap();
                if rv == written {
                    return;
                }
                assert!(rv >= start && rv < written, "bookmark {rv}");
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(10), read)
        .await
        .expect("a bookmark at the store's version");
}
