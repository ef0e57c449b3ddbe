//! The cold tier on disk: events moved out of memory stay readable across restarts, a flipped
//! bit in one cold block costs only that block's events (reported in `corrupt_blocks`) while
//! the rest stays readable and writable, and events written again after going cold come back
//! once, in their new version.

use kevents_model::{EventKey, EventRecord};
use kevents_store::{ListQuery, Mutation, Store, StoreConfig};
use std::path::{Path, PathBuf};

const EVENTS: usize = 200;
const PER_BLOCK: usize = 16;

fn config(dir: &Path) -> StoreConfig {
    let mut config = StoreConfig::new(dir);
    config.tiers.cold_after_micros = 0;
    config.tiers.cold_block_events = PER_BLOCK;
    config
}

fn record(i: usize, message: &str) -> EventRecord {
    let mut record = EventRecord {
        namespace: "ns".into(),
        name: format!("pod-{i:03}.{:x}", 0x1800_0000_0000_0000u64 + i as u64),
        uid: format!("5f1c2a9e-0000-4000-8000-{i:012x}"),
        reason: "Started".into(),
        message: message.into(),
        ..Default::default()
    };
    record.involved_object.name = format!("pod-{:03}", i % 20);
    record
}

fn key(i: usize) -> EventKey {
    EventKey::new("ns", record(i, "").name)
}

fn cold_file(dir: &Path) -> PathBuf {
    std::fs::read_dir(dir.join("wal"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("cold-")
        })
        .expect("a cold file")
}

fn names(store: &Store, object: Option<&str>) -> Vec<String> {
    let query = ListQuery {
        object_name: object,
        ..Default::default()
    };
    let page = store.list(query, |_| true).unwrap();
    page.items.iter().map(|e| e.record.name.clone()).collect()
}

#[tokio::test]
async fn cold_events_survive_restarts_and_rewrites_replace_them_once() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(config(dir.path())).unwrap();
    for i in 0..EVENTS {
        store
            .write(Mutation::Create(record(i, "first")))
            .await
            .unwrap();
    }
    assert_eq!(
        (store.stats().checkpoints, store.stats().checkpointing),
        (0, false)
    );
    store.checkpoint().await.unwrap();
    assert!(cold_file(dir.path()).exists());
    // Answered once installed: counted, and none running.
    assert_eq!(
        (store.stats().checkpoints, store.stats().checkpointing),
        (1, false)
    );
    let updated = store
        .write(Mutation::Update {
            record: record(5, "second"),
            expected_rv: None,
        })
        .await
        .unwrap();
    let before: Vec<String> = names(&store, None);
    assert_eq!(before.len(), EVENTS);
    assert_eq!(names(&store, Some("pod-005")).len(), EVENTS / 20);
    store.close().await;

    let store = Store::open(config(dir.path())).unwrap();
    assert_eq!(names(&store, None), before);
    let five = store.get(&key(5)).unwrap();
    assert_eq!(five.record.message, "second");
    assert_eq!(
        five.record.resource_version,
        updated.object.record.resource_version
    );
    assert_eq!(store.stats().events, EVENTS);
    // A second checkpoint merges the rewritten event back into the cold tier, once.
    store.checkpoint().await.unwrap();
    store.close().await;
    let store = Store::open(config(dir.path())).unwrap();
    assert_eq!(names(&store, None), before);
    assert_eq!(store.get(&key(5)).unwrap().record.message, "second");
    store.close().await;
}

#[tokio::test]
async fn a_flipped_bit_in_a_cold_block_costs_that_block_only() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(config(dir.path())).unwrap();
    for i in 0..EVENTS {
        store
            .write(Mutation::Create(record(i, "sealed")))
            .await
            .unwrap();
    }
    store.checkpoint().await.unwrap();
    store.close().await;
    let path = cold_file(dir.path());
    let mut bytes = std::fs::read(&path).unwrap();
    // Inside the first block's payload (after the magic and the frame header).
    bytes[40] ^= 0x10;
    std::fs::write(&path, bytes).unwrap();

    let store = Store::open(config(dir.path())).unwrap();
    let listed = names(&store, None);
    assert!(
        listed.len() >= EVENTS - PER_BLOCK && listed.len() < EVENTS,
        "{}",
        listed.len()
    );
    assert!(store.stats().corrupt_blocks >= 1);
    assert!(
        store.get(&key(EVENTS - 1)).is_some(),
        "later blocks stay readable"
    );
    // Writes continue, including to keys of the damaged block.
    store
        .write(Mutation::Create(record(0, "again")))
        .await
        .unwrap();
    assert_eq!(store.get(&key(0)).unwrap().record.message, "again");
    store.close().await;
}

