//! How many occurrences a change adds, for the metrics, the rules and the key resources.

use kevents_store::{Change, ChangeType};

/// How many occurrences a change adds: a new event its count, an update the increase.
pub fn occurrences_added(change: &Change) -> u64 {
    let now = i64::from(change.object.record.occurrences().max(1));
    let added = match change.change_type {
        ChangeType::Added => now,
        ChangeType::Modified => {
            now - change
                .previous
                .as_ref()
                .map_or(0, |p| i64::from(p.record.occurrences().max(1)))
        }
        ChangeType::Deleted => 0,
    };
    added.max(0) as u64
}
