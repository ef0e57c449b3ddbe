//! Delivery against real HTTP receivers on 127.0.0.1 (axum), with fast backoff.

use super::sink::Backoff;
use super::*;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use hmac::{Hmac, Mac};
use kevents_model::Micros;
use parking_lot::Mutex;
use serde_json::{json, Value};
use std::collections::{BTreeMap, VecDeque};
use tokio::sync::watch;

const FAST: Backoff = Backoff {
    base: Duration::from_millis(5),
    cap: Duration::from_millis(20),
};

/// A request as the fake receiver saw it, with the status it answered.
#[derive(Clone, Debug)]
struct Received {
    path: String,
    headers: HeaderMap,
    body: Bytes,
    status: StatusCode,
}

impl Received {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }
}

struct Shared {
    /// Statuses for the first requests, then `otherwise`.
    script: Mutex<VecDeque<StatusCode>>,
    otherwise: StatusCode,
    requests: Mutex<Vec<Received>>,
}

struct FakeReceiver {
    url: String,
    shared: Arc<Shared>,
}

impl FakeReceiver {
    async fn start(script: &[u16], otherwise: u16) -> FakeReceiver {
        let status = |code: u16| StatusCode::from_u16(code).unwrap();
        let shared = Arc::new(Shared {
            script: Mutex::new(script.iter().copied().map(status).collect()),
            otherwise: status(otherwise),
            requests: Mutex::default(),
        });
        let app = axum::Router::new()
            .fallback(record)
            .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        FakeReceiver { url, shared }
    }

    fn requests(&self) -> Vec<Received> {
        self.shared.requests.lock().clone()
    }

    fn count(&self) -> usize {
        self.shared.requests.lock().len()
    }
}

async fn record(
    State(shared): State<Arc<Shared>>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let status = shared.script.lock().pop_front().unwrap_or(shared.otherwise);
    shared.requests.lock().push(Received {
        path: uri.to_string(),
        headers,
        body,
        status,
    });
    status
}

fn alert(name: &str) -> Alert {
    Alert {
        labels: BTreeMap::from([
            ("alertname".to_string(), name.to_string()),
            ("namespace".to_string(), "default".to_string()),
        ]),
        annotations: BTreeMap::from([("summary".to_string(), "pod web-1 restarts".to_string())]),
        starts_at: Micros(1_700_000_000_000_000),
        ends_at: None,
        generator_url: "http://kevents/events?namespace=default".to_string(),
    }
}

fn resolved(name: &str) -> Alert {
    Alert {
        ends_at: Some(Micros(1_700_000_300_000_000)),
        ..alert(name)
    }
}

fn config() -> DeliveryConfig {
    DeliveryConfig {
        resend_interval: Duration::from_secs(60),
        retry_window: Duration::from_secs(5),
        ..DeliveryConfig::default()
    }
}

fn start(config: DeliveryConfig) -> (Dispatcher, watch::Sender<bool>) {
    let (stop, shutdown) = watch::channel(false);
    let dispatcher = Dispatcher::start_with_backoff(config, FAST, shutdown).unwrap();
    (dispatcher, stop)
}

fn webhook(url: &str, hmac_secret: Option<&str>) -> WebhookConfig {
    WebhookConfig {
        url: format!("{url}/hook"),
        hmac_secret: hmac_secret.map(str::to_string),
        ca_file: None,
    }
}

fn alertmanager(url: &str) -> AlertmanagerConfig {
    AlertmanagerConfig {
        url: url.to_string(),
        ca_file: None,
    }
}

