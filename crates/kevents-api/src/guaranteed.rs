//! One read-modify-write loop for the writes that build an event's next version from its
//! stored one (update, patch, dedup's count increments), like the apiserver's
//! `GuaranteedUpdate`: read the current version, derive the write from it, and when another
//! writer got there first, read again and retry; after a few lost races, answer Conflict.

use crate::error::{ApiError, ApiResult};
use kevents_model::{ApiGroup, EventKey, EventRecord};
use kevents_store::{Mutation, Store, StoreError, StoredEvent};
use std::future::Future;
use std::sync::Arc;

/// Attempts before a write that keeps losing races is answered with Conflict.
const ATTEMPTS: usize = 5;

/// What one attempt of a read-modify-write came to.
pub(crate) enum Attempt<T> {
    /// Written (or decided without a write).
    Done(T),
    /// Another writer changed the event between the read and the write: read it again.
    LostRace,
}

/// Runs `attempt` on the current version of `key` (`None`: there is none) until it is done,
/// reading the event again after every lost race.
/// The attempt's future may borrow from the caller but not from the closure (a closure whose
/// futures borrow its captures is not `Send` for axum's handlers).
pub(crate) async fn guaranteed_update<T, F>(
    store: &Store,
    group: ApiGroup,
    key: &EventKey,
    mut attempt: impl FnMut(Option<Arc<StoredEvent>>) -> F,
) -> ApiResult<T>
where
    F: Future<Output = ApiResult<Attempt<T>>>,
{
    for _ in 0..ATTEMPTS {
        if let Attempt::Done(done) = attempt(store.get(key)).await? {
            return Ok(done);
        }
    }
    Err(ApiError::conflict(group, &key.name))
}

/// Applies `change` to the stored event `key`, retrying lost races; `None` when it is gone.
pub(crate) async fn increment(
    store: &Store,
    group: ApiGroup,
    key: &EventKey,
    change: impl Fn(&mut EventRecord),
) -> Result<Option<EventRecord>, ApiError> {
    let change = &change;
    guaranteed_update(store, group, key, move |held| async move {
        let Some(held) = held else {
            return Ok(Attempt::Done(None));
        };
        let mut record = held.record.clone();
        change(&mut record);
        let mutation = Mutation::Update {
            record,
            expected_rv: Some(held.record.resource_version),
        };
        match store.write(mutation).await {
            Ok(committed) => Ok(Attempt::Done(Some(committed.object.record.clone()))),
            Err(StoreError::Conflict(_)) => Ok(Attempt::LostRace),
            Err(StoreError::NotFound(_)) => Ok(Attempt::Done(None)),
            Err(e) => Err(ApiError::from_store(e, group, &key.name)),
        }
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use kevents_store::StoreConfig;

    #[tokio::test]
    async fn every_attempt_reads_the_event_again_and_endless_lost_races_answer_conflict() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(StoreConfig::new(dir.path())).unwrap();
        let key = EventKey::new("ns", "e");
        let record = EventRecord {
            namespace: "ns".into(),
            name: "e".into(),
            ..Default::default()
        };
        store.write(Mutation::Create(record)).await.unwrap();
        // Each attempt sees the version the one before it wrote.
        let mut seen = Vec::new();
        let store_ref = &store;
        let result: ApiResult<()> = guaranteed_update(&store, ApiGroup::Core, &key, |current| {
            let current = current.expect("the event exists");
            seen.push(current.record.resource_version);
            let mutation = Mutation::Update {
                record: current.record.clone(),
                expected_rv: None,
            };
            async move {
                store_ref.write(mutation).await.unwrap();
                Ok(Attempt::LostRace)
            }
        })
        .await;
        assert_eq!(result.unwrap_err().reason, "Conflict");
        assert_eq!(seen, (2..2 + ATTEMPTS as u64).collect::<Vec<_>>());
        let mut attempts = 0;
        let done = guaranteed_update(&store, ApiGroup::Core, &key, |_| {
            attempts += 1;
            let outcome = match attempts {
                3 => Attempt::Done(attempts),
                _ => Attempt::LostRace,
            };
            async move { Ok(outcome) }
        })
        .await;
        assert_eq!(done.unwrap(), 3);
    }
}
