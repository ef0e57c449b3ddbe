//! The hub's side of a write through the etcd endpoint: events put and deleted in the etcd
//! view are written to the hub's store, in revision order, after the transaction was answered
//! (the etcd view's log made it durable). Whatever batches the commit thread handed over
//! meanwhile go to the store together, so the store's group commit makes them durable with one
//! sync. A crash before they reach the store loses nothing: at start the server writes every
//! live event of the view whose hub record is missing or older ([`crate::EtcdServer::open`]).

use crate::view::View;
use kevents_model::{EventKey, EventRecord};
use kevents_store::{Mutation, Store, StoreError};
use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use tokio::sync::mpsc;

/// Batches handed over and not yet written before the commit thread waits for the hub: the
/// etcd view may run this far ahead of the store, no further.
pub(crate) const QUEUED_BATCHES: usize = 256;

/// A change of the hub's store made by a write through the etcd endpoint.
pub(crate) enum HubWrite {
    /// The event as the apiserver wrote it (its record already names the hub cluster and
    /// carries the etcd mod revision).
    Put(Box<EventRecord>),
    /// The apiserver deleted the event.
    Delete(EventKey),
}

/// A committed batch of the etcd view: its hub writes, and the revision after it.
pub(crate) struct Mirrored {
    pub writes: Vec<HubWrite>,
    pub revision: i64,
}

/// Writes each batch (with every batch queued behind it) to the store, then marks the view's
/// revision the hub has caught up with; ends when the commit thread is gone.
pub(crate) async fn run(store: Store, view: Arc<View>, mut batches: mpsc::Receiver<Mirrored>) {
    while let Some(first) = batches.recv().await {
        let mut all = vec![first];
        while let Ok(more) = batches.try_recv() {
            all.push(more);
        }
        let revision = all.iter().map(|m| m.revision).max().unwrap_or(0);
        #[cfg(test)]
        for batch in &mut all {
            batch.writes.retain(|write| !fault::lost(write));
        }
        let writes: Vec<HubWrite> = all.into_iter().flat_map(|m| m.writes).collect();
        if !writes.is_empty() {
            view.hub_written.store(true, Ordering::Release);
        }
        write(&store, writes).await;
        view.hub_revision.send_replace(revision);
    }
}

/// Writes events to the hub's store in order, in one batch. A refusal is logged, not returned:
/// the etcd view has the change, and the next start writes every live event the hub lacks.
pub(crate) async fn write(store: &Store, writes: Vec<HubWrite>) {
    if writes.is_empty() {
        return;
    }
    // Whether each key exists once the writes before it are applied: a put of a key the hub
    // holds (an event the apiserver updates, or one whose etcd lease expired and whose name
    // came back) replaces it.
    let mut exists: HashMap<EventKey, bool> = HashMap::new();
    let mut keys = Vec::with_capacity(writes.len());
    let mutations: Vec<Mutation> = writes
        .into_iter()
        .map(|write| match write {
            HubWrite::Put(record) => {
                let key = record.key();
                let held = *exists
                    .entry(key.clone())
                    .or_insert_with(|| store.get(&key).is_some());
                exists.insert(key.clone(), true);
                keys.push(key);
                match held {
                    true => Mutation::Update {
                        record: *record,
                        expected_rv: None,
                    },
                    false => Mutation::Create(*record),
                }
            }
            HubWrite::Delete(key) => {
                exists.insert(key.clone(), false);
                keys.push(key.clone());
                Mutation::Delete {
                    key,
                    expected_rv: None,
                    expected_uid: None,
                }
            }
        })
        .collect();
    for (key, result) in keys.iter().zip(store.write_many(mutations).await) {
        match result {
            Ok(_) | Err(StoreError::NotFound(_)) => {}
            Err(error) => {
                tracing::error!(?key, %error, "the hub's store refused a change written through etcd")
            }
        }
    }
}

/// A fault for tests: the hub's writes of a cluster are dropped before they reach the store,
/// as when the process dies between the etcd log's sync and the store's write.
#[cfg(test)]
pub(crate) mod fault {
    use super::HubWrite;
    use parking_lot::Mutex;
    use std::collections::HashSet;

    static LOST: Mutex<Option<HashSet<String>>> = Mutex::new(None);

    /// From now on, drop the hub's writes of events in `cluster` (until [`restore`]).
    pub(crate) fn lose_writes_of(cluster: &str) {
        LOST.lock()
            .get_or_insert_with(HashSet::new)
            .insert(cluster.to_owned());
    }

    /// Writes of `cluster` reach the store again.
    pub(crate) fn restore(cluster: &str) {
        if let Some(lost) = LOST.lock().as_mut() {
            lost.remove(cluster);
        }
    }

    pub(super) fn lost(write: &HubWrite) -> bool {
        let cluster = match write {
            HubWrite::Put(record) => &record.cluster,
            HubWrite::Delete(key) => &key.cluster,
        };
        LOST.lock()
            .as_ref()
            .is_some_and(|lost| lost.contains(cluster))
    }
}
