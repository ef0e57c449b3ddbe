//! `storm`: a FailedScheduling storm of one series at a fixed rate through the HTTP API of an
//! in-process hub, with storm folding off and on, measuring what the storm costs in stored
//! records, disk bytes and bytes sent to a watcher. Prints a Markdown table with ratios.

use anyhow::Context;
use clap::Parser;
use kevents_api::{router, Admission, AdmissionConfig, AppState};
use kevents_correlate::fold::FoldConfig;
use kevents_http::hub::{HubClient, HubOptions};
use kevents_model::{EventRecord, Micros, ObjectRef};
use kevents_store::{ListQuery, Store, StoreConfig};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[derive(Parser, Debug)]
#[command(about = "Storage and watch traffic of an event storm, with and without folding")]
struct Args {
    /// Occurrences per second.
    #[arg(long, default_value_t = 1000)]
    rate: u64,
    /// Seconds of storm.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Folding threshold (occurrences per series and minute stored as their own records).
    #[arg(long, default_value_t = 100)]
    threshold: u64,
}

struct Outcome {
    records: usize,
    disk_bytes: u64,
    watch_bytes: u64,
    sent: u64,
    counted: u64,
    elapsed: Duration,
}

fn storm_event(i: u64) -> EventRecord {
    EventRecord {
        namespace: "default".into(),
        name: format!("pending-0.{i:x}"),
        involved_object: ObjectRef {
            kind: "Pod".into(),
            namespace: "default".into(),
            name: "pending-0".into(),
            uid: "uid-pending-0".into(),
            api_version: "v1".into(),
            ..Default::default()
        },
        reason: "FailedScheduling".into(),
        message: format!(
            "0/{} nodes are available: {} Insufficient cpu, {} node(s) had untolerated taint.",
            40 + i % 7,
            30 + i % 5,
            3 + i % 3
        ),
        event_type: "Warning".into(),
        source_component: "default-scheduler".into(),
        first_timestamp: Some(Micros::now().truncate_to_seconds()),
        last_timestamp: Some(Micros::now().truncate_to_seconds()),
        count: 1,
        ..Default::default()
    }
}

async fn watch_bytes(
    address: std::net::SocketAddr,
    stop: tokio::sync::watch::Receiver<bool>,
) -> anyhow::Result<u64> {
    let mut stream = tokio::net::TcpStream::connect(address).await?;
    stream
        .write_all(b"GET /api/v1/events?watch=true&resourceVersion=1 HTTP/1.1\r\nHost: hub\r\n\r\n")
        .await?;
    let mut total = 0u64;
    let mut buffer = vec![0u8; 64 * 1024];
    let mut stop = stop;
    loop {
        tokio::select! {
            read = stream.read(&mut buffer) => match read? {
                0 => return Ok(total),
                n => total += n as u64,
            },
            _ = stop.changed() => return Ok(total),
        }
    }
}

async fn run(args: &Args, fold: bool) -> anyhow::Result<Outcome> {
    let dir = tempfile::tempdir()?;
    let store = Store::open(StoreConfig::new(dir.path())).context("opening the store")?;
    let (stop_sender, shutdown) = tokio::sync::watch::channel(false);
    let admission = Admission::new(AdmissionConfig {
        fold: fold.then(|| FoldConfig {
            threshold_per_minute: args.threshold,
            ..FoldConfig::default()
        }),
        ..AdmissionConfig::default()
    });
    let state = AppState {
        admission: Arc::new(admission),
        ..AppState::new(store.clone(), shutdown.clone())
    };
    let folding = tokio::spawn(kevents_api::run_folding(state.clone()));
    let app = router(state);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?;
    let server = tokio::spawn(async move { axum::serve(listener, app).await });
    let disk_before = store.stats().disk_bytes;
    let watcher = tokio::spawn(watch_bytes(address, shutdown.clone()));
    tokio::time::sleep(Duration::from_millis(200)).await;
    let client = HubClient::new(&HubOptions {
        url: format!("http://{address}"),
        ..HubOptions::default()
    })?;
    let total = args.rate * args.seconds;
    let started = Instant::now();
    for i in 0..total {
        let due = started + Duration::from_secs_f64(i as f64 / args.rate as f64);
        tokio::time::sleep_until(due.into()).await;
        let status = kevents_simulate::create(&client, &storm_event(i)).await?;
        anyhow::ensure!(status == 201, "create answered {status}");
    }
    let elapsed = started.elapsed();
    // Let the folder write its last aggregates.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let page = store
        .list(ListQuery::default(), |_| true)
        .expect("current list");
    let counted = page
        .items
        .iter()
        .map(|e| u64::try_from(e.record.occurrences()).unwrap_or(0))
        .sum();
    let disk_bytes = store.stats().disk_bytes.saturating_sub(disk_before);
    let _ = stop_sender.send(true);
    let watch_bytes = watcher.await??;
    let _ = folding.await;
    server.abort();
    store.close().await;
    Ok(Outcome {
        records: page.items.len(),
        disk_bytes,
        watch_bytes,
        sent: total,
        counted,
        elapsed,
    })
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let off = run(&args, false).await?;
    let on = run(&args, true).await?;
    println!(
        "Storm: {} occurrences of one FailedScheduling series at {}/s; folding threshold {}/min.\n",
        off.sent, args.rate, args.threshold
    );
    println!("| measurement | folding off | folding on | ratio |");
    println!("|---|---|---|---|");
    let ratio = |a: f64, b: f64| {
        if b > 0.0 {
            format!("{:.1}x", a / b)
        } else {
            "-".into()
        }
    };
    println!(
        "| stored records | {} | {} | {} |",
        off.records,
        on.records,
        ratio(off.records as f64, on.records as f64)
    );
    println!(
        "| occurrences counted in stored records | {} | {} | |",
        off.counted, on.counted
    );
    println!(
        "| log bytes written | {} | {} | {} |",
        off.disk_bytes,
        on.disk_bytes,
        ratio(off.disk_bytes as f64, on.disk_bytes as f64)
    );
    println!(
        "| bytes sent to one watcher | {} | {} | {} |",
        off.watch_bytes,
        on.watch_bytes,
        ratio(off.watch_bytes as f64, on.watch_bytes as f64)
    );
    println!(
        "| storm duration (s) | {:.1} | {:.1} | |",
        off.elapsed.as_secs_f64(),
        on.elapsed.as_secs_f64()
    );
    Ok(())
}
