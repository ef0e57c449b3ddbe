use super::*;
use kevents_model::ObjectRef;

const T0: i64 = 1_767_225_600_000_000;

fn at(seconds: i64) -> Micros {
    Micros(T0 + seconds * 1_000_000)
}

fn event(name: &str, message: &str) -> EventRecord {
    EventRecord {
        namespace: "default".into(),
        name: name.into(),
        involved_object: ObjectRef {
            kind: "Pod".into(),
            namespace: "default".into(),
            name: "web-0".into(),
            uid: "uid-1".into(),
            api_version: "v1".into(),
            field_path: "spec.containers{web}".into(),
            ..Default::default()
        },
        reason: "BackOff".into(),
        message: message.into(),
        event_type: "Warning".into(),
        source_component: "kubelet".into(),
        source_host: "node-1".into(),
        reporting_controller: "kubelet".into(),
        reporting_instance: "node-1".into(),
        count: 1,
        ..Default::default()
    }
}

fn deduplicator(mode: DedupeMode) -> Deduplicator {
    Deduplicator::new(DedupeConfig {
        mode,
        ..DedupeConfig::default()
    })
}

/// Runs a create through the deduplicator like the write path would, against a model store.
fn create(
    dedupe: &mut Deduplicator,
    store: &mut Vec<EventRecord>,
    mut incoming: EventRecord,
    now: Micros,
) {
    match dedupe.decide("", &incoming, now) {
        DedupeDecision::Create { key } => {
            dedupe.created(key, EventRef::of(&incoming), now);
            store.push(incoming);
        }
        DedupeDecision::CreateCombined { key, message } => {
            incoming.message = message;
            dedupe.created(key, EventRef::of(&incoming), now);
            store.push(incoming);
        }
        DedupeDecision::Increment {
            key,
            target,
            add,
            message,
        } => match store.iter_mut().find(|e| EventRef::of(e) == target) {
            Some(existing) => apply_increment(existing, add, now, message.as_deref()),
            None => {
                dedupe.forget(key);
                create(dedupe, store, incoming, now);
            }
        },
    }
}

#[test]
fn identical_creates_count_on_the_first_event() {
    let mut dedupe = deduplicator(DedupeMode::Identical);
    let mut store = Vec::new();
    for i in 0..25 {
        create(
            &mut dedupe,
            &mut store,
            event(&format!("web-0.{i}"), "Back-off restarting"),
            at(i),
        );
    }
    assert_eq!(store.len(), 1);
    assert_eq!(store[0].name, "web-0.0");
    assert_eq!(store[0].count, 25, "count equals the number of creates");
    assert_eq!(store[0].last_timestamp, Some(at(24)));
    assert_eq!(
        dedupe.stats(),
        DedupeStats {
            created: 1,
            combined: 0,
            incremented: 24
        }
    );
}

#[test]
fn different_messages_objects_or_namespaces_are_not_identical() {
    let mut dedupe = deduplicator(DedupeMode::Identical);
    let mut store = Vec::new();
    create(
        &mut dedupe,
        &mut store,
        event("a", "Back-off restarting"),
        at(0),
    );
    create(
        &mut dedupe,
        &mut store,
        event("b", "Back-off restarting again"),
        at(1),
    );
    let mut other_pod = event("c", "Back-off restarting");
    other_pod.involved_object.name = "web-1".into();
    create(&mut dedupe, &mut store, other_pod, at(2));
    let mut other_namespace = event("d", "Back-off restarting");
    other_namespace.namespace = "prod".into();
    create(&mut dedupe, &mut store, other_namespace, at(3));
    let mut other_field = event("e", "Back-off restarting");
    other_field.involved_object.field_path = "spec.containers{sidecar}".into();
    create(&mut dedupe, &mut store, other_field, at(4));
    assert_eq!(store.len(), 5);
    let in_other_cluster = dedupe.decide("prod", &event("f", "Back-off restarting"), at(5));
    assert!(matches!(in_other_cluster, DedupeDecision::Create { .. }));
}

#[test]
fn a_repeat_after_the_window_starts_a_new_event() {
    let mut dedupe = deduplicator(DedupeMode::Identical);
    let mut store = Vec::new();
    create(&mut dedupe, &mut store, event("a", "Back-off"), at(0));
    create(&mut dedupe, &mut store, event("b", "Back-off"), at(500));
    create(&mut dedupe, &mut store, event("c", "Back-off"), at(1000));
    create(&mut dedupe, &mut store, event("d", "Back-off"), at(1700));
    let names: Vec<_> = store.iter().map(|e| (e.name.as_str(), e.count)).collect();
    assert_eq!(
        names,
        vec![("a", 3), ("d", 1)],
        "the window slides with each repeat"
    );
}

