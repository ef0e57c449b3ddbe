//! `kevents-bench`: measures kevents' durable ingest and queries, side by side with SQLite
//! (WAL, fsync on every commit, sensible indexes) storing the same events in the same run, and
//! prints ratios. Every write is acknowledged only after it is durable, in both systems.

mod create_cpu;
mod echo;
mod etcd;
mod http;
mod hub;
mod latencies;
mod loopback;
mod process;
mod sqlite;
mod whole_hub;

use latencies::Latencies;

use anyhow::Context;
use clap::Parser;
use kevents_model::wire::EventView;
use kevents_model::{ApiGroup, EventRecord};
use kevents_store::{Mutation, Store, StoreConfig};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Parser, Debug)]
#[command(about = "Benchmark kevents against SQLite on the same events")]
struct Args {
    /// Events to ingest in each ingest run (50,000), or for `--whole-hub` to hold (1,000,000).
    #[arg(long)]
    events: Option<u64>,
    /// Concurrent writers (clients).
    #[arg(long, default_value_t = 64)]
    concurrency: usize,
    /// Queries per query kind.
    #[arg(long, default_value_t = 200)]
    queries: usize,
    /// Directory for the data of each run (a temporary directory by default).
    #[arg(long)]
    dir: Option<std::path::PathBuf>,
    /// The etcd binary for the etcd anchor (skipped when it cannot be found).
    #[arg(long, default_value = "etcd")]
    etcd: std::path::PathBuf,
    /// Measure only the store API's ingest (`store`), only the HTTP ingest and queries
    /// (`http`) or only the collector ingest (`collect`), without the anchors: for profiling.
    #[arg(long, value_parser = ["store", "http", "collect"])]
    only: Option<String>,
    /// Collectors shipping batches side by side in the collector ingest run (one source
    /// cluster each).
    #[arg(long, default_value_t = 8)]
    collectors: usize,
    /// Events per collector batch (the collector's default).
    #[arg(long, default_value_t = 500)]
    batch: usize,
    /// Measure the whole hub instead: the real `kevents serve` with defaults, fed by `kevents
    /// simulate` over HTTP to `--events` events (memory, disk, writes, idle CPU, restart,
    /// creates against etcd).
    #[arg(long)]
    whole_hub: bool,
    /// The `kevents` binary for `--whole-hub` (by default the one beside this benchmark).
    #[arg(long)]
    kevents: Option<std::path::PathBuf>,
    /// Connections `kevents simulate` feeds the whole hub over (as many as the creates use: the
    /// hub commits concurrent writes together).
    #[arg(long, default_value_t = 64)]
    feed_connections: usize,
    /// Creates sent to the whole hub once it is fed, and to etcd, for the creates/s anchor.
    #[arg(long, default_value_t = 50_000)]
    burst: u64,
    /// Seconds of the whole hub's idle CPU sample.
    #[arg(long, default_value_t = 60)]
    idle_seconds: u64,
    /// Measure the CPU time one create costs the real `kevents serve` (with defaults), against
    /// the echo route's per request, each in its own process, in alternating rounds of
    /// `--events` creates (20,000).
    #[arg(long)]
    create_cpu: bool,
    /// Measured rounds of `--create-cpu` (after one warm-up round).
    #[arg(long, default_value_t = 3)]
    rounds: usize,
    /// Serve the echo route and print its address (the anchor process of `--create-cpu` and
    /// `--whole-hub`; exits when stdin closes).
    #[arg(long, hide = true)]
    echo_server: bool,
}

fn find_binary(name: &std::path::Path) -> Option<std::path::PathBuf> {
    if name.components().count() > 1 {
        return name.is_file().then(|| name.to_path_buf());
    }
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(name))
            .find(|candidate| candidate.is_file())
    })
}

fn millis(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

async fn store_ingest(
    dir: &std::path::Path,
    events: &[EventRecord],
    concurrency: usize,
) -> anyhow::Result<(f64, Latencies)> {
    let store = Store::open(StoreConfig::new(dir)).context("opening the store")?;
    let events = Arc::new(events.to_vec());
    let started = Instant::now();
    let mut tasks = Vec::new();
    for worker in 0..concurrency {
        let store = store.clone();
        let events = events.clone();
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            for event in events.iter().skip(worker).step_by(concurrency) {
                let t = Instant::now();
                store.write(Mutation::Create(event.clone())).await?;
                latencies.push(t.elapsed());
            }
            anyhow::Ok(latencies)
        }));
    }
    let mut all = Vec::new();
    for task in tasks {
        all.extend(task.await??);
    }
    let rate = events.len() as f64 / started.elapsed().as_secs_f64();
    store.close().await;
    Ok((rate, Latencies(all)))
}

