//! Gaps: spans of a source's history the collector never saw and the source had already
//! forgotten when the collector came back.
//!
//! While its watch is open the collector sees every change. When it comes back after being away
//! (stopped, or a watch that ended in `410 Gone`), it lists the source. An apiserver keeps an
//! event for its `--event-ttl` after its last update, so if the oldest event the list returns
//! was last updated after the moment the collector was last in sync, everything that happened
//! in between and was not updated since is gone: that span is a gap. How many events it held is
//! estimated from the source's event rate over the span it still holds.

use kevents_model::Micros;
use serde::{Deserialize, Serialize};

/// A span the source forgot before the collector saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Gap {
    /// When the collector was last in sync with the source.
    pub from: Micros,
    /// The last update of the oldest event the source still held when the collector listed it.
    pub to: Micros,
    /// Events the span probably held: the source's rate over what it still holds, times the span.
    pub lost_events: u64,
}

/// What one list of the source found, reported to the hub with the list's cursor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListReport {
    /// A list after the first one of this collector process (after `410 Gone` or a broken
    /// watch that could not resume).
    pub relist: bool,
    /// Events the list returned.
    pub events: u64,
    /// The last update of the oldest of them.
    #[serde(default)]
    pub oldest: Option<Micros>,
    /// The span the source forgot before this list, if any.
    #[serde(default)]
    pub gap: Option<Gap>,
}

/// Spans shorter than this are clock noise between the hub's and the source's clocks.
const MIN_GAP_MICROS: i64 = 2_000_000;

/// The gap between being in sync at `in_sync_until` and a list whose oldest event was last
/// updated at `oldest`, taken at `now` with `listed` events; `None` when there is none.
pub fn find_gap(in_sync_until: Micros, oldest: Micros, listed: u64, now: Micros) -> Option<Gap> {
    let span = oldest.0 - in_sync_until.0;
    if span < MIN_GAP_MICROS || listed == 0 {
        return None;
    }
    // What the source still holds covers [oldest, now]: its density there is the best guess
    // for the span it forgot.
    let held = (now.0 - oldest.0).max(1_000_000) as f64;
    let lost_events = (listed as f64 * span as f64 / held).round() as u64;
    (lost_events > 0).then_some(Gap {
        from: in_sync_until,
        to: oldest,
        lost_events,
    })
}

/// Follows the watcher's lists and watched changes and reports each list's gap.
#[derive(Debug)]
pub struct ListTracker {
    /// The last moment the collector is known to have seen everything the source had.
    in_sync_until: Option<Micros>,
    lists: u64,
    listing: Option<Listing>,
}

#[derive(Debug)]
struct Listing {
    in_sync_until: Option<Micros>,
    oldest: Option<Micros>,
    events: u64,
}

impl ListTracker {
    /// A tracker for a collector whose cluster the hub last heard from at `last_contact`.
    pub fn new(last_contact: Option<Micros>) -> ListTracker {
        ListTracker {
            in_sync_until: last_contact,
            lists: 0,
            listing: None,
        }
    }

    /// A list starts.
    pub fn list_started(&mut self) {
        self.listing = Some(Listing {
            in_sync_until: self.in_sync_until,
            oldest: None,
            events: 0,
        });
    }

    /// One listed event, last updated at `last_update` (source clock).
    pub fn listed(&mut self, last_update: Option<Micros>) {
        if let Some(listing) = &mut self.listing {
            listing.events += 1;
            listing.oldest = match (listing.oldest, last_update) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
        }
    }

    /// The list is complete at `now`: what it found.
    pub fn list_done(&mut self, now: Micros) -> Option<ListReport> {
        let listing = self.listing.take()?;
        self.lists += 1;
        self.in_sync_until = Some(now);
        let gap = match (listing.in_sync_until, listing.oldest) {
            (Some(in_sync), Some(oldest)) => find_gap(in_sync, oldest, listing.events, now),
            _ => None,
        };
        Some(ListReport {
            relist: self.lists > 1,
            events: listing.events,
            oldest: listing.oldest,
            gap,
        })
    }

    /// A watched change (or the watch going on) at `now`: in sync until then.
    pub fn watched(&mut self, now: Micros) {
        if self.listing.is_none() {
            self.in_sync_until = Some(now);
        }
    }
}

/// When the source last updated an event: the latest of its `lastTimestamp`, `eventTime`,
/// `series.lastObservedTime` and `metadata.creationTimestamp` (the TTL runs from there).
pub fn last_update(event: &serde_json::Value) -> Option<Micros> {
    [
        event.get("lastTimestamp"),
        event.get("eventTime"),
        event.pointer("/series/lastObservedTime"),
        event.pointer("/metadata/creationTimestamp"),
    ]
    .into_iter()
    .flatten()
    .filter_map(|v| Micros::parse(v.as_str()?))
    .max()
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: i64 = 1_000_000;

    fn at(seconds: i64) -> Micros {
        Micros(1_700_000_000 * S + seconds * S)
    }

    #[test]
    fn a_list_that_still_holds_the_outage_has_no_gap() {
        // Away from 100 s to 130 s, the source keeps an hour: its oldest event is older.
        assert_eq!(find_gap(at(100), at(-3000), 500, at(130)), None);
    }

    #[test]
    fn a_forgotten_span_is_a_gap_with_the_rate_of_what_is_left() {
        // In sync until 0, back at 150 s with a 60 s TTL: the source holds [90, 150] with 60
        // events (one a second), so [0, 90] held about 90.
        let gap = find_gap(at(0), at(90), 60, at(150)).expect("a gap");
        assert_eq!(gap.from, at(0));
        assert_eq!(gap.to, at(90));
        assert_eq!(gap.lost_events, 90);
    }

    #[test]
    fn clock_noise_and_empty_sources_are_no_gap() {
        assert_eq!(find_gap(at(0), at(1), 60, at(150)), None);
        assert_eq!(find_gap(at(0), at(90), 0, at(150)), None);
    }

    #[test]
    fn the_tracker_measures_from_the_last_moment_in_sync() {
        let mut tracker = ListTracker::new(Some(at(0)));
        tracker.list_started();
        for second in 90..150 {
            tracker.listed(Some(at(second)));
        }
        let first = tracker.list_done(at(150)).expect("a report");
        assert!(!first.relist);
        assert_eq!(first.events, 60);
        assert_eq!(first.oldest, Some(at(90)));
        assert_eq!(first.gap.map(|g| g.lost_events), Some(90));
        // Watched until 200, then a relist that still finds events from 199: no gap.
        tracker.watched(at(200));
        tracker.list_started();
        tracker.watched(at(205));
        tracker.listed(Some(at(199)));
        let second = tracker.list_done(at(206)).expect("a report");
        assert!(second.relist);
        assert_eq!(second.gap, None);
    }

    #[test]
    fn without_a_last_contact_nothing_is_called_lost() {
        let mut tracker = ListTracker::new(None);
        tracker.list_started();
        tracker.listed(Some(at(90)));
        assert_eq!(tracker.list_done(at(150)).and_then(|r| r.gap), None);
    }

    #[test]
    fn last_update_takes_the_latest_source_time() {
        let event = serde_json::json!({
            "metadata": {"creationTimestamp": "2026-01-02T03:00:00Z"},
            "lastTimestamp": "2026-01-02T03:05:00Z",
            "eventTime": null,
        });
        assert_eq!(last_update(&event), Micros::parse("2026-01-02T03:05:00Z"));
        assert_eq!(last_update(&serde_json::json!({})), None);
    }
}
