//! The whole hub (`--whole-hub`): the real `kevents serve` process with its defaults (series,
//! the built-in alerting rules, metrics, the store's tiers) in a fresh data directory, fed by
//! `kevents simulate` over HTTP until it holds `--events` events, then measured from the
//! outside: resident memory, CPU time and bytes written from `/proc/PID`, every file under the
//! data directory, creates per second against etcd storing the same events in the same run,
//! and a restart: until `/readyz` answers 200, and until the hub says (`kevents_rebuilding`)
//! its series and alert groups are rebuilt from the store.

use crate::echo::EchoProcess;
use crate::hub::{free_address, Hub};
use crate::process::{cpu_seconds, dir_bytes, peak_rss_bytes, rss_bytes, write_bytes};
use anyhow::Context;
use kevents_model::{EventRecord, Micros};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// What the scenario runs.
#[derive(Clone)]
pub struct Options {
    /// The `kevents` binary.
    pub kevents: PathBuf,
    /// The etcd binary for the anchor, if found.
    pub etcd: Option<PathBuf>,
    /// Events the hub holds when measured.
    pub events: u64,
    /// Connections `kevents simulate` writes over.
    pub feed_connections: usize,
    /// Creates of the burst measured against etcd, and its concurrent clients.
    pub burst: u64,
    /// Concurrent clients of the burst (kevents and etcd alike).
    pub concurrency: usize,
    /// Seconds of the idle CPU sample.
    pub idle_seconds: u64,
}

