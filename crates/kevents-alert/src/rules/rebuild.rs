//! Rebuilding the engine's groups from the stored events after a start, instead of keeping
//! them in a file: a rule only looks back a bounded time (its window, its quiet time, its
//! `lasting`), so only events last seen within that horizon are read, as of the version the
//! change feed is followed from. Changes the feed delivers meanwhile are held and counted after.
//!
//! Only events some rule counts are held for the replay (the others would cost memory in
//! proportion to everything stored within the horizon).
//!
//! A rebuilt event's occurrences count at its last write, except the first, placed where the
//! event says its repeats began; an event deleted while the rebuild runs is not counted.

use super::engine::RuleEngine;
use super::rule::{Condition, Rule};
use crate::occurrences::occurrences_added;
use kevents_model::{EventKey, Micros};
use kevents_store::{ListQuery, Store, StoredEvent, TimeWindow};
use std::sync::Arc;

/// Events read per page (the store's read lock is held for one page).
const PAGE: usize = 5_000;

/// Extra look-back for clients whose clocks run behind the hub's.
const CLOCK_SLACK: i64 = 10 * 60 * 1_000_000;

/// How far back `rule` looks from now.
fn horizon(rule: &Rule) -> i64 {
    let looks_back = match rule.condition {
        Condition::Lasting(span) => span,
        ref windowed => windowed.window(),
    };
    looks_back.max(rule.resolve_after) + rule.hold
}

impl RuleEngine {
    /// Starts holding the followed changes: call before the feed is followed, then
    /// [`RuleEngine::finish_rebuild`]. The engine does not evaluate until then.
    pub fn begin_rebuild(&self) {
        self.state.lock().rebuilding = Some(Vec::new());
    }

    /// Counts the events stored as of version `from` (the version the feed is followed after)
    /// and last seen within the rules' horizon before `now`, then the changes held meanwhile,
    /// and returns to counting the feed directly. `keep_going` is asked between pages (false:
    /// the hub is stopping). Returns the events read.
    pub fn finish_rebuild(
        &self,
        store: &Store,
        from: u64,
        now: Micros,
        keep_going: impl Fn() -> bool,
    ) -> usize {
        let longest = self.rules.lock().iter().map(horizon).max().unwrap_or(0);
        let seen = TimeWindow {
            from: Some(Micros(now.0 - longest - CLOCK_SLACK)),
            to: None,
        };
        let mut occurrences: Vec<(Micros, u64, Arc<StoredEvent>)> = Vec::new();
        let mut after: Option<EventKey> = None;
        let mut read = 0;
        let mut at = Some(from);
        loop {
            let query = ListQuery {
                limit: Some(PAGE),
                start_after: after.as_ref(),
                at,
                seen: Some(seen),
                ..Default::default()
            };
            let page = match store.list(query, |_| true) {
                Ok(page) => page,
                Err(_) => {
                    tracing::warn!(
                        from,
                        "the rule engine's rebuild fell behind the retained history; events \
                         changed meanwhile may count twice"
                    );
                    at = None;
                    continue;
                }
            };
            read += page.items.len();
            let rules = self.rules.lock();
            for event in page.items {
                // Only what some rule counts is held until the replay.
                if event.record.resource_version <= from
                    && self.counted_by_any(&rules, &event.record)
                {
                    place(&mut occurrences, event);
                }
            }
            drop(rules);
            if !keep_going() {
                self.state.lock().rebuilding = None;
                return read;
            }
            match page.continue_after {
                Some(last) => after = Some(last),
                None => break,
            }
        }
        occurrences.sort_by_key(|(at, _, _)| *at);
        let rules = self.rules.lock();
        let mut state = self.state.lock();
        for (at, added, event) in &occurrences {
            self.record(&rules, &mut state, &event.record, *at, *added);
        }
        let held = state.rebuilding.take().unwrap_or_default();
        for change in held.iter().filter(|c| c.resource_version > from) {
            let added = occurrences_added(change);
            if added > 0 {
                self.record(
                    &rules,
                    &mut state,
                    &change.object.record,
                    change.committed_at,
                    added,
                );
            }
        }
        read
    }
}

/// Places a stored event's occurrences in time: the first where its repeats began (as far
/// before its last write as the event's own timestamps say), the others at its last write.
fn place(occurrences: &mut Vec<(Micros, u64, Arc<StoredEvent>)>, event: Arc<StoredEvent>) {
    let record = &event.record;
    let total = record.occurrences().max(1) as u64;
    let began = record
        .first_timestamp
        .or(record.event_time)
        .or(record.creation_timestamp);
    let span = began.map_or(0, |began| (record.seen_at().0 - began.0).max(0));
    let last = event.updated_at;
    if total > 1 && span > 0 {
        occurrences.push((Micros(last.0 - span), 1, event.clone()));
        occurrences.push((last, total - 1, event));
    } else {
        occurrences.push((last, total, event));
    }
}
