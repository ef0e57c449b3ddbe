//! The store across restarts: what was acknowledged comes back, a torn log tail is cut off,
//! damage before it refuses to start, checkpoints compact the log, one process per directory.

use kevents_model::{EventKey, Micros};
use kevents_store::{
    ChangeType, ListQuery, Mutation, Scope, Store, StoreConfig, StoreError, WatchFrom,
};
use std::io::Write;

mod common;
use common::{create, record};

#[tokio::test]
async fn restart_keeps_events_and_versions() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = Store::open(StoreConfig::new(dir.path())).unwrap();
        for i in 0..50 {
            create(&store, "ns", &format!("e{i:02}")).await;
        }
        store
            .write(Mutation::Delete {
                key: EventKey::new("ns", "e00"),
                expected_rv: None,
                expected_uid: None,
            })
            .await
            .unwrap();
        store.close().await;
    }
    let store = Store::open(StoreConfig::new(dir.path())).unwrap();
    assert_eq!(store.resource_version(), 52);
    assert_eq!(
        store
            .list(ListQuery::default(), |_| true)
            .unwrap()
            .items
            .len(),
        49
    );
    assert_eq!(create(&store, "ns", "after").await, 53);
    // History survives too: a watch can resume from before the restart.
    let sub = store.subscribe(WatchFrom::After(50), Scope::ALL).unwrap();
    let kinds: Vec<_> = sub.backlog.iter().map(|c| c.change_type).collect();
    assert_eq!(
        kinds,
        vec![ChangeType::Added, ChangeType::Deleted, ChangeType::Added]
    );
}

#[tokio::test]
async fn torn_tail_is_truncated_and_earlier_writes_survive() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = Store::open(StoreConfig::new(dir.path())).unwrap();
        for i in 0..10 {
            create(&store, "ns", &format!("e{i}")).await;
        }
        store.close().await;
    }
    let wal = dir.path().join("wal");
    let segment = std::fs::read_dir(&wal)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|x| x == "log"))
        .unwrap();
    let good_len = std::fs::metadata(&segment).unwrap().len();
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(&segment)
        .unwrap();
    file.write_all(&[200, 0, 0, 0, 1, 2, 3, 4, b'{', b'"'])
        .unwrap();
    drop(file);
    let store = Store::open(StoreConfig::new(dir.path())).unwrap();
    assert_eq!(
        store
            .list(ListQuery::default(), |_| true)
            .unwrap()
            .items
            .len(),
        10
    );
    assert_eq!(std::fs::metadata(&segment).unwrap().len(), good_len);
    assert_eq!(create(&store, "ns", "next").await, 12);
}

#[tokio::test]
async fn corruption_before_the_tail_refuses_to_start() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = StoreConfig::new(dir.path());
    config.log.segment_bytes = 256;
    {
        let store = Store::open(config.clone()).unwrap();
        for i in 0..20 {
            create(&store, "ns", &format!("e{i}")).await;
        }
        store.close().await;
    }
    let mut segments: Vec<_> = std::fs::read_dir(dir.path().join("wal"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "log"))
        .collect();
    segments.sort();
    assert!(segments.len() > 2, "small segments rotate");
    let mut bytes = std::fs::read(&segments[0]).unwrap();
    bytes[20] ^= 0xff;
    std::fs::write(&segments[0], bytes).unwrap();
    match Store::open(config) {
        Err(StoreError::Corrupt(message)) => assert!(message.contains("checksum"), "{message}"),
        other => panic!("expected corruption error, got {:?}", other.err()),
    }
}

#[tokio::test]
async fn checkpoint_compacts_the_log_and_recovers() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = StoreConfig::new(dir.path());
    config.log.segment_bytes = 4096;
    config.log.checkpoint_min_bytes = 16 * 1024;
    {
        let store = Store::open(config.clone()).unwrap();
        for round in 0..20 {
            for i in 0..20 {
                let r = record("ns", &format!("e{i}"), &format!("round {round}"));
                let mutation = if round == 0 {
                    Mutation::Create(r)
                } else {
                    Mutation::Update {
                        record: r,
                        expected_rv: None,
                    }
                };
                store.write(mutation).await.unwrap();
            }
        }
        store.close().await;
    }
    let files = std::fs::read_dir(dir.path().join("wal")).unwrap().count();
    assert!(files < 10, "old segments were removed, found {files} files");
    let store = Store::open(config).unwrap();
    let page = store.list(ListQuery::default(), |_| true).unwrap();
    assert_eq!(page.items.len(), 20);
    assert!(page.items.iter().all(|e| e.record.message == "round 19"));
    assert_eq!(store.resource_version(), 401);
}

#[tokio::test]
async fn second_process_cannot_open_the_same_directory() {
    let dir = tempfile::tempdir().unwrap();
    let _store = Store::open(StoreConfig::new(dir.path())).unwrap();
    assert!(matches!(
        Store::open(StoreConfig::new(dir.path())),
        Err(StoreError::Locked(_))
    ));
}

#[tokio::test]
async fn clusters_keep_same_named_events_apart_across_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let write_both = |store: Store| async move {
        for cluster in ["", "prod", "staging"] {
            let mut event = record("default", "web.1", cluster);
            event.cluster = cluster.into();
            store.write(Mutation::Create(event)).await.expect("create");
        }
        store
    };
    let store = write_both(Store::open(StoreConfig::new(dir.path())).unwrap()).await;
    store.close().await;
    let store = Store::open(StoreConfig::new(dir.path())).unwrap();
    for cluster in ["", "prod", "staging"] {
        let key = EventKey::in_cluster(cluster, "default", "web.1");
        let event = store.get(&key).expect("survives restart");
        assert_eq!(event.record.message, cluster);
    }
    let counts = store.clusters();
    assert_eq!(
        counts,
        vec![("".into(), 1), ("prod".into(), 1), ("staging".into(), 1)]
    );
    let prod_only = ListQuery {
        scope: Scope {
            cluster: Some("prod"),
            namespace: Some("default"),
        },
        ..Default::default()
    };
    let page = store.list(prod_only, |_| true).unwrap();
    assert_eq!(page.items.len(), 1);
    assert_eq!(page.items[0].record.cluster, "prod");
    store.close().await;
}

/// The log records what was stored, not what was sent: an update's server-owned fields (uid,
/// creationTimestamp) are replaced before it is logged, so a restart replays the stored event.
#[tokio::test]
async fn server_owned_fields_an_update_tried_to_change_stay_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(StoreConfig::new(dir.path())).unwrap();
    let mut original = record("a", "e1", "first");
    original.creation_timestamp = Some(Micros(1_700_000_000_000_000));
    store.write(Mutation::Create(original)).await.unwrap();
    let mut changed = record("a", "e1", "second");
    changed.uid = "client-tried-to-change".into();
    changed.creation_timestamp = Some(Micros(1_800_000_000_000_000));
    let update = Mutation::Update {
        record: changed,
        expected_rv: None,
    };
    store.write(update).await.unwrap();
    store.close().await;

    let reopened = Store::open(StoreConfig::new(dir.path())).unwrap();
    let stored = reopened.get(&EventKey::new("a", "e1")).unwrap();
    assert_eq!(stored.record.message, "second");
    assert_eq!(stored.record.uid, "uid-e1");
    assert_eq!(
        stored.record.creation_timestamp,
        Some(Micros(1_700_000_000_000_000))
    );
    assert_eq!(stored.record.resource_version, reopened.resource_version());
    reopened.close().await;
}
