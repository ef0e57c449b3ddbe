//! Retention by size: past `retention_bytes` the events written longest ago are deleted through
//! the writer (watchers see DELETED) until the store fits in 90% of the limit.

use kevents_model::{EventKey, EventRecord};
use kevents_store::{ChangeType, ListQuery, Mutation, Scope, Store, StoreConfig, WatchFrom};

fn record(i: usize) -> EventRecord {
    EventRecord {
        namespace: format!("ns{}", i % 3),
        name: format!("event-{i:04}"),
        uid: format!("uid-{i}"),
        reason: "Pulled".into(),
        message: format!("Successfully pulled image \"registry.example.com/app{i}:v1\" in 1.2s"),
        ..Default::default()
    }
}

fn key(i: usize) -> EventKey {
    EventKey::new(format!("ns{}", i % 3), format!("event-{i:04}"))
}

fn config(dir: &std::path::Path, limit: u64) -> StoreConfig {
    let mut config = StoreConfig::new(dir);
    config.retention_bytes = limit;
    config
}

async fn fill(store: &Store, count: usize) {
    for i in 0..count {
        // One at a time, so every event has its own last-write time.
        store.write(Mutation::Create(record(i))).await.unwrap();
    }
}

/// Fills a store with `count` events (event 0 rewritten last when `rewrite_first`), seals them
/// with a checkpoint and reopens it with a limit of half its size; returns the store and limit.
async fn half_full(dir: &std::path::Path, count: usize, rewrite_first: bool) -> (Store, u64) {
    let store = Store::open(StoreConfig::new(dir)).unwrap();
    fill(&store, count).await;
    if rewrite_first {
        // The oldest event is rewritten, so it is now the newest by last write.
        let update = Mutation::Update {
            record: record(0),
            expected_rv: None,
        };
        store.write(update).await.unwrap();
    }
    store.checkpoint().await.unwrap();
    let sealed = store.stats().disk_bytes;
    store.close().await;
    let limit = sealed / 2;
    (Store::open(config(dir, limit)).unwrap(), limit)
}

#[tokio::test]
async fn over_the_size_limit_the_oldest_events_go_first_and_watchers_see_them_go() {
    let dir = tempfile::tempdir().unwrap();
    let (store, limit) = half_full(dir.path(), 400, true).await;
    assert!(
        store.stats().disk_bytes > limit,
        "the store outgrew the limit"
    );
    let mut watch = store
        .subscribe(WatchFrom::After(store.resource_version()), Scope::ALL)
        .unwrap();

    let deleted = store.enforce_retention().await.unwrap();
    let stats = store.stats();
    assert!(deleted > 0);
    assert!(
        stats.disk_bytes <= limit - limit / 10,
        "fits in 90% of the limit: {} bytes",
        stats.disk_bytes
    );
    assert_eq!(stats.retention_deleted, deleted as u64);
    assert_eq!(stats.events, 400 - deleted);
    // Exactly the events written longest ago went: 1..=deleted, not the rewritten 0.
    assert!(
        store.get(&key(0)).is_some(),
        "a rewrite makes an event young"
    );
    for i in 1..400 {
        assert_eq!(store.get(&key(i)).is_none(), i <= deleted, "event {i}");
    }
    let mut gone = Vec::new();
    while let Ok(change) = watch.live.try_recv() {
        assert_eq!(change.change_type, ChangeType::Deleted);
        gone.push(change.object.record.name.clone());
    }
    let expected: Vec<String> = (1..=deleted).map(|i| format!("event-{i:04}")).collect();
    assert_eq!(gone, expected, "watchers see DELETED, oldest first");

    // Within the margin nothing more goes; the state survives a restart.
    assert_eq!(store.enforce_retention().await.unwrap(), 0);
    store.close().await;
    let store = Store::open(config(dir.path(), limit)).unwrap();
    let listed = store.list(ListQuery::default(), |_| true).unwrap();
    assert_eq!(listed.items.len(), 400 - deleted);
    store.close().await;
}

#[tokio::test]
async fn expire_also_applies_the_size_limit() {
    let dir = tempfile::tempdir().unwrap();
    let (store, limit) = half_full(dir.path(), 200, false).await;
    let deleted = store.expire(kevents_model::Micros::now()).await.unwrap();
    assert!(
        deleted > 0,
        "nothing is past its TTL, but the store is too big"
    );
    assert_eq!(store.stats().retention_deleted, deleted as u64);
    assert!(store.stats().disk_bytes <= limit);
    store.close().await;
}

#[tokio::test]
async fn under_the_limit_a_compacting_checkpoint_is_enough_and_nothing_is_deleted() {
    let dir = tempfile::tempdir().unwrap();
    let limit = 64 * 1024;
    let store = Store::open(config(dir.path(), limit)).unwrap();
    fill(&store, 20).await;
    // Many updates of few events: a big log, a small live set.
    for round in 0..40 {
        for i in 0..20 {
            let mut r = record(i);
            r.count = round + 2;
            let update = Mutation::Update {
                record: r,
                expected_rv: None,
            };
            store.write(update).await.unwrap();
        }
    }
    assert!(store.stats().disk_bytes > limit);
    assert_eq!(store.enforce_retention().await.unwrap(), 0);
    let stats = store.stats();
    assert_eq!(stats.events, 20);
    assert_eq!(stats.retention_deleted, 0);
    assert!(stats.disk_bytes <= limit - limit / 10);
    store.close().await;
}

/// With every event in the cold tier, deletes only free space when their files are rewritten:
/// retention must rewrite them rather than keep deleting until files happen to be merged.
#[tokio::test]
async fn over_the_size_limit_cold_files_are_rewritten_instead_of_deleting_more() {
    let dir = tempfile::tempdir().unwrap();
    let cold = |limit: u64| {
        let mut config = config(dir.path(), limit);
        config.tiers.cold_after_micros = 0;
        config.tiers.cold_block_events = 16;
        config
    };
    let store = Store::open(cold(u64::MAX)).unwrap();
    fill(&store, 400).await;
    store.checkpoint().await.unwrap();
    let sealed = store.stats().disk_bytes;
    store.close().await;
    let limit = sealed / 2;
    let store = Store::open(cold(limit)).unwrap();
    let deleted = store.enforce_retention().await.unwrap();
    let stats = store.stats();
    assert!(
        stats.disk_bytes <= limit - limit / 10,
        "fits in 90% of the limit: {} bytes of {limit}",
        stats.disk_bytes
    );
    // Half the size needs a little over half the events gone, not all of them.
    assert!(
        (200..=300).contains(&deleted),
        "deleted {deleted} of 400 events"
    );
    assert_eq!(stats.events, 400 - deleted);
    assert!(store.get(&key(399)).is_some(), "the newest event stays");
    store.close().await;
}
