//! The hub's side of a write through the etcd endpoint: events put and deleted in the etcd
//! view are written to the hub's store, in revision order, and only then is the transaction
//! answered. Whatever batches the commit thread handed over meanwhile go to the store together,
//! so the store's group commit makes them durable with one sync.

use crate::error::EtcdError;
use crate::proto::TxnResponse;
use kevents_model::{EventKey, EventRecord};
use kevents_store::{Mutation, Store, StoreError};
use std::collections::HashMap;
use tokio::sync::{mpsc, oneshot};

/// A change of the hub's store made by a write through the etcd endpoint.
pub(crate) enum HubWrite {
    /// The event as the apiserver wrote it (its record already names the hub cluster and
    /// carries the etcd mod revision).
    Put(Box<EventRecord>),
    /// The apiserver deleted the event.
    Delete(EventKey),
}

/// A committed batch of the etcd view: its hub writes, and the answers that wait for them.
pub(crate) struct Mirrored {
    pub writes: Vec<HubWrite>,
    pub replies: Vec<(oneshot::Sender<Result<TxnResponse, EtcdError>>, TxnResponse)>,
}

/// Writes each batch (with every batch queued behind it) to the store, then answers its
/// transactions; ends when the commit thread is gone.
pub(crate) async fn run(store: Store, mut batches: mpsc::UnboundedReceiver<Mirrored>) {
    while let Some(first) = batches.recv().await {
        let mut all = vec![first];
        while let Ok(more) = batches.try_recv() {
            all.push(more);
        }
        let writes = all.iter_mut().flat_map(|m| m.writes.drain(..)).collect();
        write(&store, writes).await;
        for (reply, response) in all.into_iter().flat_map(|m| m.replies) {
            let _ = reply.send(Ok(response));
        }
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
