//! Update policies: which changes of an event a sink receives. A pure state machine: it takes
//! changes and the time, and answers with emissions and held feed positions, so restarts and
//! the cursor stay correct (a held change keeps the cursor below it until it is sent).

use crate::delivery::Emission;
use kevents_model::{EventKey, Micros};
use kevents_store::StoredEvent;
use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

/// A policy with its settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Policy {
    /// Every create and update is sent.
    EveryUpdate,
    /// Creates at once; updates are collected and the latest state of each changed event is
    /// sent once per interval (microseconds).
    FirstAndSummary {
        /// The summary interval.
        interval: i64,
    },
    /// An event is sent once it has not changed for the quiet period (microseconds), or when
    /// it is deleted.
    SeriesFinal {
        /// The quiet period.
        quiet: i64,
    },
}

/// What kind of change the policy sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeKind {
    /// The event was created.
    Created,
    /// The event was updated.
    Updated,
    /// The event was deleted (or expired).
    Deleted,
}

/// What the engine must do.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Send this event now; the position stays owed until the sink acknowledges.
    Emit(Arc<StoredEvent>, Emission, u64),
    /// The position is owed: the policy holds the change back.
    Hold(u64),
    /// The position is no longer owed (its hold was superseded or turned into an `Emit`).
    Release(u64),
}

#[derive(Debug)]
struct Held {
    event: Arc<StoredEvent>,
    position: u64,
    last_change: Micros,
}

/// The policy's state: events held back, keyed by event and by position.
#[derive(Debug)]
pub struct PolicyState {
    policy: Policy,
    max_held: usize,
    max_held_bytes: usize,
    held: HashMap<EventKey, Held>,
    /// Bytes of the held events (`EventRecord::approximate_bytes`).
    held_bytes: usize,
    /// Held events sent before they were due, to stay within `max_held` or `max_held_bytes`,
    /// not yet counted in the metrics.
    sent_early: u64,
    /// Held events in feed order. Keyed by position *and* event: a catch-up gives every event
    /// the same position, and each of them must still come out when due.
    by_position: BTreeSet<(u64, EventKey)>,
    next_summary: Option<Micros>,
}

impl PolicyState {
    /// A fresh state; at most `max_held` events of at most `max_held_bytes` bytes together are
    /// held (the oldest are sent early past either).
    pub fn new(policy: Policy, max_held: usize, max_held_bytes: usize) -> PolicyState {
        PolicyState {
            policy,
            max_held: max_held.max(1),
            max_held_bytes,
            held: HashMap::new(),
            held_bytes: 0,
            sent_early: 0,
            by_position: BTreeSet::new(),
            next_summary: None,
        }
    }

    /// Events currently held.
    pub fn held(&self) -> usize {
        self.held.len()
    }

    /// Bytes of the events currently held (`EventRecord::approximate_bytes`).
    pub fn held_bytes(&self) -> usize {
        self.held_bytes
    }

    /// Held events sent before they were due because a bound was reached, since the last call.
    pub fn take_sent_early(&mut self) -> u64 {
        std::mem::take(&mut self.sent_early)
    }

    /// Handles a change of `event` at feed `position`, committed at `at`.
    pub fn on_change(
        &mut self,
        kind: ChangeKind,
        event: Arc<StoredEvent>,
        position: u64,
        at: Micros,
    ) -> Vec<Action> {
        let mut actions = Vec::new();
        match (self.policy, kind) {
            (Policy::EveryUpdate, ChangeKind::Created) => {
                actions.push(Action::Emit(event, Emission::First, position))
            }
            (Policy::EveryUpdate, ChangeKind::Updated) => {
                actions.push(Action::Emit(event, Emission::Update, position))
            }
            (Policy::EveryUpdate, ChangeKind::Deleted) => {}
            (Policy::FirstAndSummary { .. }, ChangeKind::Created) => {
                // A re-created event starts over: anything held for the old one is summarized.
                self.take(&event.record.key(), Emission::Summary, &mut actions);
                actions.push(Action::Emit(event, Emission::First, position));
            }
            (Policy::FirstAndSummary { .. } | Policy::SeriesFinal { .. }, ChangeKind::Updated)
            | (Policy::SeriesFinal { .. }, ChangeKind::Created) => {
                self.hold(event, position, at, &mut actions);
            }
            (Policy::FirstAndSummary { .. }, ChangeKind::Deleted) => {
                self.take(&event.record.key(), Emission::Summary, &mut actions);
            }
            (Policy::SeriesFinal { .. }, ChangeKind::Deleted) => {
                self.take(&event.record.key(), Emission::Final, &mut actions);
            }
        }
        actions
    }

