//! Config loading, and the engine end to end: a real store, a recording sink.

use super::*;
use crate::delivery::{BoxFuture, Delivery, Encoded, Verdict};
use kevents_model::EventRecord;
use kevents_store::{Mutation, StoreConfig};
use std::sync::atomic::{AtomicBool, Ordering};

#[test]
fn a_sink_without_exactly_one_kind_is_refused_by_name() {
    let err = |text: &str| parse("s.yaml", text).err().expect("must fail").to_string();
    let expected = "give exactly one of webhook, slack, elasticsearch, loki, syslog, stdout, \
                    file, nats, archive";
    let none = err("sinks:\n- name: a\n  stdout: {}\n- name: bare\n  policy: every-update\n");
    assert!(
        none.contains(&format!("sinks[1] (bare): {expected}")),
        "{none}"
    );
    let two = err("sinks:\n- name: both\n  stdout: {}\n  nats: {url: 'nats://n'}\n");
    assert!(
        two.contains(&format!("sinks[0] (both): {expected}")),
        "{two}"
    );
    let specs = parse("s.yaml", "sinks:\n- name: n\n  nats: {url: 'nats://n'}\n").unwrap();
    assert_eq!(specs[0].kind, "nats");
}

#[test]
fn config_errors_name_the_sink_and_field() {
    let err = |text: &str| parse("s.yaml", text).err().expect("must fail").to_string();
    let unknown = err("sinks:\n- name: a\n  stdout: {}\n  colour: red\n");
    assert!(unknown.contains("colour"), "{unknown}");
    let template =
        err("sinks:\n- name: chat\n  slack: {url: 'http://127.0.0.1:1/x', text: '{{ nope }}'}\n");
    assert!(
        template.contains("sinks[0] (chat): slack.text: unknown template field"),
        "{template}"
    );
    let two = err("sinks:\n- name: a\n  stdout: {}\n  file: {path: /tmp/x}\n");
    assert!(two.contains("exactly one"), "{two}");
    let scheme = err("sinks:\n- name: es\n  elasticsearch: {url: 'ftp://es:9200'}\n");
    assert!(
        scheme.contains(
            "elasticsearch.url \"ftp://es:9200\": the scheme must be http:// or https://"
        ),
        "{scheme}"
    );
    let ca = err("sinks:\n- name: hook\n  webhook: {url: 'https://h.example/in', caFile: /nonexistent/ca.pem}\n");
    assert!(
        ca.contains("sinks[0] (hook): webhook.caFile: CA file /nonexistent/ca.pem: "),
        "{ca}"
    );
    let labels = err("sinks:\n- name: l\n  loki: {url: 'http://l:3100', labels: [name]}\n");
    assert!(labels.contains("not a bounded field"), "{labels}");
    let regex = err("sinks:\n- name: a\n  stdout: {}\n  match: {message: '(x'}\n");
    assert!(regex.contains("match.message"), "{regex}");
    let duplicate = err("sinks:\n- name: a\n  stdout: {}\n- name: a\n  stdout: {}\n");
    assert!(duplicate.contains("duplicate"), "{duplicate}");
    let duration = err("sinks:\n- name: a\n  stdout: {}\n  batch: {maxWait: soon}\n");
    assert!(duration.contains("batch.maxWait"), "{duration}");
}

#[test]
fn https_urls_load_for_every_http_sink() {
    let text = "sinks:
- name: es
  elasticsearch: {url: 'https://es.example:9200'}
- name: loki
  loki: {url: 'https://loki.example'}
- name: hook
  webhook: {url: 'https://hooks.example/in'}
- name: chat
  slack: {url: 'https://hooks.slack.com/services/T0/B0/X'}
";
    let specs = parse("s.yaml", text).unwrap();
    assert_eq!(specs.len(), 4);
}

#[test]
fn config_defaults_are_the_documented_ones() {
    let specs = parse(
        "s.yaml",
        "sinks:\n- name: es\n  elasticsearch: {url: 'http://127.0.0.1:9200'}\n- name: f\n  policy: series-final\n  file: {path: /tmp/f.ndjson}\n",
    )
    .unwrap();
    assert_eq!((specs[0].kind, specs[0].concurrency), ("elasticsearch", 2));
    assert_eq!(specs[0].limits.max_events, 500);
    assert_eq!(specs[0].limits.max_bytes, 4 << 20);
    assert_eq!(specs[0].limits.max_wait, Duration::from_secs(1));
    assert_eq!(specs[0].policy, Policy::EveryUpdate);
    assert_eq!(specs[0].max_attempts, 0);
    assert_eq!(specs[1].policy, Policy::SeriesFinal { quiet: 60_000_000 });
    assert_eq!(specs[1].concurrency, 1);
}

/// Records delivered ids; sends fail while `down` is set, setup while `setup_down` is.
#[derive(Default)]
struct Recorder {
    delivered: parking_lot::Mutex<Vec<String>>,
    down: AtomicBool,
    setup_down: AtomicBool,
}

struct RecordingSink(Arc<Recorder>);

