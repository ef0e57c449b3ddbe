//! Delivery benchmark: throughput per sink type to loopback receivers, and memory while a sink
//! is down. Prints numbers; asserts nothing.
//!
//! `cargo run --release -p kevents-sink --example sink_bench -- [events] [outage-seconds]`
//!
//! Throughput: the sink starts (saving its cursor), stops, N events are written, and the sink
//! restarts from its cursor: the time until its cursor reaches the store's version is pure
//! delivery (feed read, encode, send, acknowledge). NATS runs only when `nats-server` exists.

use kevents_model::EventRecord;
use kevents_sink::{parse, start, HubContext, SinkMetrics};
use kevents_store::{Mutation, Store, StoreConfig};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

/// A loopback HTTP/1.1 receiver answering like Elasticsearch `_bulk` (every item created),
/// Loki (204) or a webhook (200); 503 while `down` is set.
async fn http_receiver(down: Arc<AtomicBool>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let address = listener.local_addr().expect("address").to_string();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let down = down.clone();
            tokio::spawn(async move {
                let (read, mut write) = stream.into_split();
                let mut reader = BufReader::new(read);
                let (mut request_line, mut length) = (String::new(), 0usize);
                let _ = reader.read_line(&mut request_line).await;
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).await.unwrap_or(0) == 0 || line == "\r\n" {
                        break;
                    }
                    if let Some(value) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                        length = value.trim().parse().unwrap_or(0);
                    }
                }
                let mut body = vec![0; length];
                let _ = reader.read_exact(&mut body).await;
                let (status, answer) = if down.load(Ordering::Relaxed) {
                    ("503 Service Unavailable", String::new())
                } else if request_line.contains("/_bulk") {
                    let items = body.iter().filter(|b| **b == b'\n').count() / 2;
                    let item = r#"{"create":{"status":201}}"#;
                    (
                        "200 OK",
                        format!(
                            r#"{{"errors":false,"items":[{}]}}"#,
                            vec![item; items].join(",")
                        ),
                    )
                } else {
                    ("200 OK", "{}".to_string())
                };
                let response = format!(
                    "HTTP/1.1 {status}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{answer}",
                    answer.len()
                );
                let _ = write.write_all(response.as_bytes()).await;
            });
        }
    });
    address
}

/// A loopback TCP receiver that reads and discards (syslog).
async fn tcp_receiver() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let address = listener.local_addr().expect("address").to_string();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buffer = vec![0; 1 << 16];
                while stream.read(&mut buffer).await.unwrap_or(0) > 0 {}
            });
        }
    });
    address
}

fn event(index: u64, count: i32) -> EventRecord {
    let mut record = EventRecord {
        namespace: format!("ns-{}", index % 20),
        name: format!("web-{index}.17a{index:x}"),
        uid: format!("uid-{index}"),
        reason: "BackOff".into(),
        message: "Back-off restarting failed container web in pod web-0".into(),
        event_type: "Warning".into(),
        source_component: "kubelet".into(),
        count,
        ..Default::default()
    };
    record.involved_object.kind = "Pod".into();
    record.involved_object.name = format!("web-{index}");
    record
}

async fn write_events(store: &Store, from: u64, n: u64, count: i32) {
    for chunk in (from..from + n).collect::<Vec<_>>().chunks(1000) {
        let mutations = chunk
            .iter()
            .map(|i| match count {
                1 => Mutation::Create(event(*i, 1)),
                _ => Mutation::Update {
                    record: event(*i, count),
                    expected_rv: None,
                },
            })
            .collect();
        for result in store.write_many(mutations).await {
            result.expect("write");
        }
    }
}

fn rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kib: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0.0);
    kib / 1024.0
}

async fn run_sink(
    store: &Store,
    dir: &std::path::Path,
    yaml: &str,
    metrics: &SinkMetrics,
) -> (
    tokio::sync::watch::Sender<bool>,
    tokio::task::JoinHandle<()>,
) {
    let specs = parse("bench", yaml).expect("bench config");
    let (stop, shutdown) = tokio::sync::watch::channel(false);
    let hub = HubContext {
        data_dir: dir.to_path_buf(),
        hub_cluster: "bench".into(),
        store: store.clone(),
    };
    (stop, start(specs, hub, metrics, shutdown))
}

