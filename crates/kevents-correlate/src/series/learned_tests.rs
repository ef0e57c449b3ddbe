//! Series with learned templates: identifiers the masking rules miss do not split a series.

use super::tests::{at, event, tracker};
use crate::miner::tests::kubelet_messages;
use std::collections::BTreeMap;

fn counts(tracker: &super::SeriesTracker) -> BTreeMap<String, u64> {
    tracker
        .iter()
        .map(|s| (format!("{} {}", s.id, s.key().template), s.count))
        .collect()
}

#[test]
fn thirty_kubelet_messages_differing_in_a_short_id_are_one_series() {
    let mut tracker = tracker();
    let mut merged = 0;
    for (i, message) in kubelet_messages().iter().enumerate() {
        let record = event(
            &format!("web-0.{i}"),
            "web-0",
            "FailedSync",
            message,
            1,
            i as i64,
        );
        merged += tracker.observe("", &record, None, at(100)).merged.len();
    }
    assert_eq!(tracker.len(), 1, "{:?}", counts(&tracker));
    let series = tracker.iter().next().expect("one series");
    assert_eq!(series.count, 30);
    assert_eq!(series.objects, 30);
    assert_eq!(
        series.key().template,
        "Error syncing pod, skipping: failed to \"*\" for \"*\" <*>"
    );
    assert_eq!(series.history.total(), 30);
    assert_eq!(
        merged, 1,
        "the first message's series ends once, into the generalised one"
    );
}

#[test]
fn a_wildcard_moves_the_series_of_every_object_with_the_old_template() {
    let mut tracker = tracker();
    let first = "Failed to mount (1ac-7)";
    tracker.observe(
        "",
        &event("a.1", "a", "FailedMount", first, 2, 1),
        None,
        at(100),
    );
    tracker.observe(
        "",
        &event("b.1", "b", "FailedMount", first, 3, 2),
        None,
        at(100),
    );
    let other = "Failed to mount (9f-2)";
    let observed = tracker.observe(
        "",
        &event("a.2", "a", "FailedMount", other, 1, 3),
        None,
        at(100),
    );
    assert_eq!(observed.merged.len(), 2);
    let held: usize = tracker.iter().map(|s| s.text.bytes()).sum();
    assert_eq!(
        tracker.text_bytes(),
        held,
        "merging keeps the byte count exact"
    );
    let templates: Vec<(String, u64)> = tracker
        .iter()
        .map(|s| {
            (
                format!("{} {}", s.key().object.name, s.key().template),
                s.count,
            )
        })
        .collect::<BTreeMap<_, _>>()
        .into_iter()
        .collect();
    assert_eq!(
        templates,
        vec![
            ("a Failed to mount <*>".into(), 3),
            ("b Failed to mount <*>".into(), 3)
        ]
    );
    let successor_of_b = observed
        .merged
        .iter()
        .find(|(old, _)| old.key().object.name == "b")
        .map(|&(_, successor)| successor);
    let b = event("b.9", "b", "FailedMount", first, 1, 4);
    assert_eq!(
        Some(tracker.series_id("", &b)),
        successor_of_b,
        "the old message now names the new series"
    );
}

#[test]
fn a_rebuild_in_another_order_gives_the_same_series() {
    let events: Vec<_> = kubelet_messages()
        .iter()
        .enumerate()
        .map(|(i, m)| {
            event(
                &format!("p.{i}"),
                &format!("p{}", i % 3),
                "FailedSync",
                m,
                1,
                i as i64,
            )
        })
        .collect();
    let mut forward = tracker();
    for e in &events {
        forward.observe("", e, None, at(100));
    }
    let mut backward = tracker();
    for e in events.iter().rev() {
        backward.observe("", e, None, at(100));
    }
    assert_eq!(forward.len(), 3);
    assert_eq!(counts(&forward), counts(&backward));
}