async fn eventually(what: &str, condition: impl Fn() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(3);
    while !condition() {
        assert!(tokio::time::Instant::now() < deadline, "timed out: {what}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

async fn settle() {
    tokio::time::sleep(Duration::from_millis(100)).await;
}

#[tokio::test]
async fn alertmanager_receives_exact_postable_alerts_and_each_resolve_once() {
    let receiver = FakeReceiver::start(&[], 200).await;
    let (dispatcher, _stop) = start(DeliveryConfig {
        alertmanagers: vec![alertmanager(&receiver.url)],
        ..config()
    });
    dispatcher.update(vec![alert("PodCrashLooping")]);
    eventually("firing alert", || receiver.count() == 1).await;
    dispatcher.update(vec![alert("PodCrashLooping")]);
    dispatcher.update(vec![resolved("PodCrashLooping")]);
    eventually("resolved alert", || receiver.count() == 2).await;
    dispatcher.update(vec![]);
    dispatcher.update(vec![]);
    settle().await;

    let requests = receiver.requests();
    assert_eq!(requests.len(), 2, "{requests:?}");
    assert_eq!(requests[0].path, "/api/v2/alerts");
    let firing = json!([{
        "labels": {"alertname": "PodCrashLooping", "namespace": "default"},
        "annotations": {"summary": "pod web-1 restarts"},
        "startsAt": "2023-11-14T22:13:20.000000Z",
        "generatorURL": "http://kevents/events?namespace=default",
    }]);
    assert_eq!(requests[0].json(), firing);
    let mut resolved = firing;
    resolved[0]["endsAt"] = json!("2023-11-14T22:18:20.000000Z");
    assert_eq!(requests[1].json(), resolved);
    assert_eq!(dispatcher.stats()[0].sent_batches, 2);
}

#[tokio::test]
async fn alertmanager_gets_firing_alerts_again_every_resend_interval() {
    let receiver = FakeReceiver::start(&[], 200).await;
    let (dispatcher, _stop) = start(DeliveryConfig {
        alertmanagers: vec![alertmanager(&receiver.url)],
        resend_interval: Duration::from_millis(30),
        ..config()
    });
    dispatcher.update(vec![alert("A"), alert("B")]);
    eventually("three sends", || receiver.count() >= 3).await;
    for request in receiver.requests() {
        assert_eq!(request.json().as_array().unwrap().len(), 2);
    }
}

#[tokio::test]
async fn receiver_answering_503_at_first_loses_no_alert() {
    let receiver = FakeReceiver::start(&[503, 503, 503], 200).await;
    let (dispatcher, _stop) = start(DeliveryConfig {
        alertmanagers: vec![alertmanager(&receiver.url)],
        ..config()
    });
    dispatcher.update(vec![alert("A")]);
    eventually("first attempt", || receiver.count() >= 1).await;
    dispatcher.update(vec![resolved("A"), alert("B")]);

    // The newest state the receiver accepted, per alert name.
    let accepted = || {
        let mut latest = BTreeMap::new();
        for request in receiver.requests() {
            if request.status == StatusCode::OK {
                for alert in request.json().as_array().unwrap() {
                    latest.insert(
                        alert["labels"]["alertname"].as_str().unwrap().to_string(),
                        alert.get("endsAt").is_some(),
                    );
                }
            }
        }
        latest
    };
    let expected = BTreeMap::from([("A".to_string(), true), ("B".to_string(), false)]);
    eventually("A resolved and B firing", || accepted() == expected).await;
    let stats = &dispatcher.stats()[0];
    assert_eq!((stats.failed_attempts, stats.dropped_alerts), (3, 0));
}

#[tokio::test]
async fn webhook_signature_is_hmac_sha256_of_the_body() {
    let receiver = FakeReceiver::start(&[], 200).await;
    let (dispatcher, _stop) = start(DeliveryConfig {
        webhooks: vec![webhook(&receiver.url, Some("s3cret"))],
        ..config()
    });
    dispatcher.update(vec![alert("A")]);
    eventually("notification", || receiver.count() == 1).await;

    let request = &receiver.requests()[0];
    assert_eq!(request.path, "/hook");
    assert_eq!(request.json()["status"], "firing");
    assert_eq!(request.json()["alerts"][0]["labels"]["alertname"], "A");
    let header = request.headers["x-kevents-signature"].to_str().unwrap();
    let signature = hex::decode(header.strip_prefix("sha256=").unwrap()).unwrap();
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(b"s3cret").unwrap();
    mac.update(&request.body);
    mac.verify_slice(&signature).unwrap();
}

#[tokio::test]
async fn alerts_are_dropped_once_the_retry_window_runs_out() {
    let receiver = FakeReceiver::start(&[], 503).await;
    let (dispatcher, _stop) = start(DeliveryConfig {
        alertmanagers: vec![alertmanager(&receiver.url)],
        retry_window: Duration::from_millis(100),
        ..config()
    });
    dispatcher.update(vec![alert("A"), alert("B")]);
    eventually("drop", || dispatcher.stats()[0].dropped_alerts == 2).await;
    let stats = &dispatcher.stats()[0];
    assert!(stats.failed_attempts >= 2, "{stats:?}");
    assert_eq!(stats.sent_batches, 0);
    settle().await;
    assert_eq!(
        dispatcher.stats()[0].failed_attempts,
        receiver.count() as u64
    );
}

#[tokio::test]
async fn restarted_dispatcher_does_not_notify_a_webhook_again_for_a_firing_alert() {
    let receiver = FakeReceiver::start(&[], 200).await;
    let dir = tempfile::tempdir().unwrap();
    let webhook_config = || DeliveryConfig {
        webhooks: vec![webhook(&receiver.url, None)],
        state_path: Some(dir.path().join("delivery-state.json")),
        ..config()
    };
    let (first, stop_first) = start(webhook_config());
    first.update(vec![alert("A")]);
    eventually("notification", || first.stats()[0].sent_batches == 1).await;
    stop_first.send(true).unwrap();

    let (second, _stop) = start(webhook_config());
    second.update(vec![alert("A")]);
    settle().await;
    assert_eq!(receiver.count(), 1, "firing alert notified again");
    second.update(vec![resolved("A")]);
    eventually("resolve", || receiver.count() == 2).await;
    assert_eq!(receiver.requests()[1].json()["status"], "resolved");
}

#[tokio::test]
async fn client_error_is_not_retried() {
    let receiver = FakeReceiver::start(&[], 400).await;
    let (dispatcher, _stop) = start(DeliveryConfig {
        alertmanagers: vec![alertmanager(&receiver.url)],
        ..config()
    });
    dispatcher.update(vec![alert("A")]);
    eventually("rejection", || dispatcher.stats()[0].rejected_alerts == 1).await;
    dispatcher.update(vec![alert("A")]);
    settle().await;
    assert_eq!(receiver.count(), 1);
    let stats = &dispatcher.stats()[0];
    assert_eq!((stats.failed_attempts, stats.dropped_alerts), (1, 0));
}

#[tokio::test]
async fn shutdown_flushes_pending_resolved_alerts() {
    let receiver = FakeReceiver::start(&[], 200).await;
    let (dispatcher, stop) = start(DeliveryConfig {
        webhooks: vec![webhook(&receiver.url, None)],
        ..config()
    });
    dispatcher.update(vec![alert("A")]);
    eventually("notification", || receiver.count() == 1).await;
    dispatcher.update(vec![resolved("A")]);
    stop.send(true).unwrap();
    eventually("resolve", || receiver.count() == 2).await;
    assert_eq!(receiver.requests()[1].json()["status"], "resolved");
}

#[tokio::test]
async fn unusable_configuration_is_refused_with_a_reason() {
    let (_stop, shutdown) = watch::channel(false);
    let refuse = |config: DeliveryConfig| match Dispatcher::start(config, shutdown.clone()) {
        Ok(_) => panic!("accepted"),
        Err(error) => error.to_string(),
    };
    let scheme = refuse(DeliveryConfig {
        alertmanagers: vec![alertmanager("ftp://am:9093")],
        ..config()
    });
    assert!(scheme.contains("http:// or https://"), "{scheme}");
    let ca_file = refuse(DeliveryConfig {
        webhooks: vec![WebhookConfig {
            ca_file: Some("/nonexistent/hooks-ca.pem".into()),
            ..webhook("https://hooks.example", None)
        }],
        ..config()
    });
    assert!(
        ca_file.contains("CA file /nonexistent/hooks-ca.pem: "),
        "{ca_file}"
    );
    let twice = refuse(DeliveryConfig {
        alertmanagers: vec![
            alertmanager("https://am:9093"),
            alertmanager("https://am:9093"),
        ],
        ..config()
    });
    assert!(twice.contains("twice"), "{twice}");
    let zero = refuse(DeliveryConfig {
        resend_interval: Duration::ZERO,
        ..config()
    });
    assert!(zero.contains("resend_interval"), "{zero}");
}