/// The `kevents` binary: `--kevents`, or the one beside this benchmark.
fn kevents_binary(args: &Args) -> anyhow::Result<std::path::PathBuf> {
    let kevents = match &args.kevents {
        Some(path) => path.clone(),
        None => std::env::current_exe()?.with_file_name("kevents"),
    };
    anyhow::ensure!(
        kevents.is_file(),
        "no kevents binary at {} (build it, or pass --kevents)",
        kevents.display()
    );
    Ok(kevents)
}

async fn whole_hub(args: &Args, scratch: &std::path::Path) -> anyhow::Result<()> {
    let kevents = kevents_binary(args)?;
    let etcd = find_binary(&args.etcd);
    if etcd.is_none() {
        println!(
            "etcd not found ({}): the etcd anchor is skipped",
            args.etcd.display()
        );
    }
    let options = whole_hub::Options {
        kevents,
        etcd,
        events: args.events.unwrap_or(1_000_000),
        feed_connections: args.feed_connections,
        burst: args.burst,
        concurrency: args.concurrency,
        idle_seconds: args.idle_seconds,
    };
    let result = whole_hub::run(&options, scratch).await;
    // The hub's log goes with the scratch directory; with `--dir` a copy stays beside it.
    if let Some(dir) = &args.dir {
        let kept = dir.join(format!("whole-hub-{}.log", std::process::id()));
        if std::fs::copy(scratch.join("hub.log"), &kept).is_ok() {
            println!("the hub's log: {}", kept.display());
        }
    }
    result
}

