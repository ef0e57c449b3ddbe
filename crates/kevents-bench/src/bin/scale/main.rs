//! The store at scale: writes N simulated events last seen over the 7 days before the run,
//! moves them to the cold tier with a checkpoint, then measures what a hub holding them costs:
//! resident memory, query latency (first page, a field selector on the involved object, a
//! namespace scan, a get, counts by reason over the last 24 hours and the last hour) and the
//! time to reopen the store. The anchor is the same store with every
//! event in memory (`--hot`), measured in the same way.
//!
//! `cargo run --release -p kevents-bench --bin scale -- --events 1000000`

use anyhow::Result;
use clap::Parser;
use kevents_model::EventField;
use kevents_model::{ApiGroup, EventKey, EventRecord, FieldSelector, Micros};
use kevents_store::{CountQuery, ListQuery, Mutation, Scope, Store, StoreConfig, TimeWindow};
use std::time::Instant;

mod anchor;
mod measure;
mod workload;

use measure::{measure, ONLY};
use workload::{workload, HOUR, WEEK};

#[derive(Parser)]
struct Args {
    /// Events to write.
    #[arg(long, default_value_t = 1_000_000)]
    events: usize,
    /// Keep every event in memory (the anchor) instead of moving them to the cold tier.
    #[arg(long)]
    hot: bool,
    /// Queries per measurement.
    #[arg(long, default_value_t = 200)]
    queries: usize,
    /// Events the head keeps in memory (`--hot-events` of `kevents serve`).
    #[arg(long, default_value_t = kevents_store::TierConfig::default().hot_events)]
    hot_events: usize,
    /// Batches of 2,048 writes in flight at once.
    #[arg(long, default_value_t = 4)]
    batches_in_flight: usize,
    /// Events per block of the cold files.
    #[arg(long, default_value_t = kevents_store::TierConfig::default().cold_block_events)]
    cold_block_events: usize,
    /// Write the store into this (new) directory and keep it, instead of a temporary one.
    #[arg(long)]
    keep: Option<std::path::PathBuf>,
    /// Only run the queries (in this process), on a store kept by an earlier `--keep` run.
    #[arg(long)]
    query_dir: Option<std::path::PathBuf>,
    /// Also load the events into SQLite (`anchor.sqlite` in the store's directory: the events
    /// table of `kevents-bench` with its indexes and an occurrences column) and run the count
    /// queries there too, as the anchor.
    #[arg(long)]
    sqlite: bool,
    /// Only the measurements whose label contains this, e.g. `--only "last hour, every page"`
    /// to profile one; the keys and names to ask for come from `query-sample.json` beside the
    /// store when an earlier run left one, else from the full scan.
    #[arg(long)]
    only: Option<String>,
}

fn rss_mib() -> f64 {
    status_mib("VmRSS:")
}

/// The most this process has held resident so far.
fn peak_rss_mib() -> f64 {
    status_mib("VmHWM:")
}

fn status_mib(field: &str) -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

fn config(dir: &std::path::Path, args: &Args) -> StoreConfig {
    let mut config = StoreConfig::new(dir);
    config.tiers.cold_block_events = args.cold_block_events;
    config.tiers.hot_events = args.hot_events;
    config.ttl_micros = 8 * 24 * 3600 * 1_000_000;
    config.history_limit = 100_000;
    if args.hot {
        config.tiers.cold_after_micros = i64::MAX;
        config.tiers.hot_events = usize::MAX / 2;
    } else {
        config.tiers.cold_after_micros = 0;
    }
    config
}