async fn throughput(kind: &str, settings: &str, events: u64, next: &AtomicU64) {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(StoreConfig::new(dir.path().join("store"))).expect("store");
    let yaml = format!("sinks:\n- name: b\n  {settings}\n");
    let metrics = SinkMetrics::default();
    let (stop, task) = run_sink(&store, dir.path(), &yaml, &metrics).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let _ = stop.send(true);
    let _ = task.await;
    let from = next.fetch_add(events, Ordering::Relaxed);
    write_events(&store, from, events, 1).await;
    let target = store.resource_version();
    let started = Instant::now();
    let (stop, task) = run_sink(&store, dir.path(), &yaml, &metrics).await;
    let cursor = metrics.for_sink("b", kind).cursor;
    while (cursor.get() as u64) < target && started.elapsed() < Duration::from_secs(300) {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let elapsed = started.elapsed().as_secs_f64();
    println!(
        "{kind:<14} {events:>8} events  {elapsed:>7.2} s  {:>9.0} events/s",
        events as f64 / elapsed
    );
    let _ = stop.send(true);
    let _ = task.await;
    store.close().await;
}

async fn outage(seconds: u64) {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut config = StoreConfig::new(dir.path().join("store"));
    config.history_limit = 50_000;
    let store = Store::open(config).expect("store");
    let down = Arc::new(AtomicBool::new(false));
    let address = http_receiver(down.clone()).await;
    let yaml = format!("sinks:\n- name: b\n  elasticsearch: {{url: 'http://{address}'}}\n  retry: {{maxBackoff: 2s}}\n");
    let metrics = SinkMetrics::default();
    let (stop, task) = run_sink(&store, dir.path(), &yaml, &metrics).await;
    let counters = metrics.for_sink("b", "elasticsearch");
    write_events(&store, 0, 2000, 1).await;
    // The index template is installed while the receiver is up; then it goes down.
    while (counters.cursor.get() as u64) < store.resource_version() {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    down.store(true, Ordering::Relaxed);
    println!("\noutage: elasticsearch answers 503 for {seconds}s while 2,000 events are updated at ~2,000 changes/s");
    println!(
        "{:>6} {:>10} {:>10} {:>9} {:>9} {:>8}",
        "t (s)", "changes", "RSS (MiB)", "lag (s)", "retried", "cursor"
    );
    let started = Instant::now();
    let mut count = 2;
    while started.elapsed() < Duration::from_secs(seconds) {
        let second = Instant::now();
        write_events(&store, 0, 2000, count).await;
        count += 1;
        if count % 10 == 2 {
            println!(
                "{:>6.0} {:>10} {:>10.1} {:>9.1} {:>9} {:>8}",
                started.elapsed().as_secs_f64(),
                store.resource_version(),
                rss_mib(),
                counters.lag.get(),
                counters.retried.get(),
                counters.cursor.get()
            );
        }
        tokio::time::sleep(Duration::from_secs(1).saturating_sub(second.elapsed())).await;
    }
    down.store(false, Ordering::Relaxed);
    let recovered = Instant::now();
    let target = store.resource_version();
    while (counters.cursor.get() as u64) < target && recovered.elapsed() < Duration::from_secs(300)
    {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    println!(
        "recovered in {:.1}s after the outage; gaps reported: {}; events sent: {}; RSS {:.1} MiB",
        recovered.elapsed().as_secs_f64(),
        counters.gaps.get(),
        counters.sent.get(),
        rss_mib()
    );
    let _ = stop.send(true);
    let _ = task.await;
    store.close().await;
}

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let events: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(50_000);
    let outage_seconds: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(60);
    let up = Arc::new(AtomicBool::new(false));
    let http = http_receiver(up).await;
    let tcp = tcp_receiver().await;
    let out = tempfile::tempdir().expect("tempdir");
    let next = AtomicU64::new(0);
    println!("sink           events     time       throughput");
    let batch = "batch: {maxEvents: 1000, maxWait: 50ms}";
    for (kind, settings) in [
        (
            "webhook",
            format!("webhook: {{url: 'http://{http}/hook'}}\n  {batch}"),
        ),
        (
            "elasticsearch",
            format!("elasticsearch: {{url: 'http://{http}'}}\n  {batch}"),
        ),
        ("loki", format!("loki: {{url: 'http://{http}'}}\n  {batch}")),
        ("syslog", format!("syslog: {{address: '{tcp}'}}\n  {batch}")),
        (
            "file",
            format!(
                "file: {{path: '{}'}}\n  {batch}",
                out.path().join("e.ndjson").display()
            ),
        ),
    ] {
        throughput(kind, &settings, events, &next).await;
    }
    match nats_server() {
        Some((mut child, port, store)) => {
            let settings =
                format!("nats: {{url: 'nats://127.0.0.1:{port}', stream: BENCH}}\n  {batch}");
            throughput("nats", &settings, events, &next).await;
            let _ = child.kill();
            let _ = child.wait();
            let _ = std::fs::remove_dir_all(store);
        }
        None => println!("nats           skipped: nats-server is not installed"),
    }
    outage(outage_seconds).await;
}

/// Starts `nats-server -js` on a free loopback port, when installed.
fn nats_server() -> Option<(std::process::Child, u16, std::path::PathBuf)> {
    let binary = ["nats-server", "/usr/sbin/nats-server"]
        .into_iter()
        .find(|b| {
            std::process::Command::new(b)
                .arg("--version")
                .output()
                .is_ok()
        })?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .ok()?
        .local_addr()
        .ok()?
        .port();
    let store = std::env::temp_dir().join(format!("kevents-bench-js-{port}"));
    let child = std::process::Command::new(binary)
        .args(["-js", "-a", "127.0.0.1", "-p", &port.to_string(), "-sd"])
        .arg(&store)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .ok()?;
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Some((child, port, store));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    None
}