    /// Emits what is due at `now`: summaries once per interval, finals after the quiet period.
    pub fn due(&mut self, now: Micros) -> Vec<Action> {
        let mut actions = Vec::new();
        match self.policy {
            Policy::EveryUpdate => {}
            Policy::FirstAndSummary { interval } => {
                let next = *self.next_summary.get_or_insert(Micros(now.0 + interval));
                if now >= next {
                    self.next_summary = Some(Micros(now.0 + interval));
                    for key in self.held_in_order() {
                        self.take(&key, Emission::Summary, &mut actions);
                    }
                }
            }
            Policy::SeriesFinal { quiet } => {
                let quiet_keys: Vec<EventKey> = self
                    .held_in_order()
                    .into_iter()
                    .filter(|key| {
                        self.held
                            .get(key)
                            .is_some_and(|h| now.0 - h.last_change.0 >= quiet)
                    })
                    .collect();
                for key in quiet_keys {
                    self.take(&key, Emission::Final, &mut actions);
                }
            }
        }
        actions
    }

    /// Sends everything held now. Only tests need it: a stopping sink sends nothing held, its
    /// cursor stays before those events and the next start sends them.
    #[cfg(test)]
    pub(crate) fn drain(&mut self) -> Vec<Action> {
        let emission = match self.policy {
            Policy::SeriesFinal { .. } => Emission::Final,
            _ => Emission::Summary,
        };
        let mut actions = Vec::new();
        for key in self.held_in_order() {
            self.take(&key, emission, &mut actions);
        }
        actions
    }

    fn hold(
        &mut self,
        event: Arc<StoredEvent>,
        position: u64,
        at: Micros,
        actions: &mut Vec<Action>,
    ) {
        let key = event.record.key();
        actions.push(Action::Hold(position));
        self.held_bytes += event.record.approximate_bytes();
        let held = Held {
            event,
            position,
            last_change: at,
        };
        if let Some(previous) = self.held.insert(key.clone(), held) {
            self.held_bytes -= previous.event.record.approximate_bytes();
            self.by_position.remove(&(previous.position, key.clone()));
            actions.push(Action::Release(previous.position));
        }
        self.by_position.insert((position, key));
        // Bounded memory beats waiting: the oldest held events go out early. The change just
        // held stays, even alone past the bytes (it is within the request limit).
        while self.held.len() > self.max_held
            || (self.held_bytes > self.max_held_bytes && self.held.len() > 1)
        {
            let Some((_, oldest)) = self.by_position.first().cloned() else {
                break;
            };
            let emission = match self.policy {
                Policy::SeriesFinal { .. } => Emission::Final,
                _ => Emission::Summary,
            };
            self.take(&oldest, emission, actions);
            self.sent_early += 1;
        }
    }

    /// The held events' keys, oldest position first.
    fn held_in_order(&self) -> Vec<EventKey> {
        self.by_position
            .iter()
            .map(|(_, key)| key.clone())
            .collect()
    }

    fn take(&mut self, key: &EventKey, emission: Emission, actions: &mut Vec<Action>) {
        if let Some(held) = self.held.remove(key) {
            self.held_bytes -= held.event.record.approximate_bytes();
            self.by_position.remove(&(held.position, key.clone()));
            actions.push(Action::Emit(held.event, emission, held.position));
            actions.push(Action::Release(held.position));
        }
    }
}

#[cfg(test)]
#[path = "policy_tests.rs"]
mod tests;