#[tokio::main]
async fn main() -> Result<()> {
    let args = Args::parse();
    ONLY.get_or_init(|| args.only.clone());
    if let Some(dir) = &args.query_dir {
        return queries(&args, dir).await;
    }
    let temporary;
    let dir = match &args.keep {
        Some(path) => {
            anyhow::ensure!(!path.exists(), "{} exists already", path.display());
            path.clone()
        }
        None => {
            temporary = tempfile::tempdir()?;
            temporary.path().to_path_buf()
        }
    };
    let store = Store::open(config(&dir, &args))?;
    let now = Micros::now();
    let step = WEEK / args.events.max(1) as i64;
    let mut workload = workload(Micros(now.0 - WEEK), step);
    let started = Instant::now();
    let batch = 2048;
    let mut written = 0;
    let mut duplicates = 0;
    // Batches in flight at once, as a busy hub's concurrent requests keep its writer fed: the
    // next batch is generated and queued while the writer commits the last.
    let mut in_flight = tokio::task::JoinSet::new();
    let mut settle = |results: Vec<Result<_, kevents_store::StoreError>>| -> Result<()> {
        for result in results {
            match result {
                Ok(_) => {}
                Err(kevents_store::StoreError::AlreadyExists(_)) => duplicates += 1,
                Err(e) => return Err(e.into()),
            }
        }
        Ok(())
    };
    while written < args.events {
        let events: Vec<EventRecord> = (written..(written + batch).min(args.events))
            .map(|i| workload.event(i as u64))
            .collect();
        written += events.len();
        let writer = store.clone();
        in_flight.spawn(async move {
            writer
                .write_many(events.into_iter().map(Mutation::Create).collect())
                .await
        });
        if in_flight.len() >= args.batches_in_flight.max(1) {
            settle(in_flight.join_next().await.expect("a batch in flight")?)?;
        }
    }
    while let Some(results) = in_flight.join_next().await {
        settle(results?)?;
    }
    let ingest = started.elapsed();
    if args.sqlite {
        let loading = Instant::now();
        anchor::load(&dir, args.events, batch, Micros(now.0 - WEEK), step)?;
        println!(
            "SQLite anchor loaded in {:.1} s (not fsynced; not part of the ingest rate)",
            loading.elapsed().as_secs_f64()
        );
    }
    let sealing = Instant::now();
    store.checkpoint().await?;
    let sealed = sealing.elapsed();
    let stats = store.stats();
    println!(
        "{} events ({}; {duplicates} creates of an existing name refused), ingest {:.1} s ({:.0} writes/s), checkpoint {:.1} s, disk {:.1} MiB ({:.1} B/event), peak RSS while ingesting {:.0} MiB",
        stats.events,
        if args.hot { "all in memory" } else { "cold tier" },
        ingest.as_secs_f64(),
        args.events as f64 / ingest.as_secs_f64(),
        sealed.as_secs_f64(),
        stats.disk_bytes as f64 / 1048576.0,
        stats.disk_bytes as f64 / stats.events.max(1) as f64,
        peak_rss_mib()
    );
    store.close().await;
    drop(store);
    let status = std::process::Command::new(std::env::current_exe()?)
        .args(["--queries", &args.queries.to_string()])
        .args(["--cold-block-events", &args.cold_block_events.to_string()])
        .args(["--hot-events", &args.hot_events.to_string()])
        .args(if args.hot { vec!["--hot"] } else { vec![] })
        .arg("--query-dir")
        .arg(&dir)
        .status()?;
    anyhow::ensure!(status.success(), "the query process failed");
    Ok(())
}

