//! The endpoint's core: the etcd view behind one writer, its log, and the mirror of every
//! event written through it into the hub's store.
//!
//! A write is planned against the view, appended to the view's log and synced, applied to the
//! view (waking watches), and then written to the hub's store, all under the writer lock, so
//! the hub sees writes in revision order. Only then is it answered.

use crate::codec::EventCodec;
use crate::config::EtcdConfig;
use crate::error::EtcdError;
use crate::keys::{KeyKind, KeyPolicy};
use crate::mvcc::{set_revision, Mvcc};
use crate::proto::{Request, RequestOp, TxnRequest, TxnResponse};
use crate::record::{LeaseGrant, Record};
use crate::wal::Wal;
use kevents_model::{EventKey, EventRecord};
use kevents_store::{Mutation, Store, StoreError};
use parking_lot::RwLock;
use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Instant;

/// The etcd endpoint's state, shared by its services.
pub struct EtcdServer {
    pub(crate) state: RwLock<Mvcc>,
    writer: tokio::sync::Mutex<Wal>,
    pub(crate) revision: tokio::sync::watch::Sender<i64>,
    store: Store,
    codec: Arc<dyn EventCodec>,
    pub(crate) policy: KeyPolicy,
    pub(crate) config: EtcdConfig,
    next_lease: AtomicI64,
    log_bytes: AtomicI64,
}

