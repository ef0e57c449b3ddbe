//! Rebuilding the engine's groups from the stored events after a start, instead of keeping
//! them in a file: a rule only looks back a bounded time (its window, its quiet time, its
//! `lasting`), so only events last seen within that horizon count. The store is read once, a
//! page at a time ([`Store::read_pages`], shared with the other rebuilds of the hub); a page
//! counts the events whose last write is at or before `from` (the version the change feed is
//! followed after), and the changes the feed delivers meanwhile are held and counted after.
//!
//! Pages are read at different versions while writes go on. The first held change of a key
//! carries the key's state at `from` as its `previous`: if the page that covered the key was
//! read before that change, the page saw (and kept) that state; otherwise the page saw a later
//! version or nothing, and the state at `from` is kept from the change instead.
//!
//! Nothing read is held: a group gives the same answer whatever the order its occurrences are
//! counted in (see `group.rs`), so each page is counted as it comes, in key order, and memory
//! stays that of the groups whatever the store holds.
//!
//! A rebuilt event's occurrences count at its last write, except the first, placed where the
//! event says its repeats began.

use super::engine::{RuleEngine, State};
use super::rule::{Condition, Rule};
use crate::occurrences::occurrences_added;
use kevents_model::{EventKey, Micros};
use kevents_store::{ReadPages, StoredEvent};
use std::collections::HashSet;
use std::sync::Arc;

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

/// A rebuild in progress: which stored events it counts.
pub struct Rebuild {
    /// The version the change feed is followed after.
    from: u64,
    /// Events last seen before this are past every rule's horizon.
    seen_from: Micros,
    /// Stored events counted so far.
    counted: usize,
}

impl Rebuild {
    /// Stored events counted (as of `from`, within the horizon, matched by some rule).
    pub fn counted(&self) -> usize {
        self.counted
    }
}

impl RuleEngine {
    /// Starts holding the followed changes: call before the feed is followed, then
    /// [`RuleEngine::rebuild_from`], each page, and [`RuleEngine::end_rebuild`]. The engine
    /// does not evaluate until then.
    pub fn begin_rebuild(&self) {
        self.state.lock().rebuilding = Some(Vec::new());
    }

    /// A rebuild of the events stored as of version `from` (the version the feed is followed
    /// after) and last seen within the rules' horizon before `now`: hand it every page of a
    /// full read ([`RuleEngine::rebuild_page`]), then end it ([`RuleEngine::end_rebuild`]).
    pub fn rebuild_from(&self, from: u64, now: Micros) -> Rebuild {
        let longest = self.rules.lock().iter().map(horizon).max().unwrap_or(0);
        Rebuild {
            from,
            seen_from: Micros(now.0 - longest - CLOCK_SLACK),
            counted: 0,
        }
    }

    /// Counts the events of one page of the read that are as of the rebuild's version.
    pub fn rebuild_page(&self, rebuild: &mut Rebuild, events: &[Arc<StoredEvent>]) {
        let rules = self.rules.lock();
        let mut state = self.state.lock();
        for event in events {
            if event.record.resource_version <= rebuild.from {
                self.count_stored(rebuild, &rules, &mut state, event);
            }
        }
    }

    /// Counts a stored event's occurrences if it was last seen within the horizon: the first
    /// where its repeats began (as far before its last write as the event's own timestamps
    /// say), the others at its last write.
    fn count_stored(
        &self,
        rebuild: &mut Rebuild,
        rules: &[Rule],
        state: &mut State,
        event: &StoredEvent,
    ) {
        let record = &event.record;
        if record.seen_at() < rebuild.seen_from || !self.counted_by_any(rules, record) {
            return;
        }
        rebuild.counted += 1;
        let total = record.occurrences().max(1) as u64;
        let began = record
            .first_timestamp
            .or(record.event_time)
            .or(record.creation_timestamp);
        let span = began.map_or(0, |began| (record.seen_at().0 - began.0).max(0));
        let last = event.updated_at;
        if total > 1 && span > 0 {
            self.record(rules, state, record, Micros(last.0 - span), 1);
            self.record(rules, state, record, last, total - 1);
        } else {
            self.record(rules, state, record, last, total);
        }
    }

    /// Ends a rebuild that stopped early (the hub is stopping): the feed counts directly.
    pub fn abandon_rebuild(&self) {
        self.state.lock().rebuilding = None;
    }

    /// Keeps `token` (say, what reports the alert groups as rebuilding) until the first
    /// evaluation after the rebuild has been published ([`RuleEngine::settled`]): until then
    /// the firing alerts are those from before the restart, not yet the rebuilt ones.
    pub fn hold_until_evaluated(&self, token: Box<dyn Send>) {
        self.state.lock().until_evaluated = Some(token);
    }

    /// Resolves once a rebuild has ended (at once if one ended since the last call): the
    /// alerting loop evaluates then rather than at its next tick.
    pub async fn rebuilt(&self) {
        self.rebuilt.notified().await
    }

    /// Called by the alerting loop after each evaluation's alerts are published, or when
    /// nothing was due: drops what [`RuleEngine::hold_until_evaluated`] kept, unless a rebuild
    /// is still going on.
    pub fn settled(&self) {
        let token = {
            let mut state = self.state.lock();
            if state.rebuilding.is_some() {
                return;
            }
            state.until_evaluated.take()
        };
        drop(token);
    }

    /// Ends `rebuild` once every page of the read went through [`RuleEngine::rebuild_page`]
    /// (`pages`: when each was read): counts the changes held meanwhile and returns to
    /// counting the feed directly.
    pub fn end_rebuild(&self, mut rebuild: Rebuild, pages: &ReadPages) {
        let rules = self.rules.lock();
        let mut state = self.state.lock();
        let held = state.rebuilding.take().unwrap_or_default();
        let held: Vec<_> = held
            .into_iter()
            .filter(|c| c.resource_version > rebuild.from)
            .collect();
        // Keys changed meanwhile whose page came after the change: their state at `from`.
        let mut first_seen: HashSet<EventKey> = HashSet::new();
        for change in &held {
            let key = change.object.record.key();
            if first_seen.contains(&key) {
                continue;
            }
            if let Some(previous) = &change.previous {
                if !pages.read_before(&key, change.resource_version) {
                    self.count_stored(&mut rebuild, &rules, &mut state, previous);
                }
            }
            first_seen.insert(key);
        }
        for change in &held {
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
        // Evaluated even if nothing was counted: the alerts restored from before the restart
        // are answered for.
        state.changed = true;
        drop(state);
        drop(rules);
        self.rebuilt.notify_one();
    }
}
