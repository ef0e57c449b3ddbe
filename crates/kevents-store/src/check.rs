//! The checks a mutation must pass against the current state of its key (Kubernetes'
//! create, update and delete rules and their preconditions), shared by every store.

use crate::change::{delete_change, put_change};
use crate::entry::{Change, StoredEvent};
use crate::{Mutation, StoreError};
use kevents_model::{EventRecord, Micros};
use std::sync::Arc;

/// The change `mutation` makes when committed at `rv` and time `now` to a key whose state is
/// `current`; `Skipped` for an expiry that lost a race with a write.
pub(crate) fn checked_change(
    mutation: Mutation,
    current: Option<Arc<StoredEvent>>,
    rv: u64,
    now: Micros,
) -> Result<Change, StoreError> {
    match check(mutation, current.as_ref())? {
        Some(Checked::Put(record)) => Ok(put_change(rv, now, record, current)),
        Some(Checked::Delete(existing)) => Ok(delete_change(rv, now, existing)),
        None => Err(StoreError::Skipped),
    }
}

/// What a mutation that passed its checks does.
// Made and consumed at once; boxing the record would add the allocation this avoids.
#[allow(clippy::large_enum_variant)]
enum Checked {
    /// The event's new state.
    Put(EventRecord),
    /// The event, in this state, goes.
    Delete(Arc<StoredEvent>),
}

/// Checks a mutation against the current state of its key; returns what to commit.
fn check(
    mutation: Mutation,
    current: Option<&Arc<StoredEvent>>,
) -> Result<Option<Checked>, StoreError> {
    match mutation {
        Mutation::Create(record) => match current {
            Some(_) => Err(StoreError::AlreadyExists(record.key())),
            None => Ok(Some(Checked::Put(record))),
        },
        Mutation::Update {
            mut record,
            expected_rv,
        } => match current {
            None => Err(StoreError::NotFound(record.key())),
            Some(existing) => {
                if expected_rv.is_some_and(|rv| rv != existing.record.resource_version) {
                    return Err(StoreError::Conflict(record.key()));
                }
                // Server-owned identity never changes on update.
                record.uid = existing.record.uid.clone();
                record.creation_timestamp = existing.record.creation_timestamp;
                Ok(Some(Checked::Put(record)))
            }
        },
        Mutation::Delete {
            key,
            expected_rv,
            expected_uid,
        } => match current {
            None => Err(StoreError::NotFound(key)),
            Some(existing) => {
                let rv_mismatch =
                    expected_rv.is_some_and(|rv| rv != existing.record.resource_version);
                let uid_mismatch = expected_uid.is_some_and(|uid| uid != existing.record.uid);
                if rv_mismatch || uid_mismatch {
                    return Err(StoreError::Conflict(key));
                }
                Ok(Some(Checked::Delete(existing.clone())))
            }
        },
        Mutation::Expire { expected_rv, .. } => match current {
            Some(existing) if existing.record.resource_version == expected_rv => {
                Ok(Some(Checked::Delete(existing.clone())))
            }
            _ => Ok(None),
        },
    }
}