/// Writes faster than checkpoints can move events out wait instead of growing the head without
/// bound; every write still commits, once, in order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn head_stays_bounded_when_writes_outpace_checkpoints() {
    const HOT: usize = 500;
    let dir = tempfile::tempdir().unwrap();
    let mut config = StoreConfig::new(dir.path());
    config.tiers.hot_events = HOT;
    config.tiers.cold_block_events = PER_BLOCK;
    config.log.checkpoint_min_bytes = 1;
    let store = Store::open(config).unwrap();
    let mut largest = 0;
    let mut written = 0;
    let mut last_rv = 0;
    for chunk in 0..40 {
        let mutations = (0..1000)
            .map(|i| Mutation::Create(record(chunk * 1000 + i, "burst")))
            .collect();
        for result in store.write_many(mutations).await {
            let committed = result.unwrap();
            assert!(committed.object.record.resource_version > last_rv);
            last_rv = committed.object.record.resource_version;
            written += 1;
        }
        largest = largest.max(store.stats().hot_events);
    }
    // Twice the limit, plus one batch admitted before the limit was reached.
    assert!(largest <= 2 * HOT + 4096, "the head grew to {largest}");
    assert_eq!(store.stats().events, written);
    store.close().await;
    let reopened = Store::open(config_for(dir.path(), HOT)).unwrap();
    assert_eq!(reopened.stats().events, written);
}

fn config_for(dir: &Path, hot: usize) -> StoreConfig {
    let mut config = StoreConfig::new(dir);
    config.tiers.hot_events = hot;
    config.tiers.cold_block_events = PER_BLOCK;
    config
}

fn cold_files(dir: &Path) -> usize {
    std::fs::read_dir(dir.join("wal"))
        .unwrap()
        .filter(|e| {
            let name = e.as_ref().unwrap().file_name();
            name.to_string_lossy().starts_with("cold-")
        })
        .count()
}

/// A checkpoint merges small cold files into its new one only while the result's last-seen
/// times stay within `cold_file_span_micros`: a window's rows then sit in the files of its
/// days. A file with no live rows goes whatever its times.
#[tokio::test]
async fn cold_files_are_merged_only_within_their_span() {
    const HOUR: i64 = 3600 * 1_000_000;
    let day = kevents_model::Micros(1_760_000_000_000_000);
    let dir = tempfile::tempdir().unwrap();
    let mut config = config(dir.path());
    config.tiers.cold_file_span_micros = HOUR;
    let store = Store::open(config.clone()).unwrap();
    let write_at = |first: usize, at: i64| {
        let store = store.clone();
        async move {
            for i in first..first + 50 {
                let mut record = record(i, "seen");
                record.last_timestamp = Some(kevents_model::Micros(at + i as i64));
                store.write(Mutation::Create(record)).await.unwrap();
            }
            store.checkpoint().await.unwrap();
        }
    };
    write_at(0, day.0).await;
    assert_eq!(cold_files(dir.path()), 1);
    write_at(50, day.0 + HOUR / 2).await;
    assert_eq!(cold_files(dir.path()), 1, "half an hour later: merged");
    write_at(100, day.0 + 24 * HOUR).await;
    assert_eq!(cold_files(dir.path()), 2, "a day later: a file of its own");
    assert_eq!(names(&store, None).len(), 150);

    // The first day's events go: their file is dropped although the next checkpoint (which
    // merges the second day's file) would be stretched past the span by it.
    for i in 0..100 {
        let delete = Mutation::Delete {
            key: key(i),
            expected_rv: None,
            expected_uid: None,
        };
        store.write(delete).await.unwrap();
    }
    write_at(150, day.0 + 24 * HOUR + HOUR / 6).await;
    assert_eq!(cold_files(dir.path()), 1);
    store.close().await;
    let reopened = Store::open(config).unwrap();
    let left = names(&reopened, None);
    assert_eq!(left.len(), 100);
    assert!(left.contains(&key(100).name) && left.contains(&key(150).name));
    assert!(!left.contains(&key(0).name));
    reopened.close().await;
}

/// Files grow by merging only up to `cold_merge_max_events`: past it a checkpoint leaves the
/// older file as it is (a merge rewrites every row it takes while writes may wait for it).
#[tokio::test]
async fn cold_files_stop_growing_by_merges_at_the_merge_bound() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = config(dir.path());
    config.tiers.cold_merge_max_events = 120;
    let store = Store::open(config.clone()).unwrap();
    for round in 0..4 {
        for i in round * 50..(round + 1) * 50 {
            store
                .write(Mutation::Create(record(i, "bounded")))
                .await
                .unwrap();
        }
        store.checkpoint().await.unwrap();
    }
    // 50, then 100 merged; 150 would pass the bound: a second file, which grows to 100.
    assert_eq!(cold_files(dir.path()), 2);
    assert_eq!(names(&store, None).len(), 200);
    store.close().await;
    let reopened = Store::open(config).unwrap();
    assert_eq!(names(&reopened, None).len(), 200);
    reopened.close().await;
}
