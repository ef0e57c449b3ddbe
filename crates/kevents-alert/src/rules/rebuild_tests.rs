//! The rule engine rebuilt from a store while writes go on counts every occurrence once: the
//! same groups with the same totals as an engine that followed every change as committed.

use super::*;
use kevents_model::{EventRecord, Micros, ObjectRef};
use kevents_store::{Mutation, Scope, Store, StoreConfig, WatchFrom};
use std::collections::BTreeMap;

const RULES: &str = "rules:
- name: PodCrashLoop
  match: {type: Warning, reason: BackOff}
  when: {count: 3, window: 10m}
  groupBy: [namespace, name]
- name: NamespaceStorm
  match: {type: Warning}
  when: {count: 40, window: 10m}
  groupBy: [namespace]
";

fn event(i: usize, count: i32) -> EventRecord {
    let pod = format!("web-{}", i % 9);
    EventRecord {
        namespace: format!("team-{}", i % 3),
        name: format!("e{i:03}"),
        involved_object: ObjectRef {
            kind: "Pod".into(),
            namespace: format!("team-{}", i % 3),
            name: pod.clone(),
            uid: format!("uid-{pod}"),
            ..Default::default()
        },
        reason: ["BackOff", "Unhealthy", "Pulled"][i % 3].into(),
        message: "Back-off restarting failed container".into(),
        event_type: ["Warning", "Warning", "Normal"][i % 3].into(),
        source_component: "kubelet".into(),
        count,
        last_timestamp: Some(Micros::now()),
        ..Default::default()
    }
}

/// Every group with its total occurrences and the objects it lists, comparable between two
/// engines.
fn totals(engine: &RuleEngine) -> BTreeMap<(String, String), (u64, Vec<String>)> {
    let state = engine.state.lock();
    let mut totals = BTreeMap::new();
    for (rule, groups) in &state.groups {
        for (key, group) in groups {
            let mut objects: Vec<String> = group.objects.iter().map(|(_, o)| o.clone()).collect();
            objects.sort();
            totals.insert((rule.clone(), key.clone()), (group.total, objects));
        }
    }
    totals
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rebuild_while_writes_go_on_counts_every_occurrence_once() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(StoreConfig::new(dir.path())).unwrap();
    let mut every_change = store
        .subscribe(WatchFrom::After(store.resource_version()), Scope::ALL)
        .unwrap()
        .live;
    for i in 0..60 {
        let created = Mutation::Create(event(i, 1 + (i % 4) as i32));
        store.write(created).await.unwrap();
    }
    let from = store.resource_version();
    let rebuilt = std::sync::Arc::new(RuleEngine::new(
        load_rules("rules.yaml", RULES).unwrap(),
        "hub",
    ));
    rebuilt.begin_rebuild();
    let mut live = store
        .subscribe(WatchFrom::After(from), Scope::ALL)
        .unwrap()
        .live;
    let handle = tokio::runtime::Handle::current();
    let (engine, writer) = (rebuilt.clone(), store.clone());
    // Between pages of 7: raise the count of an event the read has not reached and of one it
    // has, delete one ahead, create one: each way a key can change meanwhile.
    tokio::task::spawn_blocking(move || {
        let mut rebuild = engine.rebuild_from(from, Micros::now());
        let mut read = 0;
        let pages = writer.read_pages(7, |page| {
            engine.rebuild_page(&mut rebuild, &page.items);
            read += page.items.len();
            handle.block_on(async {
                for i in [read + 10, read.saturating_sub(3)] {
                    if let Some(stored) = writer.get(&event(i, 1).key()) {
                        let mut record = stored.record.clone();
                        record.count += 2;
                        let update = Mutation::Update {
                            record,
                            expected_rv: None,
                        };
                        writer.write(update).await.unwrap();
                    }
                }
                let delete = Mutation::Delete {
                    key: event(read + 12, 1).key(),
                    expected_rv: None,
                    expected_uid: None,
                };
                let _ = writer.write(delete).await;
                let created = event(100 + read, 3);
                writer.write(Mutation::Create(created)).await.unwrap();
            });
            while let Ok(change) = live.try_recv() {
                engine.observe_at(&change, change.committed_at);
            }
            true
        });
        engine.end_rebuild(rebuild, &pages.expect("not stopped"));
    })
    .await
    .unwrap();
    assert!(rebuilt.state.lock().rebuilding.is_none());

    // The reference counted every change as it was committed.
    let reference = RuleEngine::new(load_rules("rules.yaml", RULES).unwrap(), "hub");
    while let Ok(change) = every_change.try_recv() {
        reference.observe_at(&change, change.committed_at);
    }
    let expected = totals(&reference);
    assert!(
        expected.values().map(|(total, _)| total).sum::<u64>() > 150,
        "{expected:?}"
    );
    assert_eq!(totals(&rebuilt), expected);
}