/// Every `events / 10,000`th key with its object name, from a paged full scan (timed).
fn sample_names(store: &Store) -> Vec<(EventKey, String)> {
    let scanning = Instant::now();
    let step = (store.stats().events / 10_000).max(1);
    let mut names: Vec<(EventKey, String)> = Vec::new();
    let mut after: Option<EventKey> = None;
    let mut scanned = 0;
    loop {
        let page = store
            .list(
                ListQuery {
                    limit: Some(10_000),
                    start_after: after.as_ref(),
                    ..Default::default()
                },
                |_| true,
            )
            .unwrap();
        scanned += page.items.len();
        names.extend(
            page.items
                .iter()
                .step_by(step)
                .map(|e| (e.record.key(), e.record.involved_object.name.clone())),
        );
        match page.continue_after {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    println!(
        "full scan in pages of 10,000: {scanned} events in {:.2} s; RSS {:.0} MiB",
        scanning.elapsed().as_secs_f64(),
        rss_mib()
    );
    names
}

async fn queries(args: &Args, dir: &std::path::Path) -> Result<()> {
    let reopening = Instant::now();
    let store = Store::open(config(dir, args))?;
    let reopen = reopening.elapsed();
    println!(
        "reopen in a new process {:.2} s; RSS after reopen {:.0} MiB",
        reopen.as_secs_f64(),
        rss_mib()
    );
    // Keys and object names to ask for, spread over the whole store: a paged full scan, kept
    // beside the store so that `--only` runs (profiling one query) skip it.
    let sample_path = dir.join("query-sample.json");
    let kept_sample = args
        .only
        .as_ref()
        .and_then(|_| std::fs::read(&sample_path).ok());
    let names: Vec<(EventKey, String)> = match kept_sample {
        Some(bytes) => {
            println!("keys and names to ask for from {}", sample_path.display());
            serde_json::from_slice(&bytes)?
        }
        None => {
            let names = sample_names(&store);
            std::fs::write(&sample_path, serde_json::to_vec(&names)?)?;
            names
        }
    };
    println!("\n| query | p50 | p99 | rows |\n|---|---|---|---|");
    let all = |_: &EventRecord| true;
    measure("first page of 500, all namespaces", args.queries, |_| {
        let query = ListQuery {
            limit: Some(500),
            ..Default::default()
        };
        store.list(query, all).unwrap().items.len()
    });
    // Field selectors as the API passes them: the object name to its index, every term to the
    // cold columns, and the selector again as the filter.
    let selector = |text: &str| FieldSelector::parse(text, ApiGroup::Core).expect("a selector");
    let by_object_name = |name: &str| {
        let fields = selector(&format!("involvedObject.name={name}"));
        let query = ListQuery {
            object_name: Some(name),
            fields: Some(&fields),
            ..Default::default()
        };
        store
            .list(query, |e| fields.matches(e))
            .unwrap()
            .items
            .len()
    };
    measure("involvedObject.name=X, all namespaces", args.queries, |i| {
        by_object_name(&names[(i * 7919) % names.len()].1)
    });
    // The same query for the 20 names with the most events, 10 times each: the tail of the
    // query above, measured on its own so that a change to it shows through the noise. The
    // names sampled most often from the scan (one event in `step`) are those with the most
    // events.
    let mut sampled: std::collections::HashMap<&str, usize> = Default::default();
    for (_, name) in &names {
        *sampled.entry(name.as_str()).or_default() += 1;
    }
    let mut heaviest: Vec<(usize, &str)> = sampled.into_iter().map(|(n, c)| (c, n)).collect();
    heaviest.sort_unstable_by(|a, b| b.cmp(a));
    heaviest.truncate(20);
    measure(
        "involvedObject.name=X, the 20 names with the most events",
        heaviest.len() * 10,
        |i| by_object_name(heaviest[i % heaviest.len()].1),
    );
    measure(
        "type=Warning in one namespace, limit 500",
        args.queries,
        |i| {
            let namespace = names[(i * 104_729) % names.len()].0.namespace.clone();
            let fields = selector("type=Warning");
            let query = ListQuery {
                scope: Scope {
                    cluster: None,
                    namespace: Some(&namespace),
                },
                limit: Some(500),
                fields: Some(&fields),
                ..Default::default()
            };
            store
                .list(query, |e| fields.matches(e))
                .unwrap()
                .items
                .len()
        },
    );
    // The third query as a list: every page of one namespace's Warnings last seen in
    // the last hour (the time index picks the rows; only their blocks are read).
    let warnings_last_hour = |i: usize, pages: &mut usize| {
        let namespace = names[(i * 104_729) % names.len()].0.namespace.clone();
        let fields = selector("type=Warning");
        let seen = TimeWindow {
            from: Some(Micros(Micros::now().0 - HOUR)),
            to: None,
        };
        let mut after: Option<EventKey> = None;
        let mut rows = 0;
        loop {
            let query = ListQuery {
                scope: Scope {
                    cluster: None,
                    namespace: Some(&namespace),
                },
                start_after: after.as_ref(),
                limit: Some(500),
                fields: Some(&fields),
                seen: Some(seen),
                ..Default::default()
            };
            let page = store.list(query, |e| fields.matches(e)).unwrap();
            rows += page.items.len();
            *pages += 1;
            match page.continue_after {
                Some(key) => after = Some(key),
                None => return rows,
            }
        }
    };
    let mut pages = 0;
    measure(
        "type=Warning in one namespace, last hour, every page of 500",
        args.queries,
        |i| warnings_last_hour(i, &mut pages),
    );
    if pages > 0 {
        println!("({pages} pages in all)");
    }
    measure("get by key", args.queries, |i| {
        usize::from(store.get(&names[(i * 31) % names.len()].0).is_some())
    });
    // Counts over windows of last-seen times (the events were last seen over the week before
    // the writing run). Rows: the events counted.
    let counted = |query: CountQuery<'_>| {
        let counts = store.count(query);
        counts
            .items
            .iter()
            .map(|c| c.events as usize)
            .sum::<usize>()
    };
    let queries = (args.queries / 10).max(5);
    measure("events per reason, last 24 hours", queries, |_| {
        counted(CountQuery {
            scope: Scope::ALL,
            fields: None,
            seen: TimeWindow {
                from: Some(Micros(Micros::now().0 - 24 * HOUR)),
                to: None,
            },
            by: EventField::Reason,
        })
    });
    measure(
        "type=Warning in one namespace, last hour, per reason",
        args.queries,
        |i| {
            let namespace = names[(i * 104_729) % names.len()].0.namespace.clone();
            let fields = selector("type=Warning");
            counted(CountQuery {
                scope: Scope {
                    cluster: None,
                    namespace: Some(&namespace),
                },
                fields: Some(&fields),
                seen: TimeWindow {
                    from: Some(Micros(Micros::now().0 - HOUR)),
                    to: None,
                },
                by: EventField::Reason,
            })
        },
    );
    measure("events per object name, last 24 hours", queries, |_| {
        counted(CountQuery {
            scope: Scope::ALL,
            fields: None,
            seen: TimeWindow {
                from: Some(Micros(Micros::now().0 - 24 * HOUR)),
                to: None,
            },
            by: EventField::ObjectName,
        })
    });
    measure("events per reason, all 7 days", queries, |_| {
        counted(CountQuery {
            scope: Scope::ALL,
            fields: None,
            seen: TimeWindow {
                from: None,
                to: None,
            },
            by: EventField::Reason,
        })
    });
    if anchor::path(dir).exists() {
        anchor::queries(dir, &names, args.queries, queries)?;
    }
    println!("\nRSS after queries {:.0} MiB", rss_mib());
    store.close().await;
    Ok(())
}
