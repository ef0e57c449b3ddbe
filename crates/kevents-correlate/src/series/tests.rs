use super::*;
use kevents_model::{ObjectRef, Series as WireSeries};

const T0: i64 = 1_767_225_600_000_000; // 2026-01-01T00:00:00Z
const SECOND: i64 = 1_000_000;

pub(super) fn at(seconds: i64) -> Micros {
    Micros(T0 + seconds * SECOND)
}

pub(super) fn event(
    name: &str,
    pod: &str,
    reason: &str,
    message: &str,
    count: i32,
    seconds: i64,
) -> EventRecord {
    EventRecord {
        namespace: "default".into(),
        name: name.into(),
        involved_object: ObjectRef {
            kind: "Pod".into(),
            namespace: "default".into(),
            name: pod.into(),
            uid: format!("uid-{pod}"),
            ..Default::default()
        },
        reason: reason.into(),
        message: message.into(),
        event_type: "Warning".into(),
        source_component: "kubelet".into(),
        source_host: "node-1".into(),
        first_timestamp: Some(at(0)),
        last_timestamp: Some(at(seconds)),
        count,
        ..Default::default()
    }
}

pub(super) fn tracker() -> SeriesTracker {
    SeriesTracker::new(SeriesConfig::default())
}

#[test]
fn updates_add_only_what_they_raise_the_count_by() {
    let mut tracker = tracker();
    let created = event(
        "web-0.1",
        "web-0",
        "BackOff",
        "Back-off 10s restarting",
        3,
        10,
    );
    let first = tracker.observe("", &created, None, at(100));
    assert_eq!((first.added, first.created), (3, true));
    let raised = event(
        "web-0.1",
        "web-0",
        "BackOff",
        "Back-off 20s restarting",
        5,
        20,
    );
    let second = tracker.observe("", &raised, Some(&created), at(100));
    assert_eq!(
        (second.series, second.added, second.created),
        (first.series, 2, false)
    );
    let relabelled = raised.clone();
    let third = tracker.observe("", &relabelled, Some(&raised), at(100));
    assert_eq!((third.added, third.changed), (0, false));
    let series = tracker.get(&first.series).expect("series exists");
    assert_eq!(series.count, 5);
    assert_eq!(series.objects, 1, "one event object");
    assert_eq!(series.latest_message(), "Back-off 20s restarting");
    assert_eq!(series.latest_event(), "web-0.1");
    assert_eq!((series.first_seen, series.last_seen), (at(0), at(20)));
    assert_eq!(series.key().template, "Back-off <duration> restarting");
    assert_eq!(series.key().object.uid, "uid-web-0");
    assert_eq!(
        (series.key().source, series.key().instance),
        ("kubelet", "node-1")
    );
}

#[test]
fn a_new_event_object_adds_its_whole_count() {
    let mut tracker = tracker();
    let seven = event("web-0.1", "web-0", "BackOff", "Back-off", 7, 10);
    assert_eq!(tracker.observe("", &seven, None, at(100)).added, 7);
    let unset = event("web-0.2", "web-0", "BackOff", "Back-off", 0, 20);
    let observed = tracker.observe("", &unset, None, at(100));
    assert_eq!(observed.added, 1, "count 0 means once");
    let series = tracker.get(&observed.series).expect("series exists");
    assert_eq!((series.count, series.objects), (8, 2));
}

#[test]
fn events_k8s_io_series_counts_are_used() {
    let mut tracker = tracker();
    let mut single = event("web-0.1", "web-0", "BackOff", "Back-off", 0, 10);
    single.first_timestamp = None;
    single.last_timestamp = None;
    single.event_time = Some(at(5));
    tracker.observe("", &single, None, at(100));
    let mut repeated = single.clone();
    repeated.series = Some(WireSeries {
        count: 4,
        last_observed: Some(at(50)),
    });
    let observed = tracker.observe("", &repeated, Some(&single), at(100));
    assert_eq!(
        observed.added, 3,
        "series.count 4 after a single occurrence"
    );
    let series = tracker.get(&observed.series).expect("series exists");
    assert_eq!(
        (series.count, series.first_seen, series.last_seen),
        (4, at(5), at(50))
    );
}

