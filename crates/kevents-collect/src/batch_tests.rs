use super::*;
use std::time::Duration;

fn event(version: u64, listed: bool, received: Instant) -> Observation {
    Observation::Event {
        json: format!("{{\"rv\":{version}}}").into_bytes(),
        resource_version: Some(version),
        listed,
        received,
    }
}

fn versions(batch: &Batch) -> Vec<String> {
    batch
        .events
        .iter()
        .map(|e| String::from_utf8_lossy(e).into_owned())
        .collect()
}

fn limits(max_events: usize) -> BatchLimits {
    BatchLimits {
        max_events,
        max_bytes: 1 << 20,
    }
}

#[test]
fn list_cursor_is_claimed_only_when_the_list_is_complete() {
    let now = Instant::now();
    let mut batcher = Batcher::new(limits(100), None);
    assert_eq!(batcher.observe(Observation::ListStarted), Accepted::Skipped);
    // Listed in key order, not version order.
    for version in [7, 3, 9, 5] {
        assert_eq!(batcher.observe(event(version, true, now)), Accepted::Queued);
    }
    let partial = batcher.take();
    assert_eq!(partial.events.len(), 4);
    assert_eq!(partial.cursor, None, "no cursor before the list is done");
    batcher.acknowledge(&partial, None);
    assert_eq!(batcher.observe(Observation::ListDone), Accepted::Queued);
    let done = batcher.take();
    assert!(done.events.is_empty());
    assert_eq!(done.cursor, Some(9));
}

#[test]
fn relist_after_restart_skips_what_the_hub_cursor_covers() {
    let now = Instant::now();
    let mut batcher = Batcher::new(limits(100), Some(6));
    batcher.observe(Observation::ListStarted);
    let accepted: Vec<_> = [7, 3, 9, 5, 6]
        .into_iter()
        .map(|v| batcher.observe(event(v, true, now)))
        .collect();
    assert_eq!(
        accepted,
        [
            Accepted::Queued,
            Accepted::Skipped,
            Accepted::Queued,
            Accepted::Skipped,
            Accepted::Skipped
        ]
    );
    batcher.observe(Observation::ListDone);
    let batch = batcher.take();
    assert_eq!(versions(&batch), ["{\"rv\":7}", "{\"rv\":9}"]);
    assert_eq!(batch.cursor, Some(9));
}

#[test]
fn skipped_list_items_still_count_toward_the_list_cursor() {
    let now = Instant::now();
    let mut batcher = Batcher::new(limits(100), Some(10));
    batcher.observe(Observation::ListStarted);
    batcher.observe(event(4, true, now));
    batcher.observe(event(12, true, now));
    batcher.observe(Observation::ListDone);
    let batch = batcher.take();
    assert_eq!(batch.cursor, Some(12));
    batcher.acknowledge(&batch, Some(12));
    // A list whose newest item the hub already covers claims nothing.
    batcher.observe(Observation::ListStarted);
    batcher.observe(event(12, true, now));
    assert_eq!(batcher.observe(Observation::ListDone), Accepted::Skipped);
    assert!(!batcher.has_pending());
}

#[test]
fn watched_changes_carry_their_own_version_as_cursor() {
    let now = Instant::now();
    let mut batcher = Batcher::new(limits(100), Some(9));
    batcher.observe(event(10, false, now));
    batcher.observe(event(11, false, now));
    let batch = batcher.take();
    assert_eq!(batch.cursor, Some(11));
    batcher.acknowledge(&batch, Some(11));
    // A replayed change (a watch resumed from an older version) is not sent again.
    assert_eq!(batcher.observe(event(11, false, now)), Accepted::Skipped);
    assert_eq!(batcher.observe(event(12, false, now)), Accepted::Queued);
    assert_eq!(batcher.take().cursor, Some(12));
}

#[test]
fn cursor_never_moves_back_when_a_relist_has_older_items() {
    let now = Instant::now();
    let mut batcher = Batcher::new(limits(100), None);
    batcher.observe(event(20, false, now));
    // The source expired the newest event; the relist's largest version is older.
    batcher.observe(Observation::ListStarted);
    batcher.observe(event(15, true, now));
    batcher.observe(Observation::ListDone);
    let batch = batcher.take();
    assert_eq!(batch.events.len(), 2);
    assert_eq!(batch.cursor, Some(20));
}

#[test]
fn events_without_a_numeric_version_are_sent_but_never_become_a_cursor() {
    let now = Instant::now();
    let mut batcher = Batcher::new(limits(100), Some(5));
    let accepted = batcher.observe(Observation::Event {
        json: b"{}".to_vec(),
        resource_version: None,
        listed: false,
        received: now,
    });
    assert_eq!(accepted, Accepted::Queued);
    let batch = batcher.take();
    assert_eq!(batch.events.len(), 1);
    assert_eq!(batch.cursor, None);
}