/// Feeds the hub with `kevents simulate` (30% of operations repeat an earlier event, the
/// simulator's default) until about `events` events are stored; returns the operations sent.
fn feed(options: &Options, address: SocketAddr) -> anyhow::Result<u64> {
    let operations = options.events * 10 / 7;
    let output = Command::new(&options.kevents)
        .args(["simulate", "--to", &format!("http://{address}")])
        .args([
            "--events",
            &operations.to_string(),
            "--rate",
            "0",
            "--duration",
            "24h",
        ])
        .args(["--concurrency", &options.feed_connections.to_string()])
        .output()
        .context("running kevents simulate")?;
    anyhow::ensure!(
        output.status.success(),
        "kevents simulate failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    print!("  {}", String::from_utf8_lossy(&output.stdout));
    Ok(operations)
}

/// The rule engine's groups held and alerts firing.
async fn alert_counts(hub: &Hub) -> anyhow::Result<(f64, f64)> {
    let first = |v: Vec<f64>| v.first().copied().unwrap_or(0.0);
    Ok((
        first(hub.metric("kevents_alert_groups").await?),
        first(hub.metric("kevents_alerts_firing").await?),
    ))
}

/// What the hub's bounded in-memory structures hold, from its gauges.
async fn in_memory(hub: &Hub) -> anyhow::Result<String> {
    let mut values = Vec::new();
    for name in [
        "kevents_store_hot_events",
        "kevents_watch_history_changes",
        "kevents_watch_history_bytes",
        "kevents_block_cache_bytes",
        "kevents_series_bytes",
        "kevents_patterns",
        "kevents_pattern_bytes",
        "kevents_alert_group_bytes",
    ] {
        values.push(hub.metric(name).await?.first().copied().unwrap_or(0.0));
    }
    Ok(format!(
        "head {:.0} events; watch history {:.0} changes, {}; block cache {}; series text {}; \
         {:.0} patterns, {}; alert groups {}",
        values[0],
        values[1],
        mib(values[2] as u64),
        mib(values[3] as u64),
        mib(values[4] as u64),
        values[5],
        mib(values[6] as u64),
        mib(values[7] as u64)
    ))
}

fn mib(bytes: u64) -> String {
    format!("{:.0} MiB", bytes as f64 / (1u64 << 20) as f64)
}

fn secs(d: Duration) -> String {
    format!("{:.2} s", d.as_secs_f64())
}

/// Runs the scenario in `scratch` and prints its table.
pub async fn run(options: &Options, scratch: &Path) -> anyhow::Result<()> {
    let data = scratch.join("hub");
    let address = free_address()?;
    let (hub, first_ready) = Hub::start(&options.kevents, &data, address).await?;
    let pid = hub.pid();
    let written_at_start = write_bytes(pid);
    let feeding = Instant::now();
    println!(
        "feeding {} events through kevents simulate ...",
        options.events
    );
    let feed_options = options.clone();
    let operations = tokio::task::spawn_blocking(move || feed(&feed_options, address)).await??;
    let feed_time = feeding.elapsed();
    let written_by_feed = write_bytes(pid) - written_at_start;
    let rss_live = rss_bytes(pid);
    let held_live = in_memory(&hub).await?;
    let stored = hub
        .metric("kevents_store_events")
        .await?
        .first()
        .copied()
        .unwrap_or(0.0) as u64;

    // Creates against the hub as it now stands, then the same events into etcd.
    let mut workload = kevents_simulate::Workload::new(7, Micros::now());
    let burst: Vec<EventRecord> = (0..options.burst).map(|i| workload.event(i)).collect();
    let bodies = crate::http::create_requests(&burst);
    let creates = crate::create_cpu::measure(pid, address, &bodies, options.concurrency).await?;
    // The anchor: the echo route in a process of its own, the same requests and clients.
    let echo = EchoProcess::start()?;
    let floor =
        crate::create_cpu::measure(echo.pid(), echo.address, &bodies, options.concurrency).await?;
    drop(echo);

    // Idle: let the writes' aftermath settle (10 s, and any checkpoint they started, which at
    // millions of events may merge large cold files), then sample CPU time with no request.
    let settling = (cpu_seconds(pid), Instant::now());
    tokio::time::sleep(Duration::from_secs(10)).await;
    hub.checkpoints_done(Duration::from_secs(30 * 60)).await?;
    let settled = (cpu_seconds(pid) - settling.0, settling.1.elapsed());
    let (cpu_before, idle_start) = (cpu_seconds(pid), Instant::now());
    tokio::time::sleep(Duration::from_secs(options.idle_seconds)).await;
    let idle_cpu = (cpu_seconds(pid) - cpu_before) / idle_start.elapsed().as_secs_f64();
    let rss_idle = rss_bytes(pid);
    let rss_peak = peak_rss_bytes(pid);
    let written = write_bytes(pid) - written_at_start;
    let held = stored + options.burst;
    let disk = dir_bytes(&data);
    let alerts = alert_counts(&hub).await?;
    let stop_time = hub.stop()?;

    let (hub, ready) = Hub::start(&options.kevents, &data, address).await?;
    let restarted = Instant::now();
    let rss_catching_up = hub.caught_up().await?;
    let caught_up = ready + restarted.elapsed();
    let rss_restarted = rss_bytes(hub.pid());
    let held_restarted = in_memory(&hub).await?;
    let restored = hub
        .metric("kevents_store_events")
        .await?
        .first()
        .copied()
        .unwrap_or(0.0) as u64;
    let alerts_restarted = alert_counts(&hub).await?;
    hub.stop()?;
    anyhow::ensure!(
        restored == held,
        "{restored} events after the restart, {held} before"
    );

    let etcd = match &options.etcd {
        Some(binary) => Some(
            crate::etcd::ingest(binary, &scratch.join("etcd"), &burst, options.concurrency).await?,
        ),
        None => None,
    };

    println!();
    println!("| whole hub, `kevents serve` with defaults | measured |");
    println!("|---|---|");
    println!(
        "| events stored (API writes by the simulator) | {held} ({operations} + {} creates) |",
        options.burst
    );
    println!(
        "| feed: `kevents simulate --rate 0`, {} connections | {:.0} writes/s ({}) |",
        options.feed_connections,
        operations as f64 / feed_time.as_secs_f64(),
        secs(feed_time)
    );
    println!(
        "| alert groups held / alerts firing, before a restart and after it | {} / {}; {} / {} |",
        alerts.0, alerts.1, alerts_restarted.0, alerts_restarted.1
    );
    println!(
        "| RSS live, after the feed | {} ({held_live}) |",
        mib(rss_live)
    );
    println!(
        "| RSS after {} s idle; the largest before (`VmHWM`: feed, creates and idle) | {}; {} |",
        options.idle_seconds + 10,
        mib(rss_idle),
        mib(rss_peak)
    );
    println!(
        "| RSS after a restart: largest while catching up; caught up | {}; {} ({held_restarted}) |",
        mib(rss_catching_up),
        mib(rss_restarted)
    );
    println!(
        "| disk, every file under the data directory | {} ({:.1} B/event) |",
        mib(disk),
        disk as f64 / held.max(1) as f64
    );
    println!(
        "| bytes written per API write (`/proc/PID/io` write_bytes) | {:.0} B (feed alone: {:.0} B) |",
        written as f64 / (operations + options.burst).max(1) as f64,
        written_by_feed as f64 / operations.max(1) as f64
    );
    println!(
        "| after the creates, until no checkpoint runs (at least 10 s) | {} ({:.1} s of CPU) |",
        secs(settled.1),
        settled.0
    );
    println!(
        "| idle CPU over {} s | {:.2}% of a core |",
        options.idle_seconds,
        idle_cpu * 100.0
    );
    println!(
        "| first start, empty data directory, to ready | {} |",
        secs(first_ready)
    );
    println!("| stop (SIGTERM to exit) | {} |", secs(stop_time));
    println!("| restart to ready (`/readyz` 200) | {} |", secs(ready));
    println!(
        "| restart to caught up (series and alert groups rebuilt) | {} |",
        secs(caught_up)
    );
    println!(
        "| creates/s, {} connections, to the hub holding {stored} events | {:.0} |",
        options.concurrency, creates.rate
    );
    println!(
        "| CPU µs per create (the hub's user + system time over the burst) | {:.1} ({:.1}x the echo route's {:.1} µs per request, {:.0} requests/s) |",
        creates.cpu_micros,
        creates.cpu_micros / floor.cpu_micros,
        floor.cpu_micros,
        floor.rate
    );
    if let Some(etcd) = etcd {
        println!(
            "| etcd anchor, the same {} events stored like the apiserver | {:.0} creates/s; kevents {:.1}x |",
            options.burst,
            etcd.ingest_rate,
            creates.rate / etcd.ingest_rate
        );
    }
    Ok(())
}