#[test]
fn a_group_is_the_same_whatever_order_its_occurrences_come_in() {
    let engine = |order: &[usize]| {
        let engine = RuleEngine::new(load_rules("rules.yaml", RULES).unwrap(), "hub");
        let rules = engine.rules.lock();
        let mut state = engine.state.lock();
        for &i in order {
            let mut e = event(i * 3, 1);
            e.involved_object.name = format!("web-{i}");
            let at = Micros(1_700_000_000_000_000 + (i as i64) * 700_000);
            engine.record(&rules, &mut state, &e, at, 1 + i as u64 % 2);
        }
        let group = state.groups["NamespaceStorm"]["namespace=team-0"].clone();
        (
            group.window.iter().copied().collect::<Vec<_>>(),
            group.objects_text(),
            group.events.to_vec(),
            group.latest.name.clone(),
            group.total,
            (group.first_seen, group.last_seen),
        )
    };
    let in_time: Vec<usize> = (0..40).collect();
    let shuffled: Vec<usize> = (0..40).map(|i| (i * 17) % 40).collect();
    let reversed: Vec<usize> = (0..40).rev().collect();
    let expected = engine(&in_time);
    assert_eq!(expected.3, "web-39");
    assert_eq!(expected.2.len(), refs::EVENTS_KEPT);
    assert!(
        expected.1.starts_with("Pod/web-39, Pod/web-38"),
        "{}",
        expected.1
    );
    assert_eq!(engine(&shuffled), expected);
    assert_eq!(engine(&reversed), expected);
}

#[tokio::test]
async fn the_alert_groups_say_they_are_rebuilding_until_the_first_evaluation_after_the_rebuild() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(StoreConfig::new(dir.path())).unwrap();
    for i in 0..5 {
        store.write(Mutation::Create(event(i, 3))).await.unwrap();
    }
    let engine = RuleEngine::new(load_rules("rules.yaml", RULES).unwrap(), "hub");
    engine.begin_rebuild();
    let rebuilding = std::sync::Arc::new(());
    engine.hold_until_evaluated(Box::new(rebuilding.clone()));
    engine.settled();
    assert_eq!(
        std::sync::Arc::strong_count(&rebuilding),
        2,
        "dropped mid-rebuild"
    );

    let from = store.resource_version();
    let mut rebuild = engine.rebuild_from(from, Micros::now());
    let store_read = store.clone();
    let pages = store_read.read_pages(100, |page| {
        engine.rebuild_page(&mut rebuild, &page.items);
        true
    });
    engine.end_rebuild(rebuild, &pages.unwrap());
    // The alerting loop is told at once, not at its next tick.
    tokio::time::timeout(std::time::Duration::from_secs(5), engine.rebuilt())
        .await
        .expect("told that the rebuild ended");
    assert_eq!(
        std::sync::Arc::strong_count(&rebuilding),
        2,
        "dropped before evaluation"
    );
    let firing = engine
        .evaluate_if_due(Micros::now())
        .expect("due after a rebuild");
    let crash_looping = (0..5).filter(|i| i % 3 == 0).count();
    assert_eq!(
        firing.iter().filter(|a| !a.is_resolved()).count(),
        crash_looping
    );
    engine.settled();
    assert_eq!(std::sync::Arc::strong_count(&rebuilding), 1);
}
