//! What the log records: one entry per committed mutation, and the stored form of an event.

use kevents_model::{EventKey, EventRecord, Micros};
use serde::{Deserialize, Serialize};
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
