//! `fanout`: many watchers on one hub while events are written at a fixed rate. Each watcher is
//! a plain HTTP/1.1 `watch=true` stream over loopback to an in-process hub; the writer commits
//! events through the store at the given rate. Measured per watcher: how far behind the newest
//! written event it was at worst (time from submitting an event's write to its arrival) and whether it
//! received every event. Prints a Markdown table.
//!
//! `cargo run --release -p kevents-bench --bin fanout -- --watchers 1000 --rate 10000 --seconds 10`
//! (needs a file descriptor limit above twice the watchers).

use clap::Parser;
use kevents_api::{router, AppState};
use kevents_model::{EventRecord, Micros};
use kevents_store::{Mutation, Store, StoreConfig};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[derive(Parser, Debug)]
#[command(about = "Watch fan-out: many watchers while events are written at a fixed rate")]
struct Args {
    /// Concurrent watchers.
    #[arg(long, default_value_t = 1000)]
    watchers: usize,
    /// Events written per second.
    #[arg(long, default_value_t = 10_000)]
    rate: u64,
    /// Seconds of writing.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Namespaces the events are spread over (round robin); watcher `j` watches namespace
    /// `j % namespaces`, so each sees `rate / namespaces` events a second. 1: every watcher
    /// sees every event.
    #[arg(long, default_value_t = 1)]
    namespaces: u64,
}

/// What one watcher saw.
struct Seen {
    received: u64,
    worst_lag: Duration,
}

