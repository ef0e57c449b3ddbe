//! A `kevents serve` child process for the benchmarks that measure the real binary from the
//! outside: started with its defaults in a data directory, asked over HTTP, stopped with
//! SIGTERM.

use crate::loopback::{self, Exchange as _};
use crate::process::rss_bytes;
use anyhow::{bail, Context};
use bytes::Bytes;
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A `kevents serve` child process, killed if still running when dropped.
pub struct Hub {
    child: Child,
    /// Where it listens.
    pub address: SocketAddr,
}

impl Drop for Hub {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Hub {
    /// Starts the hub on `address` with its defaults and waits for `/readyz`; returns it and
    /// the time from spawning to ready.
    pub async fn start(
        binary: &Path,
        dir: &Path,
        address: SocketAddr,
    ) -> anyhow::Result<(Hub, Duration)> {
        let log = std::fs::File::options()
            .create(true)
            .append(true)
            .open(dir.with_extension("log"))?;
        let started = Instant::now();
        let child = Command::new(binary)
            .args(["serve", "--listen", &address.to_string(), "--data-dir"])
            .arg(dir)
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .with_context(|| format!("starting {}", binary.display()))?;
        let mut hub = Hub { child, address };
        let deadline = started + Duration::from_secs(600);
        while Instant::now() < deadline {
            if let Some(status) = hub.child.try_wait()? {
                bail!(
                    "the hub exited ({status}); its log: {}",
                    dir.with_extension("log").display()
                );
            }
            if let Ok((200, _)) = hub.get("/readyz").await {
                return Ok((hub, started.elapsed()));
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        hub.child.kill()?;
        bail!("the hub was not ready within 10 minutes")
    }

    /// Its process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// GETs `path`.
    pub async fn get(&self, path: &str) -> anyhow::Result<(u16, Bytes)> {
        let client = loopback::client(self.address)?;
        client
            .exchange("GET", path, "application/json", "*/*", Bytes::new())
            .await
    }

    /// A metric's values (one per label set), from `/metrics`.
    pub async fn metric(&self, name: &str) -> anyhow::Result<Vec<f64>> {
        let (status, body) = self.get("/metrics").await?;
        anyhow::ensure!(status == 200, "/metrics answered {status}");
        Ok(String::from_utf8_lossy(&body)
            .lines()
            .filter(|l| l.starts_with(&format!("{name} ")) || l.starts_with(&format!("{name}{{")))
            .filter_map(|l| l.rsplit(' ').next()?.parse().ok())
            .collect())
    }

    /// Waits (at most `limit`) until no checkpoint is being written
    /// (`kevents_store_checkpointing` 0).
    pub async fn checkpoints_done(&self, limit: Duration) -> anyhow::Result<()> {
        let deadline = Instant::now() + limit;
        loop {
            let running = self.metric("kevents_store_checkpointing").await?;
            anyhow::ensure!(
                !running.is_empty(),
                "the hub exports no kevents_store_checkpointing"
            );
            if running.iter().all(|&v| v == 0.0) {
                return Ok(());
            }
            anyhow::ensure!(Instant::now() < deadline, "a checkpoint ran for {limit:?}");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Waits until every part of the hub's rebuild (`kevents_rebuilding`) reports 0; returns
    /// the largest resident memory seen meanwhile.
    pub async fn caught_up(&self) -> anyhow::Result<u64> {
        let mut peak = 0;
        loop {
            peak = peak.max(rss_bytes(self.pid()));
            let parts = self.metric("kevents_rebuilding").await?;
            anyhow::ensure!(!parts.is_empty(), "the hub exports no kevents_rebuilding");
            if parts.iter().all(|&v| v == 0.0) {
                return Ok(peak.max(rss_bytes(self.pid())));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Stops the hub with SIGTERM (its graceful shutdown) and returns how long it took.
    pub fn stop(mut self) -> anyhow::Result<Duration> {
        let started = Instant::now();
        let sent = Command::new("kill")
            .args(["-TERM", &self.pid().to_string()])
            .status()?;
        anyhow::ensure!(sent.success(), "kill -TERM failed");
        let deadline = started + Duration::from_secs(300);
        while Instant::now() < deadline {
            if self.child.try_wait()?.is_some() {
                return Ok(started.elapsed());
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        bail!("the hub did not stop within 5 minutes of SIGTERM")
    }
}

/// A free loopback address for a server to listen on.
pub fn free_address() -> anyhow::Result<SocketAddr> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?)
}
