//! The storage contract, checked on every implementation (the store on disk and the one in
//! memory): the Kubernetes rules of writes, lists at a version, paging, TTL expiry, the
//! object name filter, the change feeds and `follow`. Each test is a function generic over the
//! implementation, instantiated once per implementation by `contract_suite!`. The model-based
//! test (`model_based.rs`) runs the same way.

use kevents_model::{EventKey, Micros};
use kevents_store::{
    ChangeType, EventStore, ListQuery, MemoryStore, Mutation, Scope, Store, StoreConfig,
    StoreError, WatchFrom,
};

mod common;
use common::{create, record};

/// Opens a fresh store of one implementation, with the default settings changed by
/// `configure`; returns it with the temporary directory it may keep its data in.
trait Open {
    type Store: EventStore;
    fn open(configure: impl FnOnce(&mut StoreConfig)) -> (Self::Store, tempfile::TempDir);
}

/// The store on disk.
struct Disk;

impl Open for Disk {
    type Store = Store;

    fn open(configure: impl FnOnce(&mut StoreConfig)) -> (Store, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let mut config = StoreConfig::new(dir.path());
        configure(&mut config);
        (Store::open(config).unwrap(), dir)
    }
}

/// The store in memory.
struct Memory;

impl Open for Memory {
    type Store = MemoryStore;

    fn open(configure: impl FnOnce(&mut StoreConfig)) -> (MemoryStore, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let mut config = StoreConfig::new(dir.path());
        configure(&mut config);
        (MemoryStore::new(&config), dir)
    }
}

/// One `#[tokio::test]` per contract test, for the implementation `$open`.
macro_rules! contract_suite {
    ($open:ty) => {
        #[tokio::test]
        async fn create_update_delete_follow_kubernetes_rules() {
            super::create_update_delete_follow_kubernetes_rules::<$open>().await
        }
        #[tokio::test]
        async fn ttl_expiry_deletes_from_list_and_feeds_watch() {
            super::ttl_expiry_deletes_from_list_and_feeds_watch::<$open>().await
        }
        #[tokio::test]
        async fn paging_visits_every_match_once() {
            super::paging_visits_every_match_once::<$open>().await
        }
        #[tokio::test]
        async fn list_at_an_older_version_shows_that_state() {
            super::list_at_an_older_version_shows_that_state::<$open>().await
        }
        #[tokio::test]
        async fn list_at_a_version_older_than_history_is_too_old() {
            super::list_at_a_version_older_than_history_is_too_old::<$open>().await
        }
        #[tokio::test]
        async fn object_name_index_lists_only_that_objects_events_and_follows_updates() {
            super::object_name_index_lists_only_that_objects_events_and_follows_updates::<$open>()
                .await
        }
        #[tokio::test]
        async fn a_namespace_feed_carries_its_namespace_in_commit_order() {
            super::a_namespace_feed_carries_its_namespace_in_commit_order::<$open>().await
        }
        #[tokio::test]
        async fn a_namespace_feed_is_caught_up_past_other_namespaces_changes() {
            super::a_namespace_feed_is_caught_up_past_other_namespaces_changes::<$open>().await
        }
        #[tokio::test]
        async fn object_name_filter_holds_for_lists_at_an_older_version() {
            super::object_name_filter_holds_for_lists_at_an_older_version::<$open>().await
        }
        #[tokio::test]
        async fn follow_returns_every_change_after_its_version_in_order() {
            super::follow_returns_every_change_after_its_version_in_order::<$open>().await
        }
        #[tokio::test]
        async fn follow_reports_too_old_until_skipped() {
            super::follow_reports_too_old_until_skipped::<$open>().await
        }
    };
}

mod disk {
    contract_suite!(super::Disk);
}

mod memory {
    contract_suite!(super::Memory);
}

async fn create_update_delete_follow_kubernetes_rules<O: Open>() {
    let (store, _dir) = O::open(|_| {});
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
    assert_eq!(
        store.accepts_writes(),
        Ok(()),
        "refused writes do not stop the store"
    );
}

