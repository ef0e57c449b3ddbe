//! Property tests of the tracker: exact counts under any updates, rebuilds, eviction order.

use super::tests::{at, event, tracker};
use super::*;
use proptest::prelude::*;
use std::collections::HashMap;

const MESSAGES: [&str; 4] = [
    "Back-off 10s restarting",
    "Back-off 2m0s restarting",
    "Liveness probe failed",
    "Pulled in 1.5s",
];

/// (event index, new count increase, message index, seconds)
fn operations() -> impl Strategy<Value = Vec<(usize, i32, usize, i64)>> {
    proptest::collection::vec((0usize..12, 0i32..4, 0usize..4, 0i64..20_000), 1..200)
}

proptest! {
    #[test]
    fn series_counts_add_up_to_the_events_counts(ops in operations()) {
        let mut tracker = tracker();
        let mut live: HashMap<usize, EventRecord> = HashMap::new();
        for (index, raise, message, seconds) in ops {
            let previous = live.get(&index).cloned();
            let count = previous.as_ref().map_or(raise.max(1), |p| p.count + raise);
            let pod = format!("pod-{}", index % 3);
            let next = event(&format!("e.{index}"), &pod, "BackOff", MESSAGES[message], count, seconds);
            tracker.observe("", &next, previous.as_ref(), at(20_000));
            live.insert(index, next);
        }
        let total: u64 = tracker.iter().map(|s| s.count).sum();
        let expected: u64 = live.values().map(|e| e.occurrences() as u64).sum();
        prop_assert_eq!(total, expected);
        for series in tracker.iter() {
            prop_assert_eq!(series.history.total(), series.count);
        }

        // Rebuilding from a scan of the final events gives the same total.
        let mut rebuilt = SeriesTracker::new(SeriesConfig::default());
        for event in live.values() {
            rebuilt.observe("", event, None, at(20_000));
        }
        prop_assert_eq!(rebuilt.iter().map(|s| s.count).sum::<u64>(), expected);
        prop_assert_eq!(rebuilt.iter().map(|s| s.objects).sum::<u64>(), live.len() as u64);
    }
}

proptest! {
    #[test]
    fn the_cap_always_evicts_a_series_seen_longest_ago(
        seen in proptest::collection::vec((0usize..40, 0i64..600), 1..300),
    ) {
        let mut tracker = SeriesTracker::new(SeriesConfig { max_series: 8, ..SeriesConfig::default() });
        let mut live: HashMap<usize, EventRecord> = HashMap::new();
        for (object, minute) in seen {
            let pod = format!("pod-{object}");
            let previous = live.get(&object).cloned();
            let count = previous.as_ref().map_or(1, |p| p.count + 1);
            let next = event(&format!("e.{object}"), &pod, "BackOff", "Back-off", count, minute * 60);
            let before: Vec<(i64, SeriesId)> = tracker.iter().map(|s| (s.last_seen.0 / 60_000_000, s.id)).collect();
            let observed = tracker.observe("", &next, previous.as_ref(), at(600 * 60));
            if let Some(evicted) = observed.evicted.first() {
                let oldest = before.iter().map(|(m, _)| *m).min();
                prop_assert_eq!(Some(evicted.last_seen.0 / 60_000_000), oldest);
            }
            prop_assert!(tracker.len() <= 8);
            live.insert(object, next);
        }
    }

    #[test]
    fn series_text_stays_within_max_bytes(
        seen in proptest::collection::vec((0usize..40, 0usize..3000), 1..200),
    ) {
        let max_bytes = 16 << 10;
        let mut tracker = SeriesTracker::new(SeriesConfig { max_bytes, ..SeriesConfig::default() });
        let mut live: HashMap<usize, EventRecord> = HashMap::new();
        for (step, (object, length)) in seen.into_iter().enumerate() {
            let previous = live.get(&object).cloned();
            let count = previous.as_ref().map_or(1, |p| p.count + 1);
            let message = format!("{object} {}", "m".repeat(length));
            let next = event(&format!("e.{object}"), &format!("pod-{object}"), "R", &message, count, step as i64);
            let observed = tracker.observe("", &next, previous.as_ref(), at(10_000));
            let own = tracker.get(&observed.series).map_or(0, |s| s.latest_message().len() * 2 + 1024);
            let counted: usize = tracker.iter().map(|s| s.text.bytes()).sum();
            prop_assert_eq!(counted, tracker.text_bytes());
            prop_assert!(tracker.text_bytes() <= max_bytes.max(own), "{} bytes", tracker.text_bytes());
            live.insert(object, next);
        }
    }
}
