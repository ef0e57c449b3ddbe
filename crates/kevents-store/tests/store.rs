//! Behaviour of the store through its public API: the Kubernetes rules of writes, lists at a
//! version, paging, TTL expiry and the object name index.

use kevents_model::{EventKey, Micros};
use kevents_store::{
    ChangeType, ListQuery, Mutation, Scope, Store, StoreConfig, StoreError, WatchFrom,
};

mod common;
use common::{create, record};

#[tokio::test]
async fn create_update_delete_follow_kubernetes_rules() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(StoreConfig::new(dir.path())).unwrap();
    let rv1 = create(&store, "a", "e1").await;
    assert_eq!(rv1, 2, "a fresh store starts at version 1");
    let dup = store.write(Mutation::Create(record("a", "e1", "x"))).await;
    assert!(matches!(dup, Err(StoreError::AlreadyExists(_))));

    let stale = store
        .write(Mutation::Update {
            record: record("a", "e1", "new"),
            expected_rv: Some(99),
        })
        .await;
    assert!(matches!(stale, Err(StoreError::Conflict(_))));
    let mut changed = record("a", "e1", "new");
    changed.uid = "client-tried-to-change".into();
    let updated = store
        .write(Mutation::Update {
            record: changed,
            expected_rv: Some(rv1),
        })
        .await
        .unwrap();
    assert!(!updated.created);
    assert_eq!(updated.object.record.uid, "uid-e1", "uid is server-owned");
    assert_eq!(updated.object.record.resource_version, 3);

    let deleted = store
        .write(Mutation::Delete {
            key: EventKey::new("a", "e1"),
            expected_rv: None,
            expected_uid: None,
        })
        .await
        .unwrap();
    assert_eq!(deleted.object.record.resource_version, 4);
    assert!(store.get(&EventKey::new("a", "e1")).is_none());
    store.close().await;
    assert!(matches!(
        store
            .write(Mutation::Create(record("a", "late", "m")))
            .await,
        Err(StoreError::Closed)
    ));
}

#[tokio::test]
async fn ttl_expiry_deletes_from_list_and_feeds_watch() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = StoreConfig::new(dir.path());
    config.ttl_micros = 1_000_000;
    let store = Store::open(config).unwrap();
    create(&store, "ns", "old").await;
    let mut sub = store
        .subscribe(WatchFrom::After(store.resource_version()), Scope::ALL)
        .unwrap();
    assert_eq!(store.expire(Micros::now()).await.unwrap(), 0);
    let later = Micros(Micros::now().0 + 2_000_000);
    assert_eq!(store.expire(later).await.unwrap(), 1);
    assert!(store
        .list(ListQuery::default(), |_| true)
        .unwrap()
        .items
        .is_empty());
    let change = sub.live.recv().await.unwrap();
    assert_eq!(change.change_type, ChangeType::Deleted);
    assert_eq!(change.object.record.name, "old");
}

#[tokio::test]
async fn paging_visits_every_match_once() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(StoreConfig::new(dir.path())).unwrap();
    for ns in ["a", "b"] {
        for i in 0..7 {
            create(&store, ns, &format!("e{i}")).await;
        }
    }
    let mut seen = Vec::new();
    let mut cursor = None;
    loop {
        let page = store
            .list(
                ListQuery {
                    scope: Scope {
                        cluster: None,
                        namespace: Some("b"),
                    },
                    start_after: cursor.as_ref(),
                    limit: Some(3),
                    object_name: None,
                    fields: None,
                    at: None,
                    seen: None,
                },
                |_| true,
            )
            .unwrap();
        seen.extend(page.items.iter().map(|e| e.record.name.clone()));
        match page.continue_after {
            Some(key) => cursor = Some(key),
            None => break,
        }
    }
    assert_eq!(seen, (0..7).map(|i| format!("e{i}")).collect::<Vec<_>>());
    let first = store
        .list(
            ListQuery {
                limit: Some(5),
                ..Default::default()
            },
            |_| true,
        )
        .unwrap();
    assert!(first.continue_after.is_some());
}

#[tokio::test]
async fn list_at_an_older_version_shows_that_state() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(StoreConfig::new(dir.path())).unwrap();
    for name in ["a", "b", "c"] {
        create(&store, "ns", name).await;
    }
    let before = store.resource_version();
    create(&store, "ns", "bb").await;
    store
        .write(Mutation::Delete {
            key: EventKey::new("ns", "c"),
            expected_rv: None,
            expected_uid: None,
        })
        .await
        .unwrap();
    store
        .write(Mutation::Update {
            record: record("ns", "a", "changed"),
            expected_rv: None,
        })
        .await
        .unwrap();
    let at = |start_after: Option<&EventKey>| {
        let query = ListQuery {
            at: Some(before),
            start_after,
            ..Default::default()
        };
        let page = store.list(query, |_| true).unwrap();
        assert_eq!(page.resource_version, before);
        page.items
            .iter()
            .map(|e| (e.record.name.clone(), e.record.message.clone()))
            .collect::<Vec<_>>()
    };
    let m = |n: &str| (n.to_string(), "m".to_string());
    assert_eq!(at(None), vec![m("a"), m("b"), m("c")]);
    assert_eq!(at(Some(&EventKey::new("ns", "a"))), vec![m("b"), m("c")]);
    let now = store.list(ListQuery::default(), |_| true).unwrap();
    assert_eq!(now.items.len(), 3, "a, b, bb");
}

#[tokio::test]
async fn list_at_a_version_older_than_history_is_too_old() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = StoreConfig::new(dir.path());
    config.history_limit = 2;
    let store = Store::open(config).unwrap();
    let first = create(&store, "ns", "a").await;
    for name in ["b", "c", "d"] {
        create(&store, "ns", name).await;
    }
    let query = ListQuery {
        at: Some(first),
        ..Default::default()
    };
    assert!(store.list(query, |_| true).is_err());
}

#[tokio::test]
async fn object_name_index_lists_only_that_objects_events_and_follows_updates() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(StoreConfig::new(dir.path())).unwrap();
    let about = |ns: &str, name: &str, object: &str| {
        let mut r = record(ns, name, "m");
        r.involved_object.name = object.into();
        r
    };
    for (ns, name, object) in [
        ("a", "1", "web"),
        ("a", "2", "db"),
        ("b", "3", "web"),
        ("b", "4", "web"),
    ] {
        store
            .write(Mutation::Create(about(ns, name, object)))
            .await
            .unwrap();
    }
    let names = |store: &Store, namespace: Option<&str>, start_after: Option<&EventKey>| {
        let query = ListQuery {
            scope: Scope {
                cluster: None,
                namespace,
            },
            start_after,
            object_name: Some("web"),
            limit: Some(10),
            ..Default::default()
        };
        store
            .list(query, |_| true)
            .unwrap()
            .items
            .iter()
            .map(|e| e.record.name.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(names(&store, None, None), ["1", "3", "4"]);
    assert_eq!(names(&store, Some("b"), None), ["3", "4"]);
    assert_eq!(names(&store, None, Some(&EventKey::new("b", "3"))), ["4"]);
    // An update that changes the object moves the event in the index.
    store
        .write(Mutation::Update {
            record: about("b", "3", "db"),
            expected_rv: None,
        })
        .await
        .unwrap();
    assert_eq!(names(&store, None, None), ["1", "4"]);
    store.close().await;
    let reopened = Store::open(StoreConfig::new(dir.path())).unwrap();
    assert_eq!(
        names(&reopened, None, None),
        ["1", "4"],
        "the index is rebuilt on recovery"
    );
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