#[test]
fn a_full_batch_asks_to_be_sent_by_count_or_by_bytes() {
    let now = Instant::now();
    let mut batcher = Batcher::new(limits(3), None);
    assert_eq!(batcher.observe(event(1, false, now)), Accepted::Queued);
    assert_eq!(batcher.observe(event(2, false, now)), Accepted::Queued);
    assert_eq!(batcher.observe(event(3, false, now)), Accepted::Full);
    assert_eq!(batcher.take().events.len(), 3);
    let mut by_bytes = Batcher::new(
        BatchLimits {
            max_events: 100,
            max_bytes: 16,
        },
        None,
    );
    assert_eq!(by_bytes.observe(event(1, false, now)), Accepted::Queued);
    assert_eq!(by_bytes.observe(event(2, false, now)), Accepted::Full);
}

#[test]
fn oldest_pending_is_the_first_received_and_resets_on_take() {
    let first = Instant::now();
    let later = first + Duration::from_secs(5);
    let mut batcher = Batcher::new(limits(100), None);
    assert_eq!(batcher.oldest_pending(), None);
    batcher.observe(event(1, false, first));
    batcher.observe(event(2, false, later));
    assert_eq!(batcher.oldest_pending(), Some(first));
    let batch = batcher.take();
    assert_eq!(batch.oldest, Some(first));
    assert_eq!(batcher.oldest_pending(), None);
    // Skipped events are not waiting for anything.
    batcher.acknowledge(&batch, Some(2));
    batcher.observe(event(2, false, later));
    assert_eq!(batcher.oldest_pending(), None);
}

#[test]
fn hub_answer_wins_even_when_it_is_lower() {
    let now = Instant::now();
    let mut batcher = Batcher::new(limits(100), Some(50));
    batcher.observe(event(51, false, now));
    let batch = batcher.take();
    // A hub that lost its data answers with the cursor it really has.
    batcher.acknowledge(&batch, Some(0));
    assert_eq!(batcher.acknowledged(), Some(0));
    assert_eq!(batcher.observe(event(30, true, now)), Accepted::Queued);
    // Without an answer, the sent cursor is assumed stored.
    let mut quiet = Batcher::new(limits(100), Some(5));
    quiet.observe(event(8, false, now));
    let batch = quiet.take();
    quiet.acknowledge(&batch, None);
    assert_eq!(quiet.acknowledged(), Some(8));
}

#[test]
fn body_is_the_ingest_contract() {
    let batch = Batch {
        events: vec![b"{\"a\":1}".to_vec(), b"{\"b\":2}".to_vec()],
        cursor: Some(42),
        oldest: None,
        list: None,
    };
    let body: serde_json::Value = serde_json::from_slice(&batch.body(1.25)).expect("valid JSON");
    assert_eq!(
        body,
        serde_json::json!({"events": [{"a": 1}, {"b": 2}], "cursor": "42", "lagSeconds": 1.25})
    );
    let heartbeat = Batch {
        events: vec![],
        cursor: None,
        oldest: None,
        list: None,
    };
    assert!(heartbeat.is_empty());
    let body: serde_json::Value = serde_json::from_slice(&heartbeat.body(0.0)).expect("valid JSON");
    assert_eq!(body, serde_json::json!({"events": [], "lagSeconds": 0.0}));
}

#[test]
fn a_list_report_rides_the_next_batch_and_survives_a_failed_send() {
    use crate::gap::{Gap, ListReport};
    use kevents_model::Micros;
    let report = ListReport {
        relist: true,
        events: 60,
        oldest: Some(Micros(90_000_000)),
        gap: Some(Gap {
            from: Micros(0),
            to: Micros(90_000_000),
            lost_events: 90,
        }),
    };
    let mut batcher = Batcher::new(BatchLimits::default(), Some(7));
    assert_eq!(
        batcher.observe(Observation::Listed(report)),
        Accepted::Queued
    );
    assert!(batcher.has_pending());
    let batch = batcher.take();
    assert!(!batch.is_empty());
    let body: serde_json::Value = serde_json::from_slice(&batch.body(0.0)).expect("valid JSON");
    assert_eq!(body["list"]["gap"]["lostEvents"], 90);
    assert_eq!(body["list"]["relist"], true);
    // The hub did not take it: the report goes out with the next batch.
    batcher.requeue(&batch);
    assert_eq!(batcher.take().list, Some(report));
    assert_eq!(batcher.take().list, None);
}