#[test]
fn messages_differing_in_variable_parts_share_a_series_but_objects_do_not() {
    let mut tracker = tracker();
    let a = tracker.observe(
        "",
        &event("a.1", "web-0", "BackOff", "Back-off 10s in pod web-0", 1, 1),
        None,
        at(100),
    );
    let b = tracker.observe(
        "",
        &event(
            "a.2",
            "web-0",
            "BackOff",
            "Back-off 5m0s in pod web-0",
            1,
            2,
        ),
        None,
        at(100),
    );
    let other_pod = tracker.observe(
        "",
        &event("b.1", "web-1", "BackOff", "Back-off 10s in pod web-1", 1, 3),
        None,
        at(100),
    );
    let other_reason = tracker.observe(
        "",
        &event("a.3", "web-0", "Failed", "Back-off 10s in pod web-0", 1, 4),
        None,
        at(100),
    );
    let other_cluster = tracker.observe(
        "prod",
        &event("a.1", "web-0", "BackOff", "Back-off 10s in pod web-0", 1, 1),
        None,
        at(100),
    );
    assert_eq!(a.series, b.series);
    assert!(b.changed && !b.created);
    let ids = [
        a.series,
        other_pod.series,
        other_reason.series,
        other_cluster.series,
    ];
    assert_eq!(
        ids.iter().collect::<std::collections::HashSet<_>>().len(),
        4,
        "{ids:?}"
    );
    assert_eq!(tracker.len(), 4);
}

#[test]
fn an_update_that_changes_the_template_moves_the_object() {
    let mut tracker = tracker();
    let before = event("web-0.1", "web-0", "BackOff", "Back-off restarting", 2, 10);
    let first = tracker.observe("", &before, None, at(100));
    let after = event(
        "web-0.1",
        "web-0",
        "BackOff",
        "Container restarted by policy",
        5,
        20,
    );
    let moved = tracker.observe("", &after, Some(&before), at(100));
    assert_ne!(moved.series, first.series);
    assert_eq!(moved.added, 3);
    let new_series = tracker.get(&moved.series).expect("new series");
    assert_eq!((new_series.count, new_series.objects), (3, 1));
    assert_eq!(
        tracker.get(&first.series).map(|s| s.count),
        Some(2),
        "history stays"
    );
}

#[test]
fn versions_grow_with_every_change() {
    let mut tracker = tracker();
    let first = event("a.1", "web-0", "BackOff", "Back-off", 1, 1);
    let one = tracker.observe("", &first, None, at(100));
    let v1 = tracker.get(&one.series).map(|s| s.version);
    let other = tracker.observe(
        "",
        &event("b.1", "web-1", "BackOff", "Back-off", 1, 1),
        None,
        at(100),
    );
    let mut second = first.clone();
    second.count = 2;
    tracker.observe("", &second, Some(&first), at(100));
    let v2 = tracker.get(&one.series).map(|s| s.version);
    assert!(v2 > v1, "{v1:?} -> {v2:?}");
    assert_eq!(tracker.version(), 3);
    let changed: Vec<_> = tracker.changed_since(2).map(|s| s.id).collect();
    assert_eq!(changed, vec![one.series]);
    assert_ne!(one.series, other.series);
}

#[test]
fn series_not_seen_within_the_ttl_expire() {
    let mut tracker = SeriesTracker::new(SeriesConfig {
        ttl_micros: 3600 * SECOND,
        ..SeriesConfig::default()
    });
    let old = tracker.observe(
        "",
        &event("a.1", "web-0", "BackOff", "Back-off", 1, 0),
        None,
        at(0),
    );
    let fresh = tracker.observe(
        "",
        &event("b.1", "web-1", "BackOff", "Back-off", 1, 3000),
        None,
        at(3000),
    );
    let expired = tracker.expire(at(3700));
    assert_eq!(
        expired.iter().map(|s| s.id).collect::<Vec<_>>(),
        vec![old.series]
    );
    assert!(tracker.get(&fresh.series).is_some());
    assert_eq!(tracker.stats().expired, 1);
}

#[test]
fn the_cap_evicts_the_series_seen_longest_ago() {
    let mut tracker = SeriesTracker::new(SeriesConfig {
        max_series: 2,
        ..SeriesConfig::default()
    });
    let oldest = tracker.observe(
        "",
        &event("a.1", "a", "BackOff", "Back-off", 1, 600),
        None,
        at(1000),
    );
    tracker.observe(
        "",
        &event("b.1", "b", "BackOff", "Back-off", 1, 60),
        None,
        at(1000),
    );
    let mut later = event("a.1", "a", "BackOff", "Back-off", 2, 900);
    later.first_timestamp = Some(at(600));
    tracker.observe(
        "",
        &later,
        Some(&event("a.1", "a", "BackOff", "Back-off", 1, 600)),
        at(1000),
    );
    let third = tracker.observe(
        "",
        &event("c.1", "c", "BackOff", "Back-off", 1, 300),
        None,
        at(1000),
    );
    let [evicted] = <[Series; 1]>::try_from(third.evicted).expect("one evicted");
    assert_eq!(
        evicted.key().object.name,
        "b",
        "b was last seen at 60s, a at 900s"
    );
    assert!(tracker.get(&oldest.series).is_some());
    assert_eq!((tracker.len(), tracker.stats().evicted), (2, 1));
}

