//! The batching and cursor state machine between a cluster's watcher and the hub.
//!
//! The hub's cursor for a cluster means "every source change with resourceVersion <= cursor has
//! been applied". The collector may only claim a cursor once everything it covers is in a batch
//! at or before the one that carries it:
//! - listed objects arrive in key order, not resourceVersion order, so a list's cursor (its
//!   largest resourceVersion) is claimed only when the list is complete;
//! - watched changes arrive in resourceVersion order, so each one's version is a valid cursor.
//!
//! Objects at or below the cursor the hub acknowledged are already there and are not sent again.
//! Everything else is sent, even when the hub may hold it already (after a relist): the hub's
//! upsert skips versions it has, which is what makes replays harmless.

use crate::gap::ListReport;
use std::time::Instant;

/// What the watcher saw, in the order it saw it.
#[derive(Debug, Clone, PartialEq)]
pub enum Observation {
    /// A (re)list starts: the source's current state follows as listed events.
    ListStarted,
    /// One event object as JSON, from the list (`listed`) or from the watch.
    Event {
        /// The object, serialized once by the watcher task.
        json: Vec<u8>,
        /// Its `metadata.resourceVersion`; `None` when not a number (never skipped, never a cursor).
        resource_version: Option<u64>,
        /// Part of a list rather than a watched change.
        listed: bool,
        /// When the watcher received it (for the lag).
        received: Instant,
    },
    /// The list is complete.
    ListDone,
    /// What the list found (its gap, if any), for the hub.
    Listed(ListReport),
}

/// Size limits of one batch.
#[derive(Debug, Clone, Copy)]
pub struct BatchLimits {
    /// Events per batch.
    pub max_events: usize,
    /// Serialized event bytes per batch (a batch may exceed it by its last event).
    pub max_bytes: usize,
}

impl Default for BatchLimits {
    fn default() -> Self {
        BatchLimits {
            max_events: 500,
            // Half the hub's default request limit (3 MiB), leaving room for one 1 MiB event.
            max_bytes: 1536 * 1024,
        }
    }
}

/// What became of one observation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Accepted {
    /// Nothing to send (an event the hub already has, or a marker that changed nothing).
    Skipped,
    /// Added to the pending batch.
    Queued,
    /// Added, and the pending batch is full: send it now.
    Full,
}

/// One request's worth of events plus the cursor it may claim.
#[derive(Debug, Clone, PartialEq)]
pub struct Batch {
    /// Serialized events, in the order observed.
    pub events: Vec<Vec<u8>>,
    /// The cursor to store once these events are applied.
    pub cursor: Option<u64>,
    /// When the oldest of these events was received.
    pub oldest: Option<Instant>,
    /// What the last list found, reported once.
    pub list: Option<ListReport>,
}

impl Batch {
    /// The ingest request body (`{"events": [...], "cursor": "...", "lagSeconds": ...}`).
    pub fn body(&self, lag_seconds: f64) -> Vec<u8> {
        let size: usize = self.events.iter().map(|e| e.len() + 1).sum();
        let mut body = Vec::with_capacity(size + 96);
        body.extend_from_slice(b"{\"events\":[");
        for (i, event) in self.events.iter().enumerate() {
            if i > 0 {
                body.push(b',');
            }
            body.extend_from_slice(event);
        }
        body.push(b']');
        if let Some(cursor) = self.cursor {
            body.extend_from_slice(format!(",\"cursor\":\"{cursor}\"").as_bytes());
        }
        if let Some(list) = &self.list {
            body.extend_from_slice(b",\"list\":");
            body.extend_from_slice(
                &serde_json::to_vec(list).expect("a list report encodes as JSON"),
            );
        }
        if lag_seconds.is_finite() {
            body.extend_from_slice(format!(",\"lagSeconds\":{lag_seconds:.3}").as_bytes());
        }
        body.push(b'}');
        body
    }

    /// Neither events nor a cursor: a heartbeat that only reports lag and liveness.
    pub fn is_empty(&self) -> bool {
        self.events.is_empty() && self.cursor.is_none() && self.list.is_none()
    }
}

