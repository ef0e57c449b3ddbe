//! The endpoint's core: the etcd view and its writer, and the start that brings the hub's
//! store up to date with it.
//!
//! A write is checked and decoded by its caller, then committed by the writer thread
//! (`commit`): planned against the view with the writes that arrived with it, appended to the
//! view's log with one sync, applied to the view (waking watches) and answered; then written
//! to the hub's store (`mirror`), in revision order.

use crate::codec::EventCodec;
use crate::commit::{Committer, Decoded, Op, PendingTxn};
use crate::config::EtcdConfig;
use crate::error::EtcdError;
use crate::keys::{KeyKind, KeyPolicy};
use crate::mirror::HubWrite;
use crate::mvcc::Mvcc;
use crate::proto::{Request, RequestOp, TxnRequest, TxnResponse};
use crate::view::View;
use crate::wal::Wal;
use kevents_store::Store;
use parking_lot::RwLock;
use std::ops::Deref;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{mpsc, Arc};
use std::time::Instant;
use tokio::sync::oneshot;

/// The etcd endpoint's state, shared by its services.
pub struct EtcdServer {
    view: Arc<View>,
    queue: mpsc::Sender<Op>,
    store: Store,
    codec: Arc<dyn EventCodec>,
}

impl Deref for EtcdServer {
    type Target = View;

    fn deref(&self) -> &View {
        &self.view
    }
}

impl EtcdServer {
    /// Opens the view's log in `config.data_dir`, replays it, and brings the hub's store up to
    /// date with every live event (a crash may have come between the two writes).
    pub async fn open(
        config: EtcdConfig,
        store: Store,
        codec: Arc<dyn EventCodec>,
    ) -> Result<Arc<EtcdServer>, EtcdError> {
        let opened = Wal::open(&config.data_dir)
            .map_err(|e| EtcdError::Storage(format!("opening the etcd log: {e}")))?;
        let mut state = Mvcc::new(config.history_limit, config.history_bytes_limit);
        let now = Instant::now();
        for record in &opened.records {
            state.apply(record, now);
        }
        tracing::info!(
            keys = state.live().count(),
            revision = state.revision,
            records = opened.records.len(),
            truncated_bytes = opened.truncated,
            "etcd view recovered"
        );
        let next_lease = state
            .leases
            .keys()
            .copied()
            .max()
            .unwrap_or(0)
            .max(0x6b65_0000);
        let (queue, requests) = mpsc::channel();
        let view = Arc::new(View {
            revision: tokio::sync::watch::Sender::new(state.revision),
            hub_handed: AtomicI64::new(state.revision),
            hub_revision: tokio::sync::watch::Sender::new(state.revision),
            hub_written: AtomicBool::new(false),
            state: RwLock::new(state),
            log_bytes: AtomicI64::new(opened.wal.bytes() as i64),
            policy: KeyPolicy::new(&config.prefix),
            config,
            next_lease: AtomicI64::new(next_lease),
        });
        let server = Arc::new(EtcdServer {
            view: view.clone(),
            queue,
            store: store.clone(),
            codec,
        });
        server.resync_store().await;
        let (mirror, batches) = tokio::sync::mpsc::channel(crate::mirror::QUEUED_BATCHES);
        tokio::spawn(crate::mirror::run(store, view.clone(), batches));
        let committer = Committer {
            view: Arc::downgrade(&view),
            wal: opened.wal,
            requests,
            mirror,
        };
        std::thread::Builder::new()
            .name("kevents-etcd-writer".into())
            .spawn(move || committer.run())
            .map_err(|e| EtcdError::Storage(format!("starting the etcd view's writer: {e}")))?;
        Ok(server)
    }

    /// Bytes of the history the view keeps in memory for past reads and watches.
    pub fn history_bytes(&self) -> usize {
        self.state.read().history_bytes()
    }

    async fn resync_store(&self) {
        let live: Vec<_> = self.state.read().live().cloned().collect();
        let mut writes = Vec::new();
        for kv in live {
            let Ok(KeyKind::Event { namespace, name }) = self.policy.classify(&kv.key) else {
                continue;
            };
            let current = self.store.get(&self.event_key(&namespace, &name));
            if current
                .is_some_and(|e| e.record.source_resource_version == kv.mod_revision.to_string())
            {
                continue;
            }
            match self.codec.decode(&namespace, &name, &kv.value) {
                Ok(record) => writes.push(HubWrite::Put(Box::new(
                    self.hub_record(record, kv.mod_revision),
                ))),
                Err(reason) => {
                    tracing::warn!(%namespace, %name, %reason, "cannot decode a stored event")
                }
            }
        }
        if !writes.is_empty() {
            tracing::info!(
                events = writes.len(),
                "writing events the hub missed at the last stop"
            );
            crate::mirror::write(&self.store, writes).await;
        }
    }

