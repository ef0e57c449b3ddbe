//! What the log records: one entry per committed mutation, and the stored form of an event.

use crate::StoreError;
use kevents_model::{EventKey, EventRecord, Micros};
use serde::{Deserialize, Serialize};
use std::path::Path;
use std::sync::Arc;

/// An event as stored: the record (with its resourceVersion) and when it was last written.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StoredEvent {
    /// The event; `record.resource_version` is the version of its last write.
    pub record: EventRecord,
    /// Server time of the last create or update; the TTL counts from here.
    pub updated_at: Micros,
}

/// How a change affected an event, as a watch reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChangeType {
    /// The event was created.
    Added,
    /// The event was updated.
    Modified,
    /// The event was deleted or expired.
    Deleted,
}

/// One committed change, as delivered on the change feed.
#[derive(Clone, Debug)]
pub struct Change {
    /// The resourceVersion this change committed at.
    pub resource_version: u64,
    /// What happened.
    pub change_type: ChangeType,
    /// The event after the change (for deletes: its last state, at the delete's version).
    pub object: Arc<StoredEvent>,
    /// The event before the change, if it existed.
    pub previous: Option<Arc<StoredEvent>>,
    /// Server time of the commit.
    pub committed_at: Micros,
}

/// A log entry. Payloads are JSON so the log stays inspectable; blocks are the compact form.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct LogEntry {
    /// The resourceVersion the entry committed at.
    pub rv: u64,
    /// Server time of the commit.
    pub at: Micros,
    /// The mutation.
    pub op: LogOp,
}

/// The mutation an entry records.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum LogOp {
    /// The event now has this content (create or update).
    Put(Box<EventRecord>),
    /// The event was removed.
    Delete(EventKey),
    /// A checkpoint header: the state that follows is complete as of `rv`.
    Checkpoint,
}

/// A log entry for a put or a delete, borrowing what it records: serializes exactly as the
/// [`LogEntry`] it stands for, without moving the record out of the change that holds it.
#[derive(Serialize)]
pub(crate) struct LogEntryRef<'a> {
    pub rv: u64,
    pub at: Micros,
    pub op: LogOpRef<'a>,
}

/// [`LogOp`] by reference (same variant names, so the same JSON).
#[derive(Serialize)]
pub(crate) enum LogOpRef<'a> {
    Put(&'a EventRecord),
    Delete(&'a EventKey),
}

impl<'a> LogEntryRef<'a> {
    /// The entry recording `change` to the event at `key`.
    pub fn of(change: &'a Change, key: &'a EventKey) -> LogEntryRef<'a> {
        LogEntryRef {
            rv: change.resource_version,
            at: change.committed_at,
            op: match change.change_type {
                ChangeType::Deleted => LogOpRef::Delete(key),
                ChangeType::Added | ChangeType::Modified => LogOpRef::Put(&change.object.record),
            },
        }
    }
}

/// Decodes a log entry read from `path`.
pub(crate) fn decode_entry(payload: &[u8], path: &Path) -> Result<LogEntry, StoreError> {
    serde_json::from_slice(payload)
        .map_err(|e| StoreError::Corrupt(format!("{}: undecodable entry: {e}", path.display())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::change::{delete_change, put_change};

    #[test]
    fn a_borrowed_entry_serializes_as_the_entry_it_stands_for() {
        let record = EventRecord {
            cluster: "east".into(),
            namespace: "default".into(),
            name: "pod.17f".into(),
            uid: "u-1".into(),
            message: "Back-off \"restarting\"".into(),
            ..Default::default()
        };
        let key = record.key();
        let at = Micros(1_700_000_000_123_456);
        let put = put_change(7, at, record.clone(), None);
        let owned = LogEntry {
            rv: 7,
            at,
            op: LogOp::Put(Box::new(put.object.record.clone())),
        };
        assert_eq!(
            serde_json::to_string(&LogEntryRef::of(&put, &key)).unwrap(),
            serde_json::to_string(&owned).unwrap()
        );
        let delete = delete_change(8, at, put.object.clone());
        let owned = LogEntry {
            rv: 8,
            at,
            op: LogOp::Delete(key.clone()),
        };
        assert_eq!(
            serde_json::to_string(&LogEntryRef::of(&delete, &key)).unwrap(),
            serde_json::to_string(&owned).unwrap()
        );
    }
}
