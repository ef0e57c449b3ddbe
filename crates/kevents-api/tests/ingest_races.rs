//! A collector's ingest applies each source version once even when other writers change the
//! same events between its lookup and its write (the store answers NotFound / AlreadyExists /
//! Conflict and the ingest decodes and retries those events), and collectors of different
//! clusters ingest side by side.

use axum::body::Body;
use axum::http::Request;
use http_body_util::BodyExt;
use kevents_api::{router, AppState};
use kevents_model::EventKey;
use kevents_store::{Mutation, Store, StoreConfig};
use tower::ServiceExt;

const NAMES: usize = 60;

fn app(store: &Store) -> axum::Router {
    let (stop, shutdown) = tokio::sync::watch::channel(false);
    std::mem::forget(stop);
    router(AppState::new(store.clone(), shutdown))
}

fn batch(version: u64) -> String {
    let events: Vec<serde_json::Value> = (0..NAMES)
        .map(|i| {
            serde_json::json!({
                "metadata": {"name": format!("web-{i}.1"), "namespace": "default",
                             "uid": format!("u-{i}"), "resourceVersion": version.to_string()},
                "involvedObject": {"kind": "Pod", "namespace": "default", "name": format!("web-{i}")},
                "reason": "BackOff", "type": "Warning", "message": format!("try {version}"),
                "source": {"component": "kubelet"}, "count": version
            })
        })
        .collect();
    serde_json::json!({"events": events, "cursor": version.to_string()}).to_string()
}

async fn ingest(app: &axum::Router, cluster: &str, version: u64) -> serde_json::Value {
    let request = Request::post(format!("/kevents/v1/clusters/{cluster}/ingest"))
        .header("content-type", "application/json")
        .body(Body::from(batch(version)))
        .unwrap();
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status().as_u16();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    let answer: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(status, 200, "{answer}");
    answer
}

fn key(cluster: &str, i: usize) -> EventKey {
    EventKey {
        cluster: cluster.into(),
        namespace: "default".into(),
        name: format!("web-{i}.1"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ingest_racing_deletes_applies_every_batch_and_ends_at_the_newest_version() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(StoreConfig::new(dir.path())).unwrap();
    let app = app(&store);
    let deleter = {
        let store = store.clone();
        tokio::spawn(async move {
            let mut deleted = 0;
            for round in 0..40 {
                for i in (round % 3..NAMES).step_by(3) {
                    let delete = Mutation::Delete {
                        key: key("prod", i),
                        expected_rv: None,
                        expected_uid: None,
                    };
                    if store.write(delete).await.is_ok() {
                        deleted += 1;
                    }
                }
                tokio::task::yield_now().await;
            }
            deleted
        })
    };
    for version in 1..=40 {
        let answer = ingest(&app, "prod", version).await;
        assert_eq!(answer["errors"], serde_json::json!([]), "{answer}");
        // Every event is a newer source version than anything held: none may be skipped.
        assert_eq!(answer["applied"], NAMES as u64, "{answer}");
        assert_eq!(answer["cursor"], version.to_string());
    }
    assert!(deleter.await.unwrap() > 0, "the deletes raced nothing");
    let answer = ingest(&app, "prod", 50).await;
    assert_eq!(answer["applied"], NAMES as u64);
    for i in 0..NAMES {
        let held = store.get(&key("prod", i)).expect("every event is held");
        assert_eq!(held.record.source_resource_version, "50");
        assert_eq!(held.record.message, "try 50");
    }
    // A replay of an older batch changes nothing.
    let answer = ingest(&app, "prod", 49).await;
    assert_eq!(answer["applied"], 0);
    assert_eq!(answer["skipped"], NAMES as u64);
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn collectors_of_different_clusters_ingest_side_by_side() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(StoreConfig::new(dir.path())).unwrap();
    let app = app(&store);
    let collectors: Vec<_> = ["east", "west", "north", "south"]
        .into_iter()
        .map(|cluster| {
            let app = app.clone();
            tokio::spawn(async move {
                for version in 1..=10 {
                    let answer = ingest(&app, cluster, version).await;
                    assert_eq!(answer["applied"], NAMES as u64, "{answer}");
                }
            })
        })
        .collect();
    for collector in collectors {
        collector.await.unwrap();
    }
    for cluster in ["east", "west", "north", "south"] {
        for i in 0..NAMES {
            let held = store.get(&key(cluster, i)).expect("held");
            assert_eq!(held.record.source_resource_version, "10");
        }
    }
    store.close().await;
}