    /// Checks every key and value of a transaction before anything runs; decodes the events
    /// it puts.
    fn validate(&self, txn: &TxnRequest) -> Result<Decoded, EtcdError> {
        for compare in &txn.compare {
            self.policy.classify(&compare.key)?;
        }
        let mut decoded = Decoded::new();
        for RequestOp { request } in txn.success.iter().chain(&txn.failure) {
            match request {
                Some(Request::Range(range)) => {
                    self.policy.check_range(&range.key, &range.range_end)?
                }
                Some(Request::DeleteRange(delete)) => {
                    self.policy.check_range(&delete.key, &delete.range_end)?
                }
                Some(Request::Put(put)) => {
                    if put.value.len() > self.config.max_value_bytes {
                        return Err(EtcdError::TooLarge {
                            bytes: put.value.len(),
                            limit: self.config.max_value_bytes,
                        });
                    }
                    match self.policy.classify(&put.key)? {
                        KeyKind::Event { namespace, name } => {
                            let record = addressable(&namespace, &name)
                                .and_then(|()| self.codec.decode(&namespace, &name, &put.value))
                                .map_err(|reason| EtcdError::Malformed {
                                    key: String::from_utf8_lossy(&put.key).into_owned(),
                                    reason,
                                })?;
                            decoded.insert(put.key.clone(), record);
                        }
                        KeyKind::Compaction => {}
                        KeyKind::Health => {
                            return Err(EtcdError::Unsupported("writes of the health key".into()))
                        }
                    }
                }
                Some(Request::Txn(_)) => {
                    return Err(EtcdError::Unsupported("nested transactions".into()))
                }
                None => {}
            }
        }
        Ok(decoded)
    }

    /// Runs a transaction (Put and DeleteRange run as one-operation transactions): checked and
    /// decoded here, then committed with the transactions that arrive with it.
    pub async fn txn(&self, txn: TxnRequest) -> Result<TxnResponse, EtcdError> {
        let decoded = self.validate(&txn)?;
        let (reply, answer) = oneshot::channel();
        self.ask(Op::Txn(PendingTxn {
            txn,
            decoded,
            reply,
        }))?;
        answered(answer).await
    }

    fn ask(&self, op: Op) -> Result<(), EtcdError> {
        self.queue
            .send(op)
            .map_err(|_| EtcdError::Storage("the etcd view's writer stopped".into()))
    }

    /// Grants a lease; `id` 0 picks one.
    pub async fn grant(&self, id: i64, ttl: i64) -> Result<(i64, i64), EtcdError> {
        if ttl > crate::config::MAX_LEASE_TTL {
            return Err(EtcdError::LeaseTtlTooLarge);
        }
        let (reply, answer) = oneshot::channel();
        self.ask(Op::Grant { id, ttl, reply })?;
        answered(answer).await
    }

    /// Revokes leases, deleting their keys from the etcd view (not from the hub: it keeps
    /// events for its own `--event-ttl`). Fails when none of them exists.
    pub async fn revoke(&self, ids: &[i64]) -> Result<i64, EtcdError> {
        let (reply, answer) = oneshot::channel();
        self.ask(Op::Revoke {
            ids: ids.to_vec(),
            reply,
        })?;
        answered(answer).await
    }

    /// Revokes the leases that ran out; returns how many.
    pub async fn expire_leases(&self) -> usize {
        let expired = self.state.read().expired(Instant::now());
        if expired.is_empty() {
            return 0;
        }
        match self.revoke(&expired).await {
            Ok(_) => expired.len(),
            Err(error) => {
                tracing::warn!(%error, "expiring leases");
                0
            }
        }
    }

    /// Forgets history before `revision` and rewrites the log as one snapshot; then, when
    /// events were written through the endpoint since the last compaction, has the hub's store
    /// seal its log into a checkpoint too (in the background), so that both logs settle to
    /// their compact form at the apiserver's compaction interval (five minutes by default)
    /// rather than when the store's log reaches `--checkpoint-log-bytes`.
    pub async fn compact(&self, revision: i64) -> Result<i64, EtcdError> {
        let (reply, answer) = oneshot::channel();
        self.ask(Op::Compact { revision, reply })?;
        let compacted = answered(answer).await?;
        if self.hub_written.swap(false, Ordering::AcqRel) {
            let store = self.store.clone();
            tokio::spawn(async move {
                if let Err(error) = store.checkpoint().await {
                    tracing::warn!(%error, "checkpointing the hub's store after an etcd compaction");
                }
            });
        }
        Ok(compacted)
    }
}

/// The answer of the commit thread; an error when it stopped before answering.
async fn answered<T>(answer: oneshot::Receiver<Result<T, EtcdError>>) -> Result<T, EtcdError> {
    answer
        .await
        .unwrap_or_else(|_| Err(EtcdError::Storage("the etcd view's writer stopped".into())))
}

/// Refuses a namespace or name the hub's API could not address the event by: the apiserver
/// validates both before writing, so this only turns away other etcd clients' keys.
fn addressable(namespace: &str, name: &str) -> Result<(), String> {
    use kevents_model::validation::{
        dns1123_subdomain_errors, path_segment_errors, NAME_MAX_BYTES,
    };
    if let Some(error) = dns1123_subdomain_errors(namespace).into_iter().next() {
        return Err(format!("namespace {namespace:?}: {error}"));
    }
    if name.len() > NAME_MAX_BYTES {
        return Err(format!(
            "the name is {} bytes; at most {NAME_MAX_BYTES}, so that the event can be addressed by name",
            name.len()
        ));
    }
    match path_segment_errors(name).into_iter().next() {
        Some(error) => Err(format!("name {name:?}: {error}")),
        None => Ok(()),
    }
}