async fn ttl_expiry_deletes_from_list_and_feeds_watch<O: Open>() {
    let (store, _dir) = O::open(|config| config.ttl_micros = 1_000_000);
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

async fn paging_visits_every_match_once<O: Open>() {
    let (store, _dir) = O::open(|_| {});
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

async fn list_at_an_older_version_shows_that_state<O: Open>() {
    let (store, _dir) = O::open(|_| {});
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

async fn list_at_a_version_older_than_history_is_too_old<O: Open>() {
    let (store, _dir) = O::open(|config| config.history_limit = 2);
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

async fn object_name_index_lists_only_that_objects_events_and_follows_updates<O: Open>() {
    let (store, _dir) = O::open(|_| {});
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
    let names = |store: &O::Store, namespace: Option<&str>, start_after: Option<&EventKey>| {
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
}

/// The live feed of a namespace scope carries that namespace's changes only, in commit order
/// (batches committed together included), while a subscriber of everything still gets all
/// of them; the last subscriber leaving drops the namespace's feed without disturbing others.
async fn a_namespace_feed_carries_its_namespace_in_commit_order<O: Open>() {
    let (store, _dir) = O::open(|_| {});
    let from = WatchFrom::After(store.resource_version());
    let namespace = |ns| Scope {
        cluster: None,
        namespace: Some(ns),
    };
    let mut all = store.subscribe(from, Scope::ALL).unwrap().live;
    let mut a = store.subscribe(from, namespace("a")).unwrap().live;
    let gone = store.subscribe(from, namespace("b")).unwrap().live;
    drop(gone);
    // 40 changes committed together (more than a piece of the feed), alternating namespaces.
    let writes = (0..40)
        .map(|i| {
            let ns = if i % 2 == 0 { "a" } else { "b" };
            Mutation::Create(record(ns, &format!("e{i}"), "m"))
        })
        .collect();
    for result in store.write_many(writes).await {
        result.unwrap();
    }
    create(&store, "b", "late").await;
    create(&store, "a", "last").await;
    let mut names = Vec::new();
    let mut versions = Vec::new();
    while let Ok(change) = a.try_recv() {
        assert_eq!(change.object.record.namespace, "a");
        names.push(change.object.record.name.clone());
        versions.push(change.resource_version);
    }
    let mut expected: Vec<String> = (0..40).step_by(2).map(|i| format!("e{i}")).collect();
    expected.push("last".into());
    assert_eq!(names, expected);
    assert!(versions.windows(2).all(|w| w[0] < w[1]), "{versions:?}");
    let mut every = 0;
    while all.try_recv().is_ok() {
        every += 1;
    }
    assert_eq!(every, 42);
}

/// A namespace watcher that has read everything is current up to the store's version even
/// when later changes were in other namespaces, and is not while a change waits for it.
async fn a_namespace_feed_is_caught_up_past_other_namespaces_changes<O: Open>() {
    let (store, _dir) = O::open(|_| {});
    let scope = Scope {
        cluster: None,
        namespace: Some("quiet"),
    };
    let mut live = store
        .subscribe(WatchFrom::After(store.resource_version()), scope)
        .unwrap()
        .live;
    let mine = create(&store, "quiet", "e").await;
    assert_eq!(live.caught_up(), None, "its change is still waiting");
    assert_eq!(live.try_recv().unwrap().resource_version, mine);
    for i in 0..5 {
        create(&store, "busy", &format!("e{i}")).await;
    }
    assert!(live.try_recv().is_err(), "nothing of the busy namespace");
    assert_eq!(live.caught_up(), Some(store.resource_version()));
    assert!(store.resource_version() > mine);
}

/// A list at an older version with an object name merged past states into the full range and
/// returned events about other objects.
async fn object_name_filter_holds_for_lists_at_an_older_version<O: Open>() {
    let (store, _dir) = O::open(|_| {});
    let about = |name: &str, object: &str| {
        let mut r = record("ns", name, "m");
        r.involved_object.name = object.into();
        Mutation::Create(r)
    };
    store.write(about("1", "web")).await.unwrap();
    let before = store.resource_version();
    // A change after `before` makes the list at `before` merge past states into the range.
    store.write(about("2", "db")).await.unwrap();
    let query = ListQuery {
        object_name: Some("db"),
        at: Some(before),
        ..Default::default()
    };
    assert!(store.list(query, |_| true).unwrap().items.is_empty());
    let query = ListQuery {
        object_name: Some("web"),
        at: Some(before),
        ..Default::default()
    };
    assert_eq!(store.list(query, |_| true).unwrap().items.len(), 1);
}

/// `follow` returns every change after its version once, in order: the history first, then
/// the live feed, across pieces of the feed and past a feed that dropped the reader (it
/// resumes from the history).
async fn follow_returns_every_change_after_its_version_in_order<O: Open>() {
    let (store, _dir) = O::open(|config| config.feed_capacity = 8);
    let from = create(&store, "a", "before").await;
    create(&store, "a", "first").await;
    let mut changes = store.follow(from);
    let first = changes.next().await.unwrap().unwrap();
    assert_eq!(first.object.record.name, "first", "from the history");
    // More than the feed holds, committed together: the reader falls behind the live feed.
    let writes = (0..50)
        .map(|i| Mutation::Create(record(["a", "b"][i % 2], &format!("e{i}"), "m")))
        .collect();
    for result in store.write_many(writes).await {
        result.unwrap();
    }
    let mut versions = vec![first.resource_version];
    while let Some(change) = changes.try_next() {
        versions.push(change.unwrap().resource_version);
    }
    assert_eq!(
        versions,
        ((from + 1)..=store.resource_version()).collect::<Vec<_>>()
    );
    assert_eq!(changes.position(), store.resource_version());
    let late = create(&store, "b", "late").await;
    let next = changes.next().await.unwrap().unwrap();
    assert_eq!(next.resource_version, late, "from the live feed");
}

/// A follower whose next change is no longer retained is told, every time, until it skips
/// ahead; how long it has waited is measured from the oldest retained change.
async fn follow_reports_too_old_until_skipped<O: Open>() {
    let (store, _dir) = O::open(|config| config.history_limit = 2);
    let from = store.resource_version();
    assert!(
        store.follow(from).waiting_since().is_none(),
        "nothing committed yet"
    );
    for name in ["a", "b", "c", "d"] {
        create(&store, "ns", name).await;
    }
    let mut changes = store.follow(from);
    let too_old = changes.next().await.unwrap().unwrap_err();
    assert_eq!(too_old.requested, from);
    assert_eq!(too_old.oldest, store.oldest_resumable());
    assert!(changes.try_next().unwrap().is_err(), "still too old");
    let oldest_retained = store
        .subscribe(WatchFrom::After(store.oldest_resumable()), Scope::ALL)
        .unwrap()
        .backlog[0]
        .committed_at;
    assert_eq!(changes.waiting_since(), Some(oldest_retained));
    changes.skip_to(store.oldest_resumable());
    let since = changes.waiting_since();
    assert_eq!(since, Some(oldest_retained), "the waiting change is kept");
    let next = changes.next().await.unwrap().unwrap();
    assert_eq!(next.resource_version, store.oldest_resumable() + 1);
    assert!(since <= Some(Micros::now()));
}
