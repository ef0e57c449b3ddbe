//! The change a committed mutation makes: built once by the writer when it commits and by
//! recovery when it replays the log, so both give the head and watchers the same history.

use crate::entry::{Change, ChangeType, LogEntry, LogOp, StoredEvent};
use crate::head::Head;
use kevents_model::{EventRecord, Micros};
use std::sync::Arc;

/// Turns a replayed entry into the change it makes to `head`.
pub fn change_for(head: &Head, entry: LogEntry) -> Option<Change> {
    let previous = match &entry.op {
        LogOp::Put(record) => head.current(&record.key()),
        LogOp::Delete(key) => head.current(key),
        LogOp::Checkpoint => None,
    };
    change_from(entry, previous)
}

/// The change an entry makes to an event whose state before it is `previous`; `None` for a
/// delete of nothing and for checkpoint markers.
pub fn change_from(entry: LogEntry, previous: Option<Arc<StoredEvent>>) -> Option<Change> {
    match entry.op {
        LogOp::Put(record) => Some(put_change(entry.rv, entry.at, *record, previous)),
        LogOp::Delete(_) => Some(delete_change(entry.rv, entry.at, previous?)),
        LogOp::Checkpoint => None,
    }
}

/// The change a create or update committed at `rv` makes; `record` becomes the event's state
/// (its resourceVersion set to `rv`).
pub(crate) fn put_change(
    rv: u64,
    at: Micros,
    mut record: EventRecord,
    previous: Option<Arc<StoredEvent>>,
) -> Change {
    record.resource_version = rv;
    Change {
        resource_version: rv,
        change_type: match previous {
            Some(_) => ChangeType::Modified,
            None => ChangeType::Added,
        },
        object: Arc::new(StoredEvent {
            record,
            updated_at: at,
        }),
        previous,
        committed_at: at,
    }
}

/// The change a delete committed at `rv` makes to the event whose state was `previous`.
pub(crate) fn delete_change(rv: u64, at: Micros, previous: Arc<StoredEvent>) -> Change {
    let mut last = (*previous).clone();
    last.record.resource_version = rv;
    Change {
        resource_version: rv,
        change_type: ChangeType::Deleted,
        object: Arc::new(last),
        previous: Some(previous),
        committed_at: at,
    }
}
