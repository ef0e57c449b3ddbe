//! Behaviour of the store on disk through its public API beyond the contract every store
//! keeps (`contract.rs`): closing, recovery of its indexes and the write pipeline.

use kevents_model::EventKey;
use kevents_store::{ListQuery, Mutation, Store, StoreConfig, StoreError};

mod common;
use common::{create, record};

#[tokio::test]
async fn writes_after_close_fail_with_closed() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(StoreConfig::new(dir.path())).unwrap();
    create(&store, "a", "e1").await;
    store.close().await;
    assert!(matches!(
        store
            .write(Mutation::Create(record("a", "late", "m")))
            .await,
        Err(StoreError::Closed)
    ));
}

#[tokio::test]
async fn the_object_name_index_is_rebuilt_on_recovery() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(StoreConfig::new(dir.path())).unwrap();
    for (name, object) in [("1", "web"), ("2", "db"), ("3", "web")] {
        let mut r = record("a", name, "m");
        r.involved_object.name = object.into();
        store.write(Mutation::Create(r)).await.unwrap();
    }
    store.close().await;
    let reopened = Store::open(StoreConfig::new(dir.path())).unwrap();
    let query = ListQuery {
        object_name: Some("web"),
        ..Default::default()
    };
    let names: Vec<String> = (reopened.list(query, |_| true).unwrap().items)
        .iter()
        .map(|e| e.record.name.clone())
        .collect();
    assert_eq!(names, ["1", "3"]);
}
/// Writes are committed in pipelined batches: a batch is checked while the one before it is
/// still being synced. Each writer here sends a create, an update, a delete and a create of one
/// key, each a moment after the one before and without waiting for its answer, so the later
/// writes are checked while the earlier ones are unsynced; each must see the writes before it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_staged_behind_a_syncing_batch_see_its_changes() {
    /// Sends `mutation` after blocking for `micros` (shorter than an fsync, longer than a send).
    async fn after(store: &Store, micros: u64, mutation: Mutation) -> u64 {
        std::thread::sleep(std::time::Duration::from_micros(micros));
        let result = store.write(mutation).await;
        result.expect("write").object.record.resource_version
    }
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(StoreConfig::new(dir.path())).unwrap();
    let mut writers = Vec::new();
    for writer in 0..16 {
        let store = store.clone();
        writers.push(tokio::spawn(async move {
            for round in 0..8 {
                let name = format!("w{writer}-r{round}");
                let update = Mutation::Update {
                    record: record("pipeline", &name, "updated"),
                    expected_rv: None,
                };
                let delete = Mutation::Delete {
                    key: EventKey::new("pipeline", &name),
                    expected_rv: None,
                    expected_uid: None,
                };
                let versions = tokio::join!(
                    after(
                        &store,
                        0,
                        Mutation::Create(record("pipeline", &name, "first"))
                    ),
                    after(&store, 100, update),
                    after(&store, 100, delete),
                    after(
                        &store,
                        100,
                        Mutation::Create(record("pipeline", &name, "again"))
                    ),
                );
                let versions = [versions.0, versions.1, versions.2, versions.3];
                assert!(
                    versions.windows(2).all(|w| w[0] < w[1]),
                    "{name}: versions out of order: {versions:?}"
                );
            }
        }));
    }
    for writer in writers {
        writer.await.unwrap();
    }
    let expect_final_state = |store: &Store| {
        for writer in 0..16 {
            for round in 0..8 {
                let name = format!("w{writer}-r{round}");
                let event = store
                    .get(&EventKey::new("pipeline", &name))
                    .unwrap_or_else(|| panic!("{name} is missing"));
                assert_eq!(event.record.message, "again", "{name}");
            }
        }
    };
    expect_final_state(&store);
    let version = store.resource_version();
    store.close().await;
    let reopened = Store::open(StoreConfig::new(dir.path())).unwrap();
    assert_eq!(reopened.resource_version(), version);
    expect_final_state(&reopened);
    reopened.close().await;
}
