//! The store's change feeds: a namespace's own feed carries its changes in commit order and
//! tells a caught-up reader the store's version.

use kevents_store::{Mutation, Scope, Store, StoreConfig, WatchFrom};

mod common;
use common::{create, record};

/// The live feed of a namespace scope carries that namespace's changes only, in commit order
/// (batches committed together included), while a subscriber of everything still gets all
/// of them; the last subscriber leaving drops the namespace's feed without disturbing others.
#[tokio::test]
async fn a_namespace_feed_carries_its_namespace_in_commit_order() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(StoreConfig::new(dir.path())).unwrap();
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
#[tokio::test]
async fn a_namespace_feed_is_caught_up_past_other_namespaces_changes() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(StoreConfig::new(dir.path())).unwrap();
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