#[test]
fn long_messages_evict_the_series_seen_longest_ago_past_max_bytes() {
    let mut tracker = SeriesTracker::new(SeriesConfig {
        max_bytes: 320 << 10,
        ..SeriesConfig::default()
    });
    // A quoted value is a placeholder in the template: the long part is the message's alone.
    let long = |pod: &str| format!("value too large: \"{pod}{}\"", "x".repeat(100 << 10));
    let mut ids = Vec::new();
    for (i, pod) in ["a", "b", "c", "d"].into_iter().enumerate() {
        let name = format!("{pod}.1");
        let observed = tracker.observe(
            "",
            &event(&name, pod, "Huge", &long(pod), 1, 60 * i as i64),
            None,
            at(1000),
        );
        ids.push(observed.series);
        let evicted: Vec<_> = observed.evicted.iter().map(|s| s.latest_event()).collect();
        let expected: &[&str] = if pod == "d" { &["a.1"] } else { &[] };
        assert_eq!(evicted, expected, "after {pod}: a was seen longest ago");
    }
    assert!(
        tracker.text_bytes() <= 320 << 10,
        "{}",
        tracker.text_bytes()
    );
    assert!(tracker.get(&ids[0]).is_none());
    assert_eq!((tracker.len(), tracker.stats().evicted), (3, 1));
    // A short message in the same series gives the long one's memory back.
    let short = event("d.1", "d", "Huge", "value too large: \"d\"", 2, 500);
    let before = event("d.1", "d", "Huge", &long("d"), 1, 180);
    let observed = tracker.observe("", &short, Some(&before), at(1000));
    assert_eq!(observed.series, ids[3]);
    assert!(tracker.text_bytes() < 220 << 10, "{}", tracker.text_bytes());
}

#[test]
fn a_series_larger_than_max_bytes_is_kept_alone() {
    let mut tracker = SeriesTracker::new(SeriesConfig {
        max_bytes: 1024,
        ..SeriesConfig::default()
    });
    tracker.observe("", &event("a.1", "a", "R", "small", 1, 0), None, at(1000));
    let huge = "y".repeat(4096);
    let observed = tracker.observe("", &event("b.1", "b", "R", &huge, 1, 10), None, at(1000));
    assert_eq!(observed.evicted.len(), 1);
    assert_eq!(tracker.len(), 1);
    assert_eq!(
        tracker.get(&observed.series).map(|s| s.latest_message()),
        Some(huge.as_str())
    );
}

#[test]
fn future_timestamps_are_capped_at_now() {
    let mut tracker = tracker();
    let observed = tracker.observe(
        "",
        &event("a.1", "a", "BackOff", "Back-off", 1, 10_000),
        None,
        at(100),
    );
    assert_eq!(
        tracker.get(&observed.series).map(|s| s.last_seen),
        Some(at(100))
    );
}

#[test]
fn patterns_merge_objects_and_count_them() {
    let mut tracker = tracker();
    for (i, pod) in [
        "web-7d9f8b6c5d-x2x4q",
        "web-7d9f8b6c5d-kq5hh",
        "web-7d9f8b6c5d-bcdfg",
    ]
    .iter()
    .enumerate()
    {
        let message = format!("Back-off restarting failed container web in pod {pod}");
        tracker.observe(
            "",
            &event(&format!("{pod}.1"), pod, "BackOff", &message, 2, i as i64),
            None,
            at(100),
        );
        tracker.observe(
            "",
            &event(
                &format!("{pod}.2"),
                pod,
                "Unhealthy",
                "Readiness probe failed",
                1,
                1,
            ),
            None,
            at(100),
        );
    }
    let mut other_source = event(
        "x.1",
        "web-7d9f8b6c5d-x2x4q",
        "BackOff",
        "Back-off restarting failed container web in pod web-7d9f8b6c5d-x2x4q",
        1,
        50,
    );
    other_source.source_host = "node-2".into();
    tracker.observe("", &other_source, None, at(100));
    let patterns = tracker.patterns(|_| true);
    assert_eq!(patterns.len(), 2);
    let back_off = &patterns[0];
    assert_eq!(
        back_off.template,
        "Back-off restarting failed container web in pod web-<pod>"
    );
    assert_eq!(
        (back_off.series, back_off.objects, back_off.count),
        (4, 3, 7)
    );
    assert_eq!(back_off.last_seen, at(50));
    assert_eq!(
        (patterns[1].reason.as_str(), patterns[1].objects),
        ("Unhealthy", 3)
    );
    assert!(tracker.patterns(|s| s.key().reason == "Nothing").is_empty());
}

#[test]
fn series_ids_round_trip_as_hex() {
    let mut tracker = tracker();
    let observed = tracker.observe(
        "",
        &event("a.1", "a", "BackOff", "Back-off", 1, 1),
        None,
        at(100),
    );
    let text = observed.series.to_string();
    assert_eq!(text.len(), 32);
    assert_eq!(text.parse::<SeriesId>(), Ok(observed.series));
    assert!("xyz".parse::<SeriesId>().is_err());
}
