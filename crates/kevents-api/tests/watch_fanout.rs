//! Many watchers at once: every live watcher sees every change, a watcher that stops reading
//! is cut off instead of slowing writers, and the writers finish regardless.

use axum::body::Body;
use axum::http::Request;
use http_body_util::BodyExt;
use kevents_api::{router, AppState};
use kevents_store::{Store, StoreConfig};
use std::time::Duration;
use tower::ServiceExt;

const EVENTS: usize = 1500;
const WATCHERS: usize = 20;

fn app(store: &Store) -> axum::Router {
    let (stop, shutdown) = tokio::sync::watch::channel(false);
    // Keep the sender alive for the test's duration.
    std::mem::forget(stop);
    router(AppState::new(store.clone(), shutdown))
}

async fn open_watch(app: &axum::Router, resource_version: u64) -> Body {
    let uri =
        format!("/api/v1/namespaces/load/events?watch=true&resourceVersion={resource_version}");
    let response = app
        .clone()
        .oneshot(Request::get(uri).body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    response.into_body()
}

/// Reads a watch body until `expected` ADDED lines arrived or the stream ended.
async fn count_added(mut body: Body, expected: usize) -> usize {
    let mut seen = 0;
    let mut pending = Vec::new();
    while seen < expected {
        match body.frame().await {
            Some(Ok(frame)) => {
                if let Ok(data) = frame.into_data() {
                    pending.extend_from_slice(&data);
                    while let Some(end) = pending.iter().position(|b| *b == b'\n') {
                        let line: Vec<u8> = pending.drain(..=end).collect();
                        if line.starts_with(br#"{"type":"ADDED""#) {
                            seen += 1;
                        }
                    }
                }
            }
            _ => break,
        }
    }
    seen
}

fn event_body(i: usize) -> Body {
    Body::from(format!(
        r#"{{"metadata":{{"name":"e{i}"}},"involvedObject":{{"kind":"Pod","name":"p","namespace":"load"}},"reason":"Tick","message":"tick {i}","type":"Normal"}}"#
    ))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_watcher_is_dropped_while_writers_and_live_watchers_proceed() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = StoreConfig::new(dir.path());
    config.feed_capacity = 512;
    let store = Store::open(config).unwrap();
    let app = app(&store);
    let start = store.resource_version();

    let mut live = Vec::new();
    for _ in 0..WATCHERS {
        let body = open_watch(&app, start).await;
        live.push(tokio::spawn(count_added(body, EVENTS)));
    }
    let slow = open_watch(&app, start).await;

    let writers: Vec<_> = (0..4)
        .map(|w| {
            let app = app.clone();
            tokio::spawn(async move {
                for i in (w..EVENTS).step_by(4) {
                    let request = Request::post("/api/v1/namespaces/load/events")
                        .header("content-type", "application/json")
                        .body(event_body(i))
                        .unwrap();
                    let response = app.clone().oneshot(request).await.unwrap();
                    assert_eq!(response.status(), 201);
                }
            })
        })
        .collect();
    let all_written = async {
        for writer in writers {
            writer.await.unwrap();
        }
    };
    tokio::time::timeout(Duration::from_secs(60), all_written)
        .await
        .expect("writers must not wait for a watcher that does not read");

    for watcher in live {
        let seen = tokio::time::timeout(Duration::from_secs(30), watcher)
            .await
            .expect("live watchers keep up")
            .unwrap();
        assert_eq!(seen, EVENTS, "a watcher that reads sees every change");
    }
    // The slow watcher gets what was buffered for it, then its stream ends instead of hanging.
    let seen = tokio::time::timeout(Duration::from_secs(30), count_added(slow, EVENTS))
        .await
        .expect("the slow watcher's stream ends");
    assert!(
        seen < EVENTS,
        "the slow watcher was cut off after {seen} events"
    );
    store.close().await;
}
