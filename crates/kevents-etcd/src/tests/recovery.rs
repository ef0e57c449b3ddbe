//! A write is answered once the etcd view's log has it; the hub's store gets it after. A crash
//! in between loses nothing: the next start writes what the hub lacks.

use super::{key, optimistic_put, value, KeyOnlyCodec};
use crate::mirror::fault;
use crate::{EtcdConfig, EtcdServer};
use kevents_model::EventKey;
use kevents_store::{Store, StoreConfig};
use std::path::Path;
use std::sync::Arc;

async fn open(dir: &Path, cluster: &str) -> (Store, Arc<EtcdServer>) {
    let store = Store::open(StoreConfig::new(dir.join("store"))).unwrap();
    let mut config = EtcdConfig::new(dir.join("etcd"));
    config.cluster = cluster.to_owned();
    let server = EtcdServer::open(config, store.clone(), Arc::new(KeyOnlyCodec))
        .await
        .unwrap();
    (store, server)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_between_the_etcd_log_and_the_hubs_store_loses_no_acknowledged_event() {
    // A cluster name of its own: the fault drops this test's hub writes only.
    let cluster = "crash-after-the-etcd-log";
    let dir = tempfile::tempdir().unwrap();
    let (store, server) = open(dir.path(), cluster).await;
    let hub_key = |name: &str| EventKey::in_cluster(cluster.to_owned(), "default", name);

    // One event the hub has, then updated while the hub's writes are lost.
    let kept = server
        .txn(optimistic_put(&key("kept"), value("v1"), 0, 0))
        .await
        .unwrap();
    let kept = kept.header.unwrap().revision;
    assert!(server.hub_settled(std::time::Duration::from_secs(30)).await);
    assert!(store.get(&hub_key("kept")).is_some());

    fault::lose_writes_of(cluster);
    let mut acknowledged = Vec::new();
    let updated = server
        .txn(optimistic_put(&key("kept"), value("v2"), kept, 0))
        .await
        .unwrap();
    assert!(updated.succeeded);
    acknowledged.push(("kept".to_owned(), updated.header.unwrap().revision));
    for i in 0..20 {
        let name = format!("lost.{i}");
        let answer = server
            .txn(optimistic_put(&key(&name), value(&name), 0, 0))
            .await
            .unwrap();
        assert!(answer.succeeded);
        acknowledged.push((name, answer.header.unwrap().revision));
    }
    // Every write is answered, yet the hub's store has none of them: the process "dies" here.
    assert!(server.hub_settled(std::time::Duration::from_secs(30)).await);
    assert!(store.get(&hub_key("lost.0")).is_none());
    assert_eq!(
        store
            .get(&hub_key("kept"))
            .unwrap()
            .record
            .source_resource_version,
        kept.to_string()
    );
    drop(server);
    store.close().await;
    fault::restore(cluster);

    let (store, server) = open(dir.path(), cluster).await;
    for (name, revision) in &acknowledged {
        let hub = store
            .get(&hub_key(name))
            .unwrap_or_else(|| panic!("{name} is in the hub after the restart"));
        assert_eq!(hub.record.source_resource_version, revision.to_string());
    }
    // Writes after the restart reach the hub again, and the repair happens once.
    let stats = store.stats().resource_version;
    drop(server);
    store.close().await;
    let (store, _server) = open(dir.path(), cluster).await;
    assert_eq!(
        store.stats().resource_version,
        stats,
        "nothing left to repair"
    );
    store.close().await;
}

/// The versions of the store's checkpoints on disk.
fn checkpoints(store_dir: &Path) -> Vec<u64> {
    std::fs::read_dir(store_dir.join("wal"))
        .unwrap()
        .filter_map(|entry| {
            let name = entry.unwrap().file_name().into_string().unwrap();
            name.strip_prefix("checkpoint-")?
                .strip_suffix(".blk")?
                .parse()
                .ok()
        })
        .collect()
}

#[tokio::test]
async fn an_etcd_compaction_after_writes_seals_the_hubs_log_into_a_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let (store, server) = open(dir.path(), "").await;
    let revision = server.current_revision();
    server.compact(revision).await.unwrap();
    for i in 0..50 {
        let name = format!("e.{i}");
        server
            .txn(optimistic_put(&key(&name), value(&name), 0, 0))
            .await
            .unwrap();
    }
    assert!(server.hub_settled(std::time::Duration::from_secs(30)).await);
    let written = store.resource_version();
    assert!(checkpoints(&dir.path().join("store"))
        .iter()
        .all(|&rv| rv < written));
    server.compact(server.current_revision()).await.unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !checkpoints(&dir.path().join("store"))
        .iter()
        .any(|&rv| rv >= written)
    {
        assert!(
            std::time::Instant::now() < deadline,
            "no checkpoint of the hub's store after the compaction"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    store.close().await;
}
