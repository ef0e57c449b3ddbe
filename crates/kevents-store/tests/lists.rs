//! Regression tests of lists found by the model-based property test.

use kevents_store::{ListQuery, Mutation, Store, StoreConfig};

mod common;
use common::record;

/// A list at an older version with an object name merged past states into the full range and
/// returned events about other objects.
#[tokio::test]
async fn object_name_filter_holds_for_lists_at_an_older_version() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(StoreConfig::new(dir.path())).unwrap();
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