#[test]
fn a_vanished_target_is_created_again() {
    let mut dedupe = deduplicator(DedupeMode::Identical);
    let mut store = Vec::new();
    create(&mut dedupe, &mut store, event("a", "Back-off"), at(0));
    store.clear();
    create(&mut dedupe, &mut store, event("b", "Back-off"), at(1));
    create(&mut dedupe, &mut store, event("c", "Back-off"), at(2));
    assert_eq!(
        store
            .iter()
            .map(|e| (e.name.as_str(), e.count))
            .collect::<Vec<_>>(),
        vec![("b", 2)]
    );
}

#[test]
fn ten_similar_messages_become_one_combined_event() {
    let mut dedupe = deduplicator(DedupeMode::Similar);
    let mut store = Vec::new();
    for i in 0..15 {
        create(
            &mut dedupe,
            &mut store,
            event(&format!("web-0.{i}"), &format!("Back-off {i}")),
            at(i * 30),
        );
    }
    // As client-go: the first 9 distinct messages are stored, the 10th starts the combined
    // event and later ones count on it, carrying the latest message.
    assert_eq!(store.len(), 10);
    let combined = &store[9];
    assert_eq!(combined.name, "web-0.9");
    assert_eq!(
        combined.message,
        "(combined from similar events): Back-off 14"
    );
    assert_eq!(combined.count, 6);
    assert_eq!(
        store.iter().map(|e| e.count).sum::<i32>(),
        15,
        "every create is counted once"
    );
    assert_eq!(dedupe.stats().combined, 1);
}

#[test]
fn similar_events_spread_beyond_the_interval_are_not_combined() {
    let mut dedupe = deduplicator(DedupeMode::Similar);
    let mut store = Vec::new();
    for i in 0..12 {
        create(
            &mut dedupe,
            &mut store,
            event(&format!("e{i}"), &format!("Back-off {i}")),
            at(i * 601),
        );
    }
    assert_eq!(store.len(), 12);
    assert!(store
        .iter()
        .all(|e| !e.message.starts_with(COMBINED_PREFIX)));
}

#[test]
fn similar_mode_still_counts_identical_events() {
    let mut dedupe = deduplicator(DedupeMode::Similar);
    let mut store = Vec::new();
    for i in 0..5 {
        create(
            &mut dedupe,
            &mut store,
            event(&format!("e{i}"), "Back-off"),
            at(i),
        );
    }
    assert_eq!(store.iter().map(|e| e.count).collect::<Vec<_>>(), vec![5]);
}

#[test]
fn off_creates_everything() {
    let mut dedupe = deduplicator(DedupeMode::Off);
    let mut store = Vec::new();
    for i in 0..3 {
        create(
            &mut dedupe,
            &mut store,
            event(&format!("e{i}"), "Back-off"),
            at(i),
        );
    }
    assert_eq!(store.len(), 3);
}

#[test]
fn increments_use_series_for_new_style_events() {
    let mut legacy = event("a", "Back-off");
    legacy.count = 0;
    apply_increment(&mut legacy, 2, Micros(at(5).0 + 123), None);
    assert_eq!(
        (legacy.count, legacy.last_timestamp, legacy.series),
        (3, Some(at(5)), None)
    );

    let mut new_style = event("b", "Back-off");
    new_style.count = 0;
    new_style.event_time = Some(at(0));
    apply_increment(
        &mut new_style,
        1,
        Micros(at(7).0 + 123),
        Some("(combined from similar events): x"),
    );
    let series = new_style.series.expect("a series is started");
    assert_eq!(
        (series.count, series.last_observed),
        (2, Some(Micros(at(7).0 + 123)))
    );
    assert_eq!(new_style.message, "(combined from similar events): x");
}

#[test]
fn modes_parse_from_flags() {
    assert_eq!("similar".parse(), Ok(DedupeMode::Similar));
    assert_eq!("identical".parse(), Ok(DedupeMode::Identical));
    assert_eq!("off".parse(), Ok(DedupeMode::Off));
    assert!("on".parse::<DedupeMode>().is_err());
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn every_create_is_counted_exactly_once(
            mode in prop_oneof![Just(DedupeMode::Identical), Just(DedupeMode::Similar)],
            creates in proptest::collection::vec((0usize..3, 0usize..14, 0i64..120, 1i32..3), 1..300),
        ) {
            let mut dedupe = Deduplicator::new(DedupeConfig { mode, cache_size: 8, ..DedupeConfig::default() });
            let mut store = Vec::new();
            let mut now = 0;
            let mut offered = 0;
            for (i, (pod, message, advance, count)) in creates.into_iter().enumerate() {
                now += advance;
                let mut incoming = event(&format!("e{i}"), &format!("Back-off {message}"));
                incoming.involved_object.name = format!("web-{pod}");
                incoming.count = count;
                offered += count;
                create(&mut dedupe, &mut store, incoming, at(now));
            }
            prop_assert_eq!(store.iter().map(|e| e.count).sum::<i32>(), offered);
        }
    }
}
