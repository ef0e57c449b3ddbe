//! Unit tests of the head: ranges, the object index, expiry and history.

use super::*;
use kevents_model::EventRecord;

fn change(rv: u64, ns: &str, name: &str, change_type: ChangeType, at: i64) -> Arc<Change> {
    let record = EventRecord {
        namespace: ns.into(),
        name: name.into(),
        resource_version: rv,
        ..Default::default()
    };
    Arc::new(Change {
        resource_version: rv,
        change_type,
        object: Arc::new(StoredEvent {
            record,
            updated_at: Micros(at),
        }),
        previous: None,
        committed_at: Micros(at),
    })
}

#[test]
fn range_respects_namespace_and_cursor() {
    let mut head = Head::default();
    for (rv, ns, name) in [(1, "a", "x"), (2, "b", "x"), (3, "b", "y"), (4, "c", "z")] {
        head.apply(change(rv, ns, name, ChangeType::Added, 0), 100);
    }
    let names = |it: Vec<Arc<StoredEvent>>| {
        it.iter()
            .map(|e| format!("{}/{}", e.record.namespace, e.record.name))
            .collect::<Vec<_>>()
    };
    let ns = |namespace| Scope {
        cluster: None,
        namespace: Some(namespace),
    };
    assert_eq!(names(head.range(ns("b"), None).collect()), ["b/x", "b/y"]);
    let cursor = EventKey::new("b", "x");
    assert_eq!(names(head.range(ns("b"), Some(&cursor)).collect()), ["b/y"]);
    assert_eq!(
        names(head.range(Scope::ALL, Some(&cursor)).collect()),
        ["b/y", "c/z"]
    );
}

fn clustered(rv: u64, cluster: &str, ns: &str, name: &str) -> Arc<Change> {
    let mut change = (*change(rv, ns, name, ChangeType::Added, 0)).clone();
    let mut object = (*change.object).clone();
    object.record.cluster = cluster.into();
    object.record.involved_object.name = "web-0".into();
    change.object = Arc::new(object);
    Arc::new(change)
}

#[test]
fn range_of_a_namespace_across_clusters_resumes_inside_any_cluster() {
    let mut head = Head::default();
    let layout = [
        ("", "a", "1"),
        ("", "b", "2"),
        ("p", "a", "3"),
        ("p", "b", "4"),
    ];
    for (rv, (cluster, ns, name)) in layout.into_iter().enumerate() {
        head.apply(clustered(rv as u64 + 1, cluster, ns, name), 100);
    }
    head.apply(clustered(5, "q", "a", "5"), 100);
    let names =
        |it: Vec<Arc<StoredEvent>>| it.iter().map(|e| e.record.name.clone()).collect::<Vec<_>>();
    let ns_a = Scope {
        cluster: None,
        namespace: Some("a"),
    };
    assert_eq!(names(head.range(ns_a, None).collect()), ["1", "3", "5"]);
    let after_local = EventKey::in_cluster("", "a", "1");
    assert_eq!(
        names(head.range(ns_a, Some(&after_local)).collect()),
        ["3", "5"]
    );
    let after_p = EventKey::in_cluster("p", "a", "3");
    assert_eq!(names(head.range(ns_a, Some(&after_p)).collect()), ["5"]);
    let only_p = Scope {
        cluster: Some("p"),
        namespace: None,
    };
    assert_eq!(names(head.range(only_p, None).collect()), ["3", "4"]);
    assert_eq!(
        names(
            head.about_object("web-0", ns_a, Some(&after_local), Default::default())
                .collect()
        ),
        ["3", "5"]
    );
    assert_eq!(
        names(
            head.about_object("web-0", only_p, None, Default::default())
                .collect()
        ),
        ["3", "4"]
    );
    assert_eq!(head.clusters.get("p"), Some(&2));
    let mut delete = (*clustered(6, "p", "a", "3")).clone();
    delete.change_type = ChangeType::Deleted;
    head.apply(Arc::new(delete), 100);
    assert_eq!(head.clusters.get("p"), Some(&1));
}

#[test]
fn history_trim_makes_old_versions_unwatchable() {
    let mut head = Head::default();
    for rv in 1..=5 {
        head.apply(
            change(rv, "a", &format!("e{rv}"), ChangeType::Added, rv as i64),
            100,
        );
    }
    assert_eq!(head.history.after(0).unwrap().len(), 5);
    head.history.trim(3, usize::MAX, Micros(0));
    assert_eq!(head.history.oldest_resumable(), 2);
    assert!(head.history.after(1).is_err());
    assert_eq!(head.history.after(2).unwrap().len(), 3);
    assert_eq!(head.history.after(4).unwrap().len(), 1);
    head.history.trim(10, usize::MAX, Micros(5));
    assert_eq!(head.history.oldest_resumable(), 4);
}

#[test]
fn history_is_bounded_in_bytes_and_counts_what_it_drops() {
    let mut head = Head::default();
    let big = |rv: u64| {
        let mut change = (*change(rv, "a", "big", ChangeType::Modified, rv as i64)).clone();
        let mut object = (*change.object).clone();
        object.record.message = "x".repeat(100_000);
        change.object = Arc::new(object);
        Arc::new(change)
    };
    for rv in 1..=10 {
        head.apply(big(rv), 100);
    }
    let one = head.history.bytes() / 10;
    assert!(one > 100_000, "{one}");
    head.history.trim(usize::MAX, 3 * one, Micros(0));
    assert_eq!(head.history.len(), 3);
    assert_eq!(head.history.bytes(), 3 * one);
    assert_eq!(head.history.oldest_resumable(), 7);
    assert!(head.history.after(6).is_err());
    head.history.trim(usize::MAX, 0, Micros(0));
    assert_eq!((head.history.len(), head.history.bytes()), (0, 0));
}

#[test]
fn expiry_follows_last_write() {
    let mut head = Head::default();
    head.apply(change(1, "a", "x", ChangeType::Added, 0), 10);
    assert_eq!(head.expired(Micros(10), 10, 10).len(), 1);
    let mut update = (*change(2, "a", "x", ChangeType::Modified, 5)).clone();
    update.previous = head.hot(&EventKey::new("a", "x")).cloned();
    head.apply(Arc::new(update), 10);
    assert!(head.expired(Micros(10), 10, 10).is_empty());
    assert_eq!(
        head.expired(Micros(15), 10, 10),
        vec![(EventKey::new("a", "x"), 2)]
    );
}