fn row(name: &str, value: String, anchor: &str) {
    println!("| {name} | {value} | {anchor} |");
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if args.echo_server {
        return echo::serve().await;
    }
    let scratch = match &args.dir {
        Some(dir) => {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
            tempfile::tempdir_in(dir)
                .with_context(|| format!("a directory in {}", dir.display()))?
        }
        None => tempfile::tempdir()?,
    };
    if args.whole_hub {
        return whole_hub(&args, scratch.path()).await;
    }
    if args.create_cpu {
        let options = create_cpu::Options {
            kevents: kevents_binary(&args)?,
            creates: args.events.unwrap_or(20_000),
            rounds: args.rounds.max(1),
            concurrency: args.concurrency,
        };
        return create_cpu::run(&options, scratch.path()).await;
    }
    let mut workload = kevents_simulate::Workload::new(42, kevents_model::Micros::now());
    let events: Vec<EventRecord> = (0..args.events.unwrap_or(50_000))
        .map(|i| workload.event(i))
        .collect();
    let raw_json: usize = events
        .iter()
        .map(|e| {
            serde_json::to_vec(&EventView::new(e, ApiGroup::Core))
                .map(|b| b.len())
                .unwrap_or(0)
        })
        .sum();
    println!(
        "events: {}, concurrency: {}, mean JSON size: {} B",
        events.len(),
        args.concurrency,
        raw_json / events.len().max(1)
    );

    let http_dir = scratch.path().join("http");
    let run_http = || http::run(&http_dir, &events, args.concurrency, args.queries);
    let collect_dir = scratch.path().join("collect");
    let run_collectors =
        || http::collector_ingest(&collect_dir, &events, args.collectors, args.batch);
    if args.only.as_deref() == Some("http") {
        let http = run_http().await?;
        println!("durable ingest over HTTP: {:.0} events/s", http.ingest_rate);
        let floor = http::transport_floor(&events, args.concurrency).await?;
        println!("HTTP floor (echo route, same client): {floor:.0} requests/s");
        return Ok(());
    }
    if args.only.as_deref() == Some("collect") {
        let collected = run_collectors().await?;
        println!(
            "durable ingest over HTTP, {} collectors, batches of {}: {collected:.0} events/s",
            args.collectors, args.batch
        );
        return Ok(());
    }
    let (store_rate, mut store_lat) =
        store_ingest(&scratch.path().join("store"), &events, args.concurrency).await?;
    if args.only.as_deref() == Some("store") {
        println!(
            "durable ingest, store API: {store_rate:.0} events/s, write latency p50 / p99 {} / {}",
            millis(store_lat.percentile(0.5)),
            millis(store_lat.percentile(0.99))
        );
        return Ok(());
    }
    let (sqlite_rate, mut sqlite_lat) =
        sqlite::ingest(&scratch.path().join("sqlite.db"), &events, args.concurrency)?;
    let single_count = (events.len() / 20).max(100).min(events.len());
    let (sqlite_single_rate, _) = sqlite::ingest(
        &scratch.path().join("sqlite-single.db"),
        &events[..single_count],
        1,
    )?;
    let http = run_http().await?;
    let collected = run_collectors().await?;
    let floor = http::transport_floor(&events, args.concurrency).await?;
    let etcd_results = match find_binary(&args.etcd) {
        Some(binary) => Some(
            etcd::ingest(
                &binary,
                &scratch.path().join("etcd"),
                &events,
                args.concurrency,
            )
            .await?,
        ),
        None => {
            println!(
                "etcd not found ({}): the etcd anchor is skipped",
                args.etcd.display()
            );
            None
        }
    };

    println!();
    println!("| measurement | kevents | SQLite anchor (same run) |");
    println!("|---|---|---|");
    row(
        "durable ingest, store API (events/s)",
        format!("{store_rate:.0}"),
        &format!(
            "{sqlite_rate:.0} (one txn per {} events); {sqlite_single_rate:.0} (one txn per event)",
            args.concurrency
        ),
    );
    row(
        "  ratio kevents / SQLite (group commit)",
        format!("{:.2}x", store_rate / sqlite_rate),
        "",
    );
    row(
        "  write latency p50 / p99",
        format!(
            "{} / {}",
            millis(store_lat.percentile(0.5)),
            millis(store_lat.percentile(0.99))
        ),
        &format!(
            "{} / {} per txn",
            millis(sqlite_lat.percentile(0.5)),
            millis(sqlite_lat.percentile(0.99))
        ),
    );
    row(
        "durable ingest over HTTP (events/s)",
        format!("{:.0}", http.ingest_rate),
        &format!(
            "ratio to SQLite group commit: {:.2}x",
            http.ingest_rate / sqlite_rate
        ),
    );
    row(
        "  HTTP floor: an echo route, same client and bodies (requests/s)",
        format!("{floor:.0}"),
        &format!(
            "kevents' create path reaches {:.0}% of it",
            100.0 * http.ingest_rate / floor
        ),
    );
    row(
        &format!(
            "durable ingest over HTTP, {} collectors in batches of {} (events/s)",
            args.collectors, args.batch
        ),
        format!("{collected:.0}"),
        &format!(
            "ratio to SQLite group commit: {:.2}x",
            collected / sqlite_rate
        ),
    );
    if let Some(mut etcd) = etcd_results {
        row(
            "etcd anchor: durable ingest like the apiserver (events/s)",
            format!("{:.0}", etcd.ingest_rate),
            &format!(
                "p50 / p99 {} / {}",
                millis(etcd.latencies.percentile(0.5)),
                millis(etcd.latencies.percentile(0.99))
            ),
        );
        row(
            "  ratio kevents over HTTP / etcd",
            format!("{:.1}x", http.ingest_rate / etcd.ingest_rate),
            "",
        );
        row(
            "  ratio HTTP floor / etcd",
            format!("{:.1}x", floor / etcd.ingest_rate),
            "",
        );
        row(
            "  ratio kevents collector ingest over HTTP / etcd",
            format!("{:.1}x", collected / etcd.ingest_rate),
            "",
        );
        row(
            "  ratio kevents store API / etcd",
            format!("{:.1}x", store_rate / etcd.ingest_rate),
            "",
        );
        row(
            "etcd data directory bytes per event",
            format!("{:.0}", etcd.disk_bytes as f64 / events.len() as f64),
            "",
        );
    }
    for (name, mut latencies) in http.queries {
        row(
            &format!("{name} p50 / p99"),
            format!(
                "{} / {}",
                millis(latencies.percentile(0.5)),
                millis(latencies.percentile(0.99))
            ),
            "",
        );
    }
    row(
        "log bytes per event (JSON framed, before checkpoint)",
        format!("{:.0}", http.disk_bytes as f64 / events.len() as f64),
        &format!(
            "{:.0} (SQLite file incl. indexes)",
            sqlite::file_bytes(&scratch.path().join("sqlite.db")) as f64 / events.len() as f64
        ),
    );
    let per_event = http.sealed_bytes as f64 / events.len() as f64;
    row(
        "disk bytes per event after sealing (checkpoint + WAL tail)",
        format!("{per_event:.1}"),
        &format!(
            "compression vs raw JSON ({} B/event): {:.1}x; sealing took {}",
            raw_json / events.len().max(1),
            raw_json as f64 / http.sealed_bytes.max(1) as f64,
            millis(http.seal_time)
        ),
    );
    row(
        "reopen from the sealed checkpoint",
        millis(http.reopen_time),
        &format!(
            "{:.2} µs/event",
            http.reopen_time.as_secs_f64() * 1e6 / events.len() as f64
        ),
    );
    Ok(())
}