/// Event records decoded from a transaction's puts, by key.
type Decoded = HashMap<Vec<u8>, EventRecord>;

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
        let mut state = Mvcc::new(config.history_limit);
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
        let server = Arc::new(EtcdServer {
            revision: tokio::sync::watch::Sender::new(state.revision),
            state: RwLock::new(state),
            log_bytes: AtomicI64::new(opened.wal.bytes() as i64),
            writer: tokio::sync::Mutex::new(opened.wal),
            policy: KeyPolicy::new(&config.prefix),
            store,
            codec,
            config,
            next_lease: AtomicI64::new(next_lease),
        });
        server.resync_store().await;
        Ok(server)
    }

    /// The current revision.
    pub fn current_revision(&self) -> i64 {
        self.state.read().revision
    }

    /// Bytes of the view's log on disk.
    pub fn log_bytes(&self) -> i64 {
        self.log_bytes.load(Ordering::Relaxed)
    }

    fn event_key(&self, namespace: &str, name: &str) -> EventKey {
        EventKey::in_cluster(self.config.cluster.clone(), namespace, name)
    }

    async fn resync_store(&self) {
        let live: Vec<_> = self.state.read().live().cloned().collect();
        let mut repaired = 0;
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
                Ok(record) => {
                    self.mirror_put(record, kv.mod_revision).await;
                    repaired += 1;
                }
                Err(reason) => {
                    tracing::warn!(%namespace, %name, %reason, "cannot decode a stored event")
                }
            }
        }
        if repaired > 0 {
            tracing::info!(
                events = repaired,
                "wrote events the hub missed at the last stop"
            );
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
                            let record = self.codec.decode(&namespace, &name, &put.value).map_err(
                                |reason| EtcdError::Malformed {
                                    key: String::from_utf8_lossy(&put.key).into_owned(),
                                    reason,
                                },
                            )?;
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

    /// Runs a transaction (Put and DeleteRange run as one-operation transactions).
    pub async fn txn(&self, txn: TxnRequest) -> Result<TxnResponse, EtcdError> {
        let mut decoded = self.validate(&txn)?;
        let mut wal = self.writer.lock().await;
        let planned = self.state.read().plan(&txn)?;
        let Some(record) = planned.record else {
            // A read-only answer: its revision is the one it was read at.
            let mut response = planned.response;
            set_revision(&mut response, self.current_revision());
            return Ok(response);
        };
        self.persist(&mut wal, &record)?;
        let change = self.state.write().apply(&record, Instant::now());
        self.revision.send_replace(record.revision);
        for event in change.iter().flat_map(|c| c.events.iter()) {
            let Some(kv) = &event.kv else { continue };
            let Ok(KeyKind::Event { namespace, name }) = self.policy.classify(&kv.key) else {
                continue;
            };
            match decoded.remove(&kv.key) {
                Some(record) => self.mirror_put(record, kv.mod_revision).await,
                None => self.mirror_delete(self.event_key(&namespace, &name)).await,
            }
        }
        Ok(planned.response)
    }

    fn persist(&self, wal: &mut Wal, record: &Record) -> Result<(), EtcdError> {
        let mut append = || wal.append(std::slice::from_ref(record));
        let appended = match tokio::runtime::Handle::current().runtime_flavor() {
            tokio::runtime::RuntimeFlavor::CurrentThread => append(),
            _ => tokio::task::block_in_place(append),
        };
        appended.map_err(|e| EtcdError::Storage(format!("appending to the etcd log: {e}")))?;
        self.log_bytes.store(wal.bytes() as i64, Ordering::Relaxed);
        Ok(())
    }

    async fn mirror_put(&self, mut record: EventRecord, mod_revision: i64) {
        record.cluster = self.config.cluster.clone();
        record.source_resource_version = mod_revision.to_string();
        let key = record.key();
        let mutation = match self.store.get(&key) {
            Some(_) => Mutation::Update {
                record,
                expected_rv: None,
            },
            None => Mutation::Create(record),
        };
        if let Err(error) = self.store.write(mutation).await {
            // The etcd view has the event; the next start writes it to the hub again.
            tracing::error!(?key, %error, "the hub's store refused an event written through etcd");
        }
    }

    async fn mirror_delete(&self, key: EventKey) {
        let deleted = self
            .store
            .write(Mutation::Delete {
                key: key.clone(),
                expected_rv: None,
                expected_uid: None,
            })
            .await;
        match deleted {
            Ok(_) | Err(StoreError::NotFound(_)) => {}
            Err(error) => tracing::error!(?key, %error, "the hub's store refused a delete"),
        }
    }

    /// Grants a lease; `id` 0 picks one.
    pub async fn grant(&self, id: i64, ttl: i64) -> Result<(i64, i64), EtcdError> {
        let ttl = ttl.max(self.config.min_lease_ttl);
        let mut wal = self.writer.lock().await;
        let id = match id {
            0 => self.next_lease.fetch_add(1, Ordering::Relaxed) + 1,
            id if self.state.read().leases.contains_key(&id) => {
                return Err(EtcdError::Unsupported(
                    "granting a lease ID already in use".into(),
                ))
            }
            id => id,
        };
        let record = Record {
            revision: self.current_revision(),
            grants: vec![LeaseGrant { id, ttl }],
            ..Default::default()
        };
        self.persist(&mut wal, &record)?;
        self.state.write().apply(&record, Instant::now());
        Ok((id, ttl))
    }

    /// Revokes leases, deleting their keys from the etcd view (not from the hub: it keeps
    /// events for its own `--event-ttl`). Fails when none of them exists.
    pub async fn revoke(&self, ids: &[i64]) -> Result<i64, EtcdError> {
        let mut wal = self.writer.lock().await;
        let record = self
            .state
            .read()
            .revoke(ids)
            .ok_or(EtcdError::LeaseNotFound)?;
        self.persist(&mut wal, &record)?;
        self.state.write().apply(&record, Instant::now());
        self.revision.send_replace(record.revision);
        Ok(record.revision)
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

    /// Forgets history before `revision` and rewrites the log as one snapshot.
    pub async fn compact(&self, revision: i64) -> Result<i64, EtcdError> {
        let mut wal = self.writer.lock().await;
        let snapshot = {
            let mut state = self.state.write();
            if revision > state.revision {
                return Err(EtcdError::FutureRevision);
            }
            if revision < state.compacted {
                return Err(EtcdError::Compacted);
            }
            state.compact(revision);
            state.snapshot()
        };
        let mut rewrite = || wal.rewrite(&snapshot);
        let rewritten = match tokio::runtime::Handle::current().runtime_flavor() {
            tokio::runtime::RuntimeFlavor::CurrentThread => rewrite(),
            _ => tokio::task::block_in_place(rewrite),
        };
        rewritten.map_err(|e| EtcdError::Storage(format!("rewriting the etcd log: {e}")))?;
        self.log_bytes.store(wal.bytes() as i64, Ordering::Relaxed);
        Ok(self.current_revision())
    }
}