/// Reads a watch stream of namespace `fan-{namespace}`, counting its events (one line each: the
/// stream has no bookmarks, and only creates are written); the lag of a read is how long ago the
/// oldest event in it was committed (its `k`-th event is event `k * namespaces + namespace`).
/// Counting line ends keeps the watchers' own reading cheap on the cores they share with the
/// hub (a search for each event's `"type":"ADDED"` was a third of the bench's CPU, a
/// byte-at-a-time loop a quarter).
async fn watch(
    address: std::net::SocketAddr,
    rv: u64,
    (namespace, namespaces): (u64, u64),
    expected: u64,
    committed_at: Arc<Vec<AtomicU64>>,
    started: Instant,
    deadline: Instant,
) -> anyhow::Result<Seen> {
    let mut stream = tokio::net::TcpStream::connect(address).await?;
    let request = format!(
        "GET /api/v1/namespaces/fan-{namespace}/events?watch=true&resourceVersion={rv} HTTP/1.1\r\nHost: hub\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await?;
    let mut buffer = vec![0u8; 256 * 1024];
    let mut previous = 0u8;
    let mut seen = Seen {
        received: 0,
        worst_lag: Duration::ZERO,
    };
    while seen.received < expected {
        let read = tokio::time::timeout_at(deadline.into(), stream.read(&mut buffer)).await;
        let n = match read {
            Ok(Ok(0)) | Err(_) => break,
            Ok(Ok(n)) => n,
            Ok(Err(e)) => return Err(e.into()),
        };
        let now = started.elapsed().as_micros() as u64;
        let before = seen.received;
        seen.received += event_lines(previous, &buffer[..n]);
        previous = buffer[n - 1];
        if seen.received > before {
            // The oldest event of this read waited longest.
            if let Some(at) = committed_at.get((before * namespaces + namespace) as usize) {
                let committed = at.load(Ordering::Acquire);
                let lag = Duration::from_micros(now.saturating_sub(committed));
                seen.worst_lag = seen.worst_lag.max(lag);
            }
        }
    }
    Ok(seen)
}

/// The events' lines in `read`: its line ends not preceded by a CR (the response head's lines
/// and the chunk framing end in CRLF; an event's line in a bare newline, as JSON escapes
/// newlines inside strings). `previous` is the byte before `read`.
fn event_lines(previous: u8, read: &[u8]) -> u64 {
    memchr::memchr_iter(b'\n', read)
        .filter(|&at| {
            let before = if at == 0 { previous } else { read[at - 1] };
            before != b'\r'
        })
        .count() as u64
}

fn event(i: u64, namespaces: u64) -> EventRecord {
    let namespace = format!("fan-{}", i % namespaces);
    let mut record = EventRecord {
        namespace: namespace.clone(),
        name: format!("web-{}.{:x}", i % 50, 0x1800_0000_0000_0000u64 + i),
        reason: "Pulled".into(),
        message: format!("Successfully pulled image \"registry.example.com/web:{i}\" in 1.2s"),
        event_type: "Normal".into(),
        source_component: "kubelet".into(),
        count: 1,
        first_timestamp: Some(Micros::now().truncate_to_seconds()),
        last_timestamp: Some(Micros::now().truncate_to_seconds()),
        ..Default::default()
    };
    record.involved_object.kind = "Pod".into();
    record.involved_object.namespace = namespace;
    record.involved_object.name = format!("web-{}", i % 50);
    record
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let dir = tempfile::tempdir()?;
    let mut config = StoreConfig::new(dir.path());
    config.feed_capacity = 64 * 1024;
    let store = Store::open(config)?;
    let (_stop, shutdown) = tokio::sync::watch::channel(false);
    let state = AppState::new(store.clone(), shutdown);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?;
    let server = tokio::spawn(async move { axum::serve(listener, router(state)).await });

    let total = args.rate * args.seconds;
    let committed_at: Arc<Vec<AtomicU64>> =
        Arc::new((0..total).map(|_| AtomicU64::new(0)).collect());
    let rv = store.resource_version();
    let started = Instant::now();
    let deadline = started + Duration::from_secs(args.seconds + 30);
    let namespaces = args.namespaces.max(1);
    let watchers: Vec<_> = (0..args.watchers as u64)
        .map(|j| {
            let namespace = j % namespaces;
            // Events namespace..total step namespaces are this watcher's.
            let expected = total.saturating_sub(namespace).div_ceil(namespaces);
            let watcher = tokio::spawn(watch(
                address,
                rv,
                (namespace, namespaces),
                expected,
                committed_at.clone(),
                started,
                deadline,
            ));
            (expected, watcher)
        })
        .collect();
    // Let every watcher connect before the first write.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let writing = Instant::now();
    let tick = Duration::from_millis(10);
    let per_tick = (args.rate / 100).max(1);
    let mut next = 0u64;
    while next < total {
        let due = writing + tick * (next / per_tick) as u32;
        tokio::time::sleep_until(due.into()).await;
        let batch: Vec<Mutation> = (next..(next + per_tick).min(total))
            .map(|i| Mutation::Create(event(i, namespaces)))
            .collect();
        let count = batch.len() as u64;
        // Stamped when the write is submitted, before any watcher can see it: the lag then
        // includes the group commit (fsync) as well as the delivery.
        let now = started.elapsed().as_micros() as u64;
        for i in next..next + count {
            committed_at[i as usize].store(now, Ordering::Release);
        }
        for result in store.write_many(batch).await {
            result?;
        }
        next += count;
    }
    let write_seconds = writing.elapsed().as_secs_f64();
    let mut complete = 0;
    let mut lags = Vec::new();
    let mut failed = 0;
    for (expected, watcher) in watchers {
        match watcher.await? {
            Ok(seen) => {
                if seen.received == expected {
                    complete += 1;
                }
                lags.push(seen.worst_lag);
            }
            Err(_) => failed += 1,
        }
    }
    lags.sort();
    let pick = |p: f64| {
        lags.get(((lags.len().max(1) - 1) as f64 * p) as usize)
            .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
    };
    println!("| watchers | events/s asked | namespaces | written in | watchers with every event | worst lag p50 | p99 | max |");
    println!("|---|---|---|---|---|---|---|---|");
    println!(
        "| {} | {} | {namespaces} | {:.1} s ({:.0}/s) | {complete} ({failed} failed) | {:.0} ms | {:.0} ms | {:.0} ms |",
        args.watchers,
        args.rate,
        write_seconds,
        total as f64 / write_seconds,
        pick(0.5),
        pick(0.99),
        pick(1.0)
    );
    server.abort();
    store.close().await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::event_lines;

    /// A response head, chunk framing and three event lines, read in two pieces split at
    /// every position (between a CR and its LF too): always three events.
    #[test]
    fn event_lines_counts_bare_newlines_wherever_a_read_ends() {
        let stream = b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n1a\r\n{\"a\":1}\n{\"b\":2}\n\r\n9\r\n{\"c\":3}\n\r\n";
        for split in 0..=stream.len() {
            let (first, second) = stream.split_at(split);
            let before_second = first.last().copied().unwrap_or(0);
            let counted = event_lines(0, first) + event_lines(before_second, second);
            assert_eq!(counted, 3, "split at {split}");
        }
    }
}
