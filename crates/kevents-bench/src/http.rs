//! Ingest and queries through the HTTP API of an in-process hub on loopback.

use crate::latencies::Latencies;
use crate::loopback::{self, Exchange as _};
use bytes::Bytes;
use kevents_api::{router, AppState};
use kevents_model::wire::EventView;
use kevents_model::{ApiGroup, EventRecord};
use kevents_store::{Store, StoreConfig};
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

/// Results of the HTTP runs.
pub struct HttpResults {
    /// Creates per second over HTTP with durable acknowledgement.
    pub ingest_rate: f64,
    /// Query name and latencies.
    pub queries: Vec<(String, Latencies)>,
    /// Bytes of the store on disk after ingest.
    pub disk_bytes: u64,
    /// Bytes of the store on disk after a checkpoint sealed every event into blocks.
    pub sealed_bytes: u64,
    /// How long that checkpoint took.
    pub seal_time: std::time::Duration,
    /// How long reopening the store from the sealed checkpoint took.
    pub reopen_time: std::time::Duration,
}

/// Runs ingest then queries against a fresh hub in `dir`.
pub async fn run(
    dir: &Path,
    events: &[EventRecord],
    concurrency: usize,
    queries: usize,
) -> anyhow::Result<HttpResults> {
    let store = Store::open(StoreConfig::new(dir))?;
    let (_stop, shutdown) = tokio::sync::watch::channel(false);
    let app = router(AppState::new(store.clone(), shutdown));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?;
    let server = tokio::spawn(async move { axum::serve(listener, app).await });

    let bodies = create_requests(events);
    let ingest_rate = post_all(address, &bodies, concurrency).await?;
    let disk_bytes = store.stats().disk_bytes;

    let sample = &events[events.len() / 2];
    let object = &sample.involved_object.name;
    let kinds = [
        (
            "list 500 of all namespaces (JSON)",
            "/api/v1/events?limit=500".to_string(),
            "application/json",
        ),
        (
            "list 500 as Table (kubectl get events -A)",
            "/api/v1/events?limit=500".to_string(),
            "application/json;as=Table;v=v1;g=meta.k8s.io,application/json",
        ),
        (
            "field selector involvedObject.name=X (all namespaces)",
            format!("/api/v1/events?fieldSelector=involvedObject.name%3D{object}"),
            "application/json",
        ),
        (
            "type=Warning in one namespace, limit 500",
            format!(
                "/api/v1/namespaces/{}/events?fieldSelector=type%3DWarning&limit=500",
                sample.namespace
            ),
            "application/json",
        ),
    ];
    let mut results = Vec::new();
    let client = loopback::client(address)?;
    for (name, path, accept) in kinds {
        let mut latencies = Vec::with_capacity(queries);
        for _ in 0..queries {
            let t = Instant::now();
            let (status, _) = client
                .exchange("GET", &path, "application/json", accept, Bytes::new())
                .await?;
            latencies.push(t.elapsed());
            anyhow::ensure!(status == 200, "{name} answered {status}");
        }
        results.push((name.to_string(), Latencies(latencies)));
    }
    server.abort();
    let sealing = Instant::now();
    store.checkpoint().await?;
    let seal_time = sealing.elapsed();
    let sealed_bytes = store.stats().disk_bytes;
    store.close().await;
    let reopening = Instant::now();
    let reopened = Store::open(StoreConfig::new(dir))?;
    let reopen_time = reopening.elapsed();
    anyhow::ensure!(
        reopened.stats().events == events.len(),
        "every event reloads"
    );
    reopened.close().await;
    Ok(HttpResults {
        ingest_rate,
        queries: results,
        disk_bytes,
        sealed_bytes,
        seal_time,
        reopen_time,
    })
}

/// Each event's create request: its path and core/v1 JSON body.
pub(crate) fn create_requests(events: &[EventRecord]) -> Arc<Vec<(String, Bytes)>> {
    Arc::new(
        events
            .iter()
            .map(|e| {
                let body =
                    serde_json::to_vec(&EventView::new(e, ApiGroup::Core)).unwrap_or_default();
                (
                    format!("/api/v1/namespaces/{}/events", e.namespace),
                    Bytes::from(body),
                )
            })
            .collect(),
    )
}