impl Sink for RecordingSink {
    fn prepare(&self) -> BoxFuture<'_, Verdict> {
        let down = self.0.setup_down.load(Ordering::SeqCst);
        Box::pin(async move {
            match down {
                true => Verdict::Retry("setup failed".into()),
                false => Verdict::Delivered,
            }
        })
    }

    fn encode(&self, delivery: Delivery) -> Result<Encoded, (Delivery, String)> {
        Ok(Encoded {
            delivery,
            payload: bytes::Bytes::from_static(b"{}"),
            key: String::new(),
        })
    }
    fn send<'a>(&'a self, batch: &'a [Encoded]) -> BoxFuture<'a, Vec<Verdict>> {
        Box::pin(async move {
            if self.0.down.load(Ordering::SeqCst) {
                return delivery::all(batch.len(), Verdict::Retry("down".into()));
            }
            let mut delivered = self.0.delivered.lock();
            for item in batch {
                delivered.push(format!(
                    "{}@{}",
                    item.delivery.event.record.name,
                    item.delivery.event.record.occurrences()
                ));
            }
            delivery::all(batch.len(), Verdict::Delivered)
        })
    }
}

const EARLIEST: &str = "  startAt: earliest\n";

struct Running {
    recorder: Arc<Recorder>,
    stop: tokio::sync::watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
    metrics: SinkMetrics,
}

fn run_sink(store: &Store, dir: &Path, extra: &str) -> Running {
    let text = format!(
        "sinks:\n- name: rec\n  stdout: {{}}\n  batch: {{maxEvents: 5, maxWait: 20ms}}\n  retry: {{initialBackoff: 10ms, maxBackoff: 20ms}}\n{extra}"
    );
    let mut specs = parse("t.yaml", &text).unwrap();
    let recorder = Arc::new(Recorder::default());
    specs[0].sink = Arc::new(RecordingSink(recorder.clone()));
    let (stop, shutdown) = tokio::sync::watch::channel(false);
    let metrics = SinkMetrics::default();
    let hub = HubContext {
        data_dir: dir.to_path_buf(),
        hub_cluster: "c".into(),
        store: store.clone(),
    };
    let task = start(specs, hub, &metrics, shutdown);
    Running {
        recorder,
        stop,
        task,
        metrics,
    }
}

