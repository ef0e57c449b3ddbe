//! The series are fed from the store's change feed, after the write is acknowledged. A read of
//! `eventseries` right after a write must still see it: the read waits for the feed to catch up
//! to the store's version instead of answering from a stale state.

use axum::body::Body;
use axum::http::Request;
use http_body_util::BodyExt;
use kevents_api::{router, AppState, SeriesState};
use kevents_store::{Scope, Store, StoreConfig, WatchFrom};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tower::ServiceExt;

fn app(store: &Store, series: Arc<SeriesState>) -> axum::Router {
    let (stop, shutdown) = tokio::sync::watch::channel(false);
    std::mem::forget(stop);
    router(AppState {
        series,
        ..AppState::new(store.clone(), shutdown)
    })
}

async fn send(app: &axum::Router, request: Request<Body>) -> (u16, serde_json::Value) {
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status().as_u16();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, serde_json::from_slice(&body).unwrap())
}

#[tokio::test]
async fn series_list_waits_for_the_feed_to_reach_acknowledged_writes() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(StoreConfig::new(dir.path())).unwrap();
    let series = Arc::new(SeriesState::default());
    series.rebuild(&store);
    let app = app(&store, series.clone());
    let from = store.resource_version();

    let event = serde_json::json!({
        "apiVersion": "v1", "kind": "Event",
        "metadata": {"name": "web-0.1", "namespace": "default"},
        "involvedObject": {"kind": "Pod", "namespace": "default", "name": "web-0", "uid": "u-1"},
        "reason": "BackOff", "type": "Warning", "message": "Back-off restarting failed container",
        "source": {"component": "kubelet"}, "count": 1
    });
    let create = Request::post("/api/v1/namespaces/default/events")
        .header("content-type", "application/json")
        .body(Body::from(event.to_string()))
        .unwrap();
    assert_eq!(send(&app, create).await.0, 201);

    // Nothing has fed the series yet: the write is acknowledged, the series state is behind.
    assert!(series.is_empty());
    let fed = Arc::new(AtomicBool::new(false));
    let feeder = {
        let (store, series, fed) = (store.clone(), series.clone(), fed.clone());
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(300)).await;
            let subscription = store.subscribe(WatchFrom::After(from), Scope::ALL).unwrap();
            fed.store(true, Ordering::SeqCst);
            for change in &subscription.backlog {
                series.observe(change);
            }
        })
    };
    let list = Request::get("/apis/kevents.io/v1/eventseries")
        .body(Body::empty())
        .unwrap();
    let (status, body) = send(&app, list).await;
    assert_eq!(status, 200, "{body}");
    assert!(
        fed.load(Ordering::SeqCst),
        "the list answered before the feed ran"
    );
    let items = body["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{body}");
    assert_eq!(items[0]["spec"]["involvedObject"]["name"], "web-0");
    feeder.await.unwrap();
}

#[tokio::test]
async fn unfed_series_state_answers_without_waiting() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(StoreConfig::new(dir.path())).unwrap();
    let app = app(&store, Arc::new(SeriesState::default()));
    let started = std::time::Instant::now();
    let list = Request::get("/apis/kevents.io/v1/eventseries")
        .body(Body::empty())
        .unwrap();
    assert_eq!(send(&app, list).await.0, 200);
    assert!(started.elapsed() < Duration::from_secs(1));
}
