//! The recent change history: what watches resume from and lists at older versions read,
//! bounded by a number of changes, by the bytes of the events they hold, and by age.

use crate::entry::Change;
use crate::TooOld;
use kevents_model::Micros;
use std::collections::VecDeque;
use std::sync::Arc;

/// Recent changes in resourceVersion order.
#[derive(Default)]
pub(crate) struct History {
    changes: VecDeque<Arc<Change>>,
    /// Changes at or below this version are no longer retained.
    compacted_rv: u64,
    /// What the events of `changes` hold, by `EventRecord::approximate_bytes`.
    bytes: usize,
}

impl History {
    /// An empty history of a store at version `rv`: every change after it will be retained.
    pub fn starting_at(rv: u64) -> History {
        History {
            changes: VecDeque::new(),
            compacted_rv: rv,
            bytes: 0,
        }
    }

    /// Records a committed change (the newest).
    pub fn push(&mut self, change: Arc<Change>) {
        self.bytes += change.object.record.approximate_bytes();
        self.changes.push_back(change);
    }

    /// Changes retained.
    pub fn len(&self) -> usize {
        self.changes.len()
    }

    /// Bytes of the events retained (`EventRecord::approximate_bytes`).
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// The oldest version a watch can resume from: every change after it is retained.
    pub fn oldest_resumable(&self) -> u64 {
        self.compacted_rv
    }

    /// Drops changes beyond `limit` entries or `bytes_limit` bytes, or committed before
    /// `oldest`.
    pub fn trim(&mut self, limit: usize, bytes_limit: usize, oldest: Micros) {
        while let Some(front) = self.changes.front() {
            if self.changes.len() <= limit
                && self.bytes <= bytes_limit
                && front.committed_at >= oldest
            {
                break;
            }
            self.compacted_rv = front.resource_version;
            self.bytes -= front.object.record.approximate_bytes();
            self.changes.pop_front();
        }
    }

    /// Changes after `rv`; `TooOld` when some of them are no longer retained.
    pub fn after(&self, rv: u64) -> Result<Vec<Arc<Change>>, TooOld> {
        if rv < self.compacted_rv {
            return Err(TooOld {
                requested: rv,
                oldest: self.compacted_rv,
            });
        }
        let start = self
            .changes
            .partition_point(|change| change.resource_version <= rv);
        Ok(self.changes.range(start..).cloned().collect())
    }
}
