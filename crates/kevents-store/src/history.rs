//! The recent change history: what watches resume from and lists at older versions read,
//! bounded by a number of changes and by age.

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
}

impl History {
    /// An empty history of a store at version `rv`: every change after it will be retained.
    pub fn starting_at(rv: u64) -> History {
        History {
            changes: VecDeque::new(),
            compacted_rv: rv,
        }
    }

    /// Records a committed change (the newest).
    pub fn push(&mut self, change: Arc<Change>) {
        self.changes.push_back(change);
    }

    /// Changes retained.
    pub fn len(&self) -> usize {
        self.changes.len()
    }

    /// The oldest version a watch can resume from: every change after it is retained.
    pub fn oldest_resumable(&self) -> u64 {
        self.compacted_rv
    }

    /// Drops changes beyond `limit` entries or committed before `oldest`.
    pub fn trim(&mut self, limit: usize, oldest: Micros) {
        while let Some(front) = self.changes.front() {
            if self.changes.len() <= limit && front.committed_at >= oldest {
                break;
            }
            self.compacted_rv = front.resource_version;
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
