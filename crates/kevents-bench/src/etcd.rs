//! The etcd anchor: a real etcd (Debian `etcd-server`, 3.4) on loopback, storing the same events
//! the way the apiserver does — one key per event under `/registry/events/<ns>/<name>`, the JSON
//! as value, a create-if-absent transaction, attached to a shared lease for the TTL — through
//! etcd's JSON gateway, with the same number of concurrent clients.

use crate::latencies::Latencies;
use crate::loopback::{self, Exchange as _};
use anyhow::{bail, Context};
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use bytes::Bytes;
use kevents_http::hub::HubClient;
use kevents_model::wire::EventView;
use kevents_model::{ApiGroup, EventRecord};
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A running etcd that is killed when dropped.
struct Etcd {
    child: Child,
    address: SocketAddr,
}

impl Drop for Etcd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

async fn start(binary: &Path, dir: &Path) -> anyhow::Result<Etcd> {
    let client = free_port()?;
    let peer = free_port()?;
    let client_url = format!("http://127.0.0.1:{client}");
    let peer_url = format!("http://127.0.0.1:{peer}");
    let child = Command::new(binary)
        .args(["--name", "bench", "--data-dir"])
        .arg(dir)
        .args([
            "--listen-client-urls",
            &client_url,
            "--advertise-client-urls",
            &client_url,
        ])
        .args([
            "--listen-peer-urls",
            &peer_url,
            "--initial-advertise-peer-urls",
            &peer_url,
        ])
        .args(["--initial-cluster", &format!("bench={peer_url}")])
        .args(["--quota-backend-bytes", &(8u64 << 30).to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .with_context(|| format!("starting {}", binary.display()))?;
    let etcd = Etcd {
        child,
        address: format!("127.0.0.1:{client}").parse()?,
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if let Ok(http) = loopback::client(etcd.address) {
            if let Ok((200, _)) = http
                .exchange("GET", "/health", "application/json", "*/*", Bytes::new())
                .await
            {
                return Ok(etcd);
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    bail!("etcd did not become healthy")
}

async fn call(http: &HubClient, path: &str, body: Value) -> anyhow::Result<Value> {
    let (status, bytes) = http
        .exchange(
            "POST",
            path,
            "application/json",
            "application/json",
            serde_json::to_vec(&body)?.into(),
        )
        .await?;
    if status != 200 {
        bail!(
            "etcd {path} answered {status}: {}",
            String::from_utf8_lossy(&bytes)
        );
    }
    Ok(serde_json::from_slice(&bytes)?)
}

/// Results of the etcd run.
pub struct EtcdResults {
    /// Acknowledged (raft-committed, fsynced) creates per second.
    pub ingest_rate: f64,
    /// Per-request latencies.
    pub latencies: Latencies,
    /// Bytes of etcd's data directory after ingest.
    pub disk_bytes: u64,
}

/// Stores `events` in a fresh etcd with `concurrency` clients.
pub async fn ingest(
    binary: &Path,
    dir: &Path,
    events: &[EventRecord],
    concurrency: usize,
) -> anyhow::Result<EtcdResults> {
    std::fs::create_dir_all(dir)?;
    let etcd = start(binary, dir).await?;
    let http = loopback::client(etcd.address)?;
    // The apiserver attaches events to leases it reuses for a minute; one lease stands for that.
    let lease = call(&http, "/v3/lease/grant", json!({"TTL": 3600})).await?;
    let lease_id = lease["ID"]
        .as_str()
        .context("lease grant without an ID")?
        .to_string();
    let requests: Arc<Vec<Value>> = Arc::new(
        events
            .iter()
            .map(|e| {
                let key = BASE64.encode(format!("/registry/events/{}/{}", e.namespace, e.name));
                let value = BASE64.encode(
                    serde_json::to_vec(&EventView::new(e, ApiGroup::Core)).unwrap_or_default(),
                );
                json!({
                    "compare": [{"key": key, "target": "MOD", "mod_revision": "0"}],
                    "success": [{"request_put": {"key": key, "value": value, "lease": lease_id}}],
                })
            })
            .collect(),
    );
    let started = Instant::now();
    let mut tasks = Vec::new();
    for worker in 0..concurrency {
        let requests = requests.clone();
        let address = etcd.address;
        tasks.push(tokio::spawn(async move {
            let http = loopback::client(address)?;
            let mut latencies = Vec::new();
            for request in requests.iter().skip(worker).step_by(concurrency) {
                let t = Instant::now();
                let answer = call(&http, "/v3/kv/txn", request.clone()).await?;
                anyhow::ensure!(answer["succeeded"] == true, "key already existed: {answer}");
                latencies.push(t.elapsed());
            }
            anyhow::Ok(latencies)
        }));
    }
    let mut all = Vec::new();
    for task in tasks {
        all.extend(task.await??);
    }
    let ingest_rate = events.len() as f64 / started.elapsed().as_secs_f64();
    drop(etcd);
    Ok(EtcdResults {
        ingest_rate,
        latencies: Latencies(all),
        disk_bytes: crate::process::dir_bytes(dir),
    })
}