/// The state machine: feed it observations, take batches, acknowledge what the hub stored.
#[derive(Debug)]
pub struct Batcher {
    limits: BatchLimits,
    acknowledged: Option<u64>,
    list_max: Option<u64>,
    events: Vec<Vec<u8>>,
    bytes: usize,
    cursor: Option<u64>,
    oldest: Option<Instant>,
    list: Option<ListReport>,
}

impl Batcher {
    /// A batcher for a cluster whose cursor on the hub is `acknowledged`.
    pub fn new(limits: BatchLimits, acknowledged: Option<u64>) -> Batcher {
        Batcher {
            limits,
            acknowledged,
            list_max: None,
            events: Vec::new(),
            bytes: 0,
            cursor: None,
            oldest: None,
            list: None,
        }
    }

    /// Takes one observation.
    pub fn observe(&mut self, observation: Observation) -> Accepted {
        match observation {
            Observation::ListStarted => {
                self.list_max = None;
                Accepted::Skipped
            }
            Observation::ListDone => match self.list_max.take() {
                Some(max) if self.claims_more(max) => {
                    self.cursor = self.cursor.max(Some(max));
                    Accepted::Queued
                }
                _ => Accepted::Skipped,
            },
            Observation::Listed(report) => {
                self.list = Some(report);
                Accepted::Queued
            }
            Observation::Event {
                json,
                resource_version,
                listed,
                received,
            } => {
                if listed {
                    self.list_max = self.list_max.max(resource_version);
                }
                if let (Some(version), Some(acknowledged)) = (resource_version, self.acknowledged) {
                    if version <= acknowledged {
                        return Accepted::Skipped;
                    }
                }
                if !listed && resource_version.is_some() {
                    self.cursor = self.cursor.max(resource_version);
                }
                self.bytes += json.len();
                self.events.push(json);
                self.oldest = self.oldest.or(Some(received));
                if self.events.len() >= self.limits.max_events
                    || self.bytes >= self.limits.max_bytes
                {
                    Accepted::Full
                } else {
                    Accepted::Queued
                }
            }
        }
    }

    fn claims_more(&self, version: u64) -> bool {
        self.acknowledged
            .is_none_or(|acknowledged| version > acknowledged)
            && self.cursor.is_none_or(|cursor| version > cursor)
    }

    /// Events or a cursor are waiting to be sent.
    pub fn has_pending(&self) -> bool {
        !self.events.is_empty()
            || self.list.is_some()
            || self.cursor.is_some_and(|c| self.claims_beyond_ack(c))
    }

    fn claims_beyond_ack(&self, cursor: u64) -> bool {
        self.acknowledged
            .is_none_or(|acknowledged| cursor > acknowledged)
    }

    /// When the oldest pending event was received.
    pub fn oldest_pending(&self) -> Option<Instant> {
        self.oldest
    }

    /// Takes the pending batch (possibly empty: a heartbeat).
    pub fn take(&mut self) -> Batch {
        let cursor = self.cursor.take().filter(|&c| self.claims_beyond_ack(c));
        self.bytes = 0;
        Batch {
            events: std::mem::take(&mut self.events),
            cursor,
            oldest: self.oldest.take(),
            list: self.list.take(),
        }
    }

    /// Puts back the cursor and list report of an event-less batch the hub did not take.
    pub fn requeue(&mut self, batch: &Batch) {
        self.cursor = self.cursor.max(batch.cursor);
        self.list = self.list.or(batch.list);
    }

    /// Records the hub's answer to `batch`: the cursor it now stores (`stored`, when it said).
    /// The hub's word wins, so a hub that lost its data is filled again from the next relist.
    pub fn acknowledge(&mut self, batch: &Batch, stored: Option<u64>) {
        self.acknowledged = match stored {
            Some(stored) => Some(stored),
            None => self.acknowledged.max(batch.cursor),
        };
    }

    /// The cursor the hub holds, as far as this batcher knows.
    pub fn acknowledged(&self) -> Option<u64> {
        self.acknowledged
    }
}

#[cfg(test)]
#[path = "batch_tests.rs"]
mod tests;