impl Running {
    async fn stop(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}

fn record(name: &str, count: i32) -> EventRecord {
    EventRecord {
        namespace: "default".into(),
        name: name.into(),
        uid: format!("uid-{name}"),
        reason: "BackOff".into(),
        event_type: "Warning".into(),
        count,
        ..Default::default()
    }
}

async fn write(store: &Store, name: &str, count: i32) {
    let mutation = if count == 1 {
        Mutation::Create(record(name, count))
    } else {
        Mutation::Update {
            record: record(name, count),
            expected_rv: None,
        }
    };
    store.write(mutation).await.unwrap();
}

async fn wait_for(recorder: &Recorder, n: usize) -> Vec<String> {
    for _ in 0..500 {
        if recorder.delivered.lock().len() >= n {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    recorder.delivered.lock().clone()
}

#[tokio::test]
async fn restart_resumes_from_the_saved_cursor_without_losing_events() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(StoreConfig::new(dir.path().join("store"))).unwrap();
    let sink = run_sink(&store, dir.path(), EARLIEST);
    for i in 0..12 {
        write(&store, &format!("e{i}"), 1).await;
    }
    assert_eq!(wait_for(&sink.recorder, 12).await.len(), 12);
    sink.stop().await;
    let saved = CursorFile::new(dir.path().join("sinks/rec.cursor"));
    assert_eq!(saved.load().unwrap(), Some(store.resource_version()));

    write(&store, "e0", 2).await;
    write(&store, "late", 1).await;
    let again = run_sink(&store, dir.path(), EARLIEST);
    let delivered = wait_for(&again.recorder, 2).await;
    assert_eq!(
        delivered,
        ["e0@2", "late@1"],
        "only what came after the cursor"
    );
    again.stop().await;
    store.close().await;
}

#[tokio::test]
async fn outage_holds_the_cursor_and_everything_arrives_afterwards() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(StoreConfig::new(dir.path().join("store"))).unwrap();
    let sink = run_sink(&store, dir.path(), EARLIEST);
    let start = store.resource_version();
    sink.recorder.down.store(true, Ordering::SeqCst);
    for i in 0..40 {
        write(&store, &format!("e{i}"), 1).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let counters = sink.metrics.for_sink("rec", "stdout");
    assert!(counters.retried.get() > 0);
    assert_eq!(
        counters.cursor.get() as u64,
        start,
        "nothing acknowledged, cursor stays"
    );
    sink.recorder.down.store(false, Ordering::SeqCst);
    let delivered = wait_for(&sink.recorder, 40).await;
    let mut names: Vec<&String> = delivered.iter().collect();
    names.sort();
    names.dedup();
    assert_eq!(
        names.len(),
        40,
        "every event after the outage: {delivered:?}"
    );
    sink.stop().await;
    store.close().await;
}

#[tokio::test]
async fn falling_behind_the_history_catches_up_and_counts_the_gap() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = StoreConfig::new(dir.path().join("store"));
    config.history_limit = 5;
    config.feed_capacity = 2;
    let store = Store::open(config).unwrap();
    let sink = run_sink(&store, dir.path(), EARLIEST);
    sink.recorder.down.store(true, Ordering::SeqCst);
    for i in 0..30 {
        write(&store, &format!("e{i}"), 1).await;
    }
    for i in 0..10 {
        write(&store, &format!("e{i}"), 2).await;
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    sink.recorder.down.store(false, Ordering::SeqCst);
    let delivered = wait_for(&sink.recorder, 30).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let delivered: std::collections::HashSet<String> = delivered
        .into_iter()
        .chain(sink.recorder.delivered.lock().clone())
        .collect();
    for i in 0..10 {
        assert!(
            delivered.contains(&format!("e{i}@2")),
            "final state of e{i}"
        );
    }
    for i in 10..30 {
        assert!(delivered.contains(&format!("e{i}@1")), "e{i}");
    }
    assert_eq!(sink.metrics.for_sink("rec", "stdout").gaps.get(), 1);
    sink.stop().await;
    store.close().await;
}

#[tokio::test]
async fn routes_filter_events_but_the_cursor_moves_past_them() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(StoreConfig::new(dir.path().join("store"))).unwrap();
    let sink = run_sink(
        &store,
        dir.path(),
        "  startAt: earliest\n  match: {reason: Pulled}\n",
    );
    for i in 0..3 {
        write(&store, &format!("e{i}"), 1).await;
    }
    let mut pulled = record("p", 1);
    pulled.reason = "Pulled".into();
    store.write(Mutation::Create(pulled)).await.unwrap();
    assert_eq!(wait_for(&sink.recorder, 1).await, ["p@1"]);
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let counters = sink.metrics.for_sink("rec", "stdout");
    assert_eq!(counters.cursor.get() as u64, store.resource_version());
    sink.stop().await;
    store.close().await;
}

#[tokio::test]
async fn events_written_while_setup_fails_are_delivered_once_it_succeeds() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(StoreConfig::new(dir.path().join("store"))).unwrap();
    write(&store, "before", 1).await;
    let sink = run_sink(&store, dir.path(), "");
    sink.recorder.setup_down.store(true, Ordering::SeqCst);
    let cursor = CursorFile::new(dir.path().join("sinks/rec.cursor"));
    for _ in 0..200 {
        if cursor.load().unwrap().is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert_eq!(
        cursor.load().unwrap(),
        Some(store.resource_version()),
        "a new sink starts at the latest version"
    );
    for i in 0..3 {
        write(&store, &format!("during-{i}"), 1).await;
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(sink.recorder.delivered.lock().is_empty());
    sink.recorder.setup_down.store(false, Ordering::SeqCst);
    let delivered = wait_for(&sink.recorder, 3).await;
    assert_eq!(delivered, ["during-0@1", "during-1@1", "during-2@1"]);
    sink.stop().await;
    store.close().await;
}

#[tokio::test]
async fn events_held_after_a_catch_up_are_all_delivered_once_due_and_once_only() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = StoreConfig::new(dir.path().join("store"));
    config.history_limit = 5;
    config.feed_capacity = 2;
    let store = Store::open(config).unwrap();
    let policy = "  startAt: earliest\n  policy: series-final\n  quietPeriod: 100ms\n";
    let sink = run_sink(&store, dir.path(), policy);
    write(&store, "first", 1).await;
    assert_eq!(wait_for(&sink.recorder, 1).await, ["first@1"]);
    sink.stop().await;

    // While the hub is down more changes are written than the history keeps: the restarted
    // sink catches up, holding every event at the one version it jumps to.
    for i in 0..20 {
        write(&store, &format!("e{i}"), 1).await;
    }
    write(&store, "e3", 2).await;
    let sink = run_sink(&store, dir.path(), policy);
    let delivered = wait_for(&sink.recorder, 20).await;
    let mut expected: Vec<String> = (0..20)
        .map(|i| format!("e{i}@{}", if i == 3 { 2 } else { 1 }))
        .collect();
    let mut sorted = delivered.clone();
    sorted.sort();
    expected.sort();
    assert_eq!(sorted, expected, "every held event while running, once");
    let counters = sink.metrics.for_sink("rec", "stdout");
    assert_eq!(counters.gaps.get(), 1);
    for _ in 0..300 {
        if counters.cursor.get() as u64 == store.resource_version() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(counters.cursor.get() as u64, store.resource_version());
    sink.stop().await;

    let again = run_sink(&store, dir.path(), policy);
    write(&store, "late", 1).await;
    assert_eq!(
        wait_for(&again.recorder, 1).await,
        ["late@1"],
        "nothing delivered twice after a restart"
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(again.recorder.delivered.lock().len(), 1);
    again.stop().await;
    store.close().await;
}
