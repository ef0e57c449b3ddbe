//! Watch lines are encoded once per change and API group and shared between watchers: watchers
//! of the two API groups, with and without a selector, each still get their own view.

use axum::body::Body;
use axum::http::Request;
use http_body_util::BodyExt;
use kevents_api::{router, AppState};
use kevents_store::{Store, StoreConfig};
use tower::ServiceExt;

fn app(store: &Store) -> axum::Router {
    let (stop, shutdown) = tokio::sync::watch::channel(false);
    std::mem::forget(stop);
    router(AppState::new(store.clone(), shutdown))
}

/// The first `lines` lines of a watch.
async fn first_lines(app: axum::Router, uri: String, lines: usize) -> Vec<serde_json::Value> {
    let response = app
        .clone()
        .oneshot(Request::get(uri).body(Body::empty()).unwrap())
        .await
        .unwrap();
    let mut body = response.into_body();
    let mut text = Vec::new();
    while text.iter().filter(|b| **b == b'\n').count() < lines {
        let frame = body.frame().await.expect("stream open").unwrap();
        text.extend_from_slice(&frame.into_data().unwrap());
    }
    // A chunk may hold more lines than asked for: lines, not chunks, are the stream's unit.
    text.split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .take(lines)
        .map(|l| serde_json::from_slice(l).unwrap())
        .collect()
}

#[tokio::test]
async fn watchers_of_both_groups_and_selectors_get_their_own_view_of_a_shared_change() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(StoreConfig::new(dir.path())).unwrap();
    let app = app(&store);
    let rv = store.resource_version();
    let core = format!("/api/v1/namespaces/default/events?watch=true&resourceVersion={rv}");
    let modern =
        format!("/apis/events.k8s.io/v1/namespaces/default/events?watch=true&resourceVersion={rv}");
    let selected = format!("{core}&fieldSelector=reason%3DBackOff");
    let watches = [
        tokio::spawn(first_lines(app.clone(), core.clone(), 2)),
        tokio::spawn(first_lines(app.clone(), modern, 2)),
        tokio::spawn(first_lines(app.clone(), core, 2)),
        tokio::spawn(first_lines(app.clone(), selected, 2)),
    ];
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let event = serde_json::json!({
        "apiVersion": "v1", "kind": "Event",
        "metadata": {"name": "web-0.1", "namespace": "default"},
        "involvedObject": {"kind": "Pod", "namespace": "default", "name": "web-0"},
        "reason": "Pulled", "type": "Normal", "message": "pulled", "count": 1
    });
    let create = |body: serde_json::Value| {
        Request::post("/api/v1/namespaces/default/events")
            .header("content-type", "application/json")
            .body(Body::from(body.to_string()))
            .unwrap()
    };
    assert_eq!(
        app.clone()
            .oneshot(create(event.clone()))
            .await
            .unwrap()
            .status(),
        201
    );
    let patch = Request::patch("/api/v1/namespaces/default/events/web-0.1")
        .header("content-type", "application/merge-patch+json")
        .body(Body::from(r#"{"reason":"BackOff","count":2}"#))
        .unwrap();
    assert_eq!(app.clone().oneshot(patch).await.unwrap().status(), 200);
    let mut second = event;
    second["metadata"]["name"] = "web-0.2".into();
    second["reason"] = "BackOff".into();
    assert_eq!(
        app.clone().oneshot(create(second)).await.unwrap().status(),
        201
    );

    let [core, modern, core_again, selected] = watches;
    let (core, modern) = (core.await.unwrap(), modern.await.unwrap());
    let summary = |lines: &[serde_json::Value]| -> Vec<(String, String)> {
        lines
            .iter()
            .map(|l| {
                (
                    l["type"].as_str().unwrap().to_string(),
                    l["object"]["apiVersion"].as_str().unwrap().to_string(),
                )
            })
            .collect()
    };
    assert_eq!(
        summary(&core),
        [
            ("ADDED".into(), "v1".into()),
            ("MODIFIED".into(), "v1".into())
        ]
    );
    assert_eq!(core[1]["object"]["count"], 2);
    let events_v1 = "events.k8s.io/v1".to_string();
    assert_eq!(
        summary(&modern),
        [
            ("ADDED".into(), events_v1.clone()),
            ("MODIFIED".into(), events_v1)
        ]
    );
    assert_eq!(modern[1]["object"]["deprecatedCount"], 2);
    assert_eq!(core_again.await.unwrap(), core);
    // The selector only matched from the patch on: that change is ADDED for it.
    let selected = selected.await.unwrap();
    assert_eq!(selected[0]["type"], "ADDED");
    assert_eq!(selected[0]["object"]["metadata"]["name"], "web-0.1");
    assert_eq!(selected[1]["object"]["metadata"]["name"], "web-0.2");
}

/// Changes committed together reach a watcher together (handed to the response at once), each
/// still as one whole line, in order, without the changes its scope leaves out.
#[tokio::test]
async fn a_burst_of_changes_reaches_a_watcher_whole_and_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(StoreConfig::new(dir.path())).unwrap();
    let app = app(&store);
    let rv = store.resource_version();
    let uri = format!("/api/v1/namespaces/default/events?watch=true&resourceVersion={rv}");
    let watch = tokio::spawn(first_lines(app, uri, 200));
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let mutations = (0..300)
        .map(|i| {
            let namespace = if i % 3 == 2 { "other" } else { "default" };
            kevents_store::Mutation::Create(kevents_model::EventRecord {
                namespace: namespace.into(),
                name: format!("burst-{i:03}"),
                uid: format!("uid-{i}"),
                reason: "Pulled".into(),
                ..Default::default()
            })
        })
        .collect();
    for result in store.write_many(mutations).await {
        result.unwrap();
    }
    let names: Vec<String> = watch
        .await
        .unwrap()
        .iter()
        .map(|line| {
            assert_eq!(line["type"], "ADDED");
            line["object"]["metadata"]["name"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    let expected: Vec<String> = (0..300)
        .filter(|i| i % 3 != 2)
        .map(|i| format!("burst-{i:03}"))
        .collect();
    assert_eq!(names, expected);
}
