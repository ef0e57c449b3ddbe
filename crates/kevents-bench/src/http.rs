//! Ingest and queries through the HTTP API of an in-process hub on loopback.

use crate::Latencies;
use bytes::Bytes;
use kevents_api::{router, AppState};
use kevents_model::wire::EventView;
use kevents_model::{ApiGroup, EventRecord};
use kevents_simulate::HubClient;
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

    let bodies: Arc<Vec<(String, Bytes)>> = Arc::new(
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
    );
    let started = Instant::now();
    let mut tasks = Vec::new();
    for worker in 0..concurrency {
        let bodies = bodies.clone();
        tasks.push(tokio::spawn(async move {
            let mut client = HubClient::connect(address, "127.0.0.1").await?;
            for (path, body) in bodies.iter().skip(worker).step_by(concurrency) {
                let (status, body) = client
                    .request(
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
    let ingest_rate = events.len() as f64 / started.elapsed().as_secs_f64();
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
    let mut client = HubClient::connect(address, "127.0.0.1").await?;
    for (name, path, accept) in kinds {
        let mut latencies = Vec::with_capacity(queries);
        for _ in 0..queries {
            let t = Instant::now();
            let (status, _) = client
                .request("GET", &path, "application/json", accept, Bytes::new())
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