/// POSTs every request from `concurrency` keep-alive connections; returns requests per second.
/// Every answer must be 201.
pub(crate) async fn post_all(
    address: std::net::SocketAddr,
    bodies: &Arc<Vec<(String, Bytes)>>,
    concurrency: usize,
) -> anyhow::Result<f64> {
    let started = Instant::now();
    let mut tasks = Vec::new();
    for worker in 0..concurrency {
        let bodies = bodies.clone();
        tasks.push(tokio::spawn(async move {
            let client = loopback::client(address)?;
            for (path, body) in bodies.iter().skip(worker).step_by(concurrency) {
                let (status, body) = client
                    .exchange(
                        "POST",
                        path,
                        "application/json",
                        "application/json",
                        body.clone(),
                    )
                    .await?;
                anyhow::ensure!(
                    status == 201,
                    "create answered {status}: {}",
                    String::from_utf8_lossy(&body)
                );
            }
            anyhow::Ok(())
        }));
    }
    for task in tasks {
        task.await??;
    }
    Ok(bodies.len() as f64 / started.elapsed().as_secs_f64())
}

/// The floor under any HTTP ingest on this machine: the same client, connections and bodies
/// against an axum route that only reads the body and answers `201` with it (no decoding, no
/// store, no fsync). Returns requests per second.
pub async fn transport_floor(events: &[EventRecord], concurrency: usize) -> anyhow::Result<f64> {
    let app = crate::echo::router();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?;
    let server = tokio::spawn(async move { axum::serve(listener, app).await });
    let rate = post_all(address, &create_requests(events), concurrency).await;
    server.abort();
    rate
}

/// Collectors shipping batches to `POST /kevents/v1/clusters/{name}/ingest`, the way the
/// hub's collectors write: `clusters` collectors side by side, each sending its share of
/// `events` as one source cluster in batches of `batch` (each with a resourceVersion and a
/// cursor, stored durably with the batch). Returns events per second.
pub async fn collector_ingest(
    dir: &Path,
    events: &[EventRecord],
    clusters: usize,
    batch: usize,
) -> anyhow::Result<f64> {
    let store = Store::open(StoreConfig::new(dir))?;
    let (_stop, shutdown) = tokio::sync::watch::channel(false);
    let state = AppState {
        clusters: Arc::new(kevents_api::ClusterRegistry::open(dir)?),
        ..AppState::new(store.clone(), shutdown)
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?;
    let server = tokio::spawn(async move { axum::serve(listener, router(state)).await });

    let clusters = clusters.max(1);
    // Each collector's batches, encoded before the clock starts (as `run` encodes its bodies).
    let mut requests: Vec<Vec<Bytes>> = vec![Vec::new(); clusters];
    for (cluster, requests) in requests.iter_mut().enumerate() {
        let mine: Vec<&EventRecord> = events.iter().skip(cluster).step_by(clusters).collect();
        let mut version = 0u64;
        for chunk in mine.chunks(batch.max(1)) {
            let items: Vec<serde_json::Value> = chunk
                .iter()
                .map(|event| {
                    version += 1;
                    let mut value = serde_json::to_value(EventView::new(event, ApiGroup::Core))?;
                    value["metadata"]["resourceVersion"] = version.to_string().into();
                    anyhow::Ok(value)
                })
                .collect::<anyhow::Result<_>>()?;
            let body = serde_json::json!({"events": items, "cursor": version.to_string()});
            requests.push(Bytes::from(serde_json::to_vec(&body)?));
        }
    }
    let started = Instant::now();
    let mut tasks = Vec::new();
    for (cluster, requests) in requests.into_iter().enumerate() {
        tasks.push(tokio::spawn(async move {
            let client = loopback::client(address)?;
            let path = format!("/kevents/v1/clusters/bench-{cluster}/ingest");
            let mut applied = 0u64;
            for body in requests {
                let (status, answer) = client
                    .exchange("POST", &path, "application/json", "application/json", body)
                    .await?;
                anyhow::ensure!(
                    status == 200,
                    "ingest answered {status}: {}",
                    String::from_utf8_lossy(&answer)
                );
                let answer: serde_json::Value = serde_json::from_slice(&answer)?;
                applied += answer["applied"].as_u64().unwrap_or(0);
            }
            anyhow::Ok(applied)
        }));
    }
    let mut applied = 0;
    for task in tasks {
        applied += task.await??;
    }
    let rate = events.len() as f64 / started.elapsed().as_secs_f64();
    anyhow::ensure!(
        applied == events.len() as u64,
        "{applied} of {} events applied",
        events.len()
    );
    server.abort();
    store.close().await;
    Ok(rate)
}
