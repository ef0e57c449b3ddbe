//! Group commit of the etcd view: one thread takes every change off one queue, plans the
//! transactions that arrived together against the view, appends their records to the view's
//! log with one sync, applies them (waking watches), answers them, and hands the events they
//! wrote to the hub's store ([`crate::mirror`]).
//!
//! Transactions share a batch only when they touch different keys: each is then planned
//! against the view as it was before the batch, which is what running them one after another
//! would see, and takes the next revision. A transaction over a range of keys, a lease grant or
//! revocation and a compaction run alone. While the hub commits one batch, this thread syncs
//! the next; a write waits for the etcd log's sync alone.

use crate::error::EtcdError;
use crate::keys::KeyKind;
use crate::mirror::{HubWrite, Mirrored};
use crate::proto::{Request, RequestOp, TxnRequest, TxnResponse};
use crate::record::{LeaseGrant, Record};
use crate::view::View;
use crate::wal::Wal;
use kevents_model::EventRecord;
use std::collections::{HashMap, HashSet};
use std::sync::atomic::Ordering;
use std::sync::{mpsc, Weak};
use std::time::Instant;
use tokio::sync::{mpsc as async_mpsc, oneshot};

/// Most transactions committed by one sync.
const MAX_BATCH: usize = 1024;

/// Event records decoded from a transaction's puts, by key.
pub(crate) type Decoded = HashMap<Vec<u8>, EventRecord>;

/// Where a transaction's answer goes.
pub(crate) type TxnReply = oneshot::Sender<Result<TxnResponse, EtcdError>>;

/// A transaction checked and decoded by its caller, waiting for its batch.
pub(crate) struct PendingTxn {
    pub txn: TxnRequest,
    pub decoded: Decoded,
    pub reply: TxnReply,
}

/// A change asked of the commit thread.
pub(crate) enum Op {
    Txn(PendingTxn),
    /// Grant a lease (`id` 0: pick one); answered with its ID and TTL.
    Grant {
        id: i64,
        ttl: i64,
        reply: oneshot::Sender<Result<(i64, i64), EtcdError>>,
    },
    /// Revoke leases, deleting their keys from the etcd view; answered with the revision.
    Revoke {
        ids: Vec<i64>,
        reply: oneshot::Sender<Result<i64, EtcdError>>,
    },
    /// Forget history before a revision and rewrite the log; answered with the revision.
    Compact {
        revision: i64,
        reply: oneshot::Sender<Result<i64, EtcdError>>,
    },
}

/// The keys a transaction compares, reads or writes; `None` when it reaches a range of keys.
fn footprint(txn: &TxnRequest) -> Option<Vec<&[u8]>> {
    let mut keys = Vec::new();
    for compare in &txn.compare {
        if !compare.range_end.is_empty() {
            return None;
        }
        keys.push(compare.key.as_slice());
    }
    for RequestOp { request } in txn.success.iter().chain(&txn.failure) {
        let (key, range_end) = match request {
            Some(Request::Range(r)) => (&r.key, r.range_end.as_slice()),
            Some(Request::DeleteRange(d)) => (&d.key, d.range_end.as_slice()),
            Some(Request::Put(p)) => (&p.key, &[][..]),
            // Refused when planned; alone, so the refusal touches nothing else.
            Some(Request::Txn(_)) | None => return None,
        };
        if !range_end.is_empty() {
            return None;
        }
        keys.push(key.as_slice());
    }
    Some(keys)
}

/// The transactions of one batch and the keys they touch.
#[derive(Default)]
struct Batch {
    txns: Vec<PendingTxn>,
    keys: HashSet<Vec<u8>>,
    /// A transaction over a range is in it: nothing else joins.
    closed: bool,
}

impl Batch {
    /// Adds `txn` when it touches none of the batch's keys; gives it back otherwise.
    fn admit(&mut self, txn: PendingTxn) -> Option<PendingTxn> {
        if self.closed || self.txns.len() >= MAX_BATCH {
            return Some(txn);
        }
        match footprint(&txn.txn) {
            None if self.txns.is_empty() => self.closed = true,
            None => return Some(txn),
            Some(keys) => {
                if keys.iter().any(|k| self.keys.contains(*k)) {
                    return Some(txn);
                }
                self.keys.extend(keys.into_iter().map(<[u8]>::to_vec));
            }
        }
        self.txns.push(txn);
        None
    }
}

/// The commit thread's state.
pub(crate) struct Committer {
    pub view: Weak<View>,
    pub wal: Wal,
    pub requests: mpsc::Receiver<Op>,
    pub mirror: async_mpsc::Sender<Mirrored>,
}

impl Committer {
    /// Commits until every sender of the queue is gone (the server was dropped).
    pub fn run(mut self) {
        let mut carried = None;
        loop {
            let Some(first) = carried.take().or_else(|| self.requests.recv().ok()) else {
                break;
            };
            let Some(server) = self.view.upgrade() else {
                break;
            };
            match first {
                Op::Txn(txn) => {
                    let mut batch = Batch::default();
                    batch.admit(txn);
                    while let Ok(next) = self.requests.try_recv() {
                        let refused = match next {
                            Op::Txn(txn) => batch.admit(txn).map(Op::Txn),
                            other => Some(other),
                        };
                        if let Some(op) = refused {
                            carried = Some(op);
                            break;
                        }
                    }
                    self.commit(&server, batch.txns);
                }
                Op::Grant { id, ttl, reply } => {
                    let _ = reply.send(self.grant(&server, id, ttl));
                }
                Op::Revoke { ids, reply } => {
                    let _ = reply.send(self.revoke(&server, &ids));
                }
                Op::Compact { revision, reply } => {
                    let _ = reply.send(self.compact(&server, revision));
                }
            }
        }
        tracing::debug!("etcd view writer stopped");
    }

    fn append<'a>(
        &mut self,
        server: &View,
        records: impl IntoIterator<Item = &'a Record>,
    ) -> Result<(), EtcdError> {
        self.wal
            .append(records)
            .map_err(|e| EtcdError::Storage(format!("appending to the etcd log: {e}")))?;
        server
            .log_bytes
            .store(self.wal.bytes() as i64, Ordering::Relaxed);
        Ok(())
    }

    /// Plans, logs (one sync) and applies a batch of transactions that touch different keys.
    fn commit(&mut self, server: &View, batch: Vec<PendingTxn>) {
        let mut planned = Vec::with_capacity(batch.len());
        {
            let state = server.state.read();
            let mut next = state.revision + 1;
            for pending in batch {
                match state.plan(&pending.txn, next) {
                    Ok(plan) if plan.record.is_none() => {
                        // A read, or compares that failed: answered as of the view before
                        // the batch, with nothing to make durable.
                        let _ = pending.reply.send(Ok(plan.response));
                    }
                    Ok(plan) => {
                        next += 1;
                        planned.push((pending, plan));
                    }
                    Err(error) => {
                        let _ = pending.reply.send(Err(error));
                    }
                }
            }
        }
        if planned.is_empty() {
            return;
        }
        let records = planned.iter().filter_map(|(_, plan)| plan.record.as_ref());
        if let Err(error) = self.append(server, records) {
            for (pending, _) in planned {
                let _ = pending.reply.send(Err(error.clone()));
            }
            return;
        }
        let mut writes = Vec::new();
        let mut replies = Vec::with_capacity(planned.len());
        let revision = {
            let mut state = server.state.write();
            let now = Instant::now();
            for (mut pending, plan) in planned {
                let record = plan.record.as_ref().expect("only writes are planned here");
                let change = state.apply(record, now);
                for event in change.iter().flat_map(|c| c.events.iter()) {
                    let Some(kv) = &event.kv else { continue };
                    let Ok(KeyKind::Event { namespace, name }) = server.policy.classify(&kv.key)
                    else {
                        continue;
                    };
                    writes.push(match pending.decoded.remove(&kv.key) {
                        Some(record) => {
                            HubWrite::Put(Box::new(server.hub_record(record, kv.mod_revision)))
                        }
                        None => HubWrite::Delete(server.event_key(&namespace, &name)),
                    });
                }
                replies.push((pending.reply, plan.response));
            }
            state.revision
        };
        server.revision.send_replace(revision);
        // Before the answers, so that whoever got one can wait for the hub to have it.
        server.hub_handed.store(revision, Ordering::Release);
        // Durable in the etcd log: answered now. The hub's store gets the events next; a crash
        // before it has them is repaired from the view at the next start.
        for (reply, response) in replies {
            let _ = reply.send(Ok(response));
        }
        // Waits when the store is QUEUED_BATCHES behind, so the view cannot outrun it.
        if self
            .mirror
            .blocking_send(Mirrored { writes, revision })
            .is_err()
        {
            // The hub's writer is gone (shutting down): the next start writes the events.
            tracing::debug!(
                revision,
                "the hub's writer stopped; left for the next start"
            );
        }
    }

    fn grant(&mut self, server: &View, id: i64, ttl: i64) -> Result<(i64, i64), EtcdError> {
        let ttl = ttl.max(server.config.min_lease_ttl);
        let id = match id {
            0 => server.next_lease.fetch_add(1, Ordering::Relaxed) + 1,
            id if server.state.read().leases.contains_key(&id) => {
                return Err(EtcdError::Unsupported(
                    "granting a lease ID already in use".into(),
                ))
            }
            id => id,
        };
        let record = Record {
            revision: server.current_revision(),
            grants: vec![LeaseGrant { id, ttl }],
            ..Default::default()
        };
        self.append(server, [&record])?;
        server.state.write().apply(&record, Instant::now());
        Ok((id, ttl))
    }

    fn revoke(&mut self, server: &View, ids: &[i64]) -> Result<i64, EtcdError> {
        let record = server
            .state
            .read()
            .revoke(ids)
            .ok_or(EtcdError::LeaseNotFound)?;
        self.append(server, [&record])?;
        server.state.write().apply(&record, Instant::now());
        server.revision.send_replace(record.revision);
        Ok(record.revision)
    }

    fn compact(&mut self, server: &View, revision: i64) -> Result<i64, EtcdError> {
        let snapshot = {
            let mut state = server.state.write();
            if revision > state.revision {
                return Err(EtcdError::FutureRevision);
            }
            if revision < state.compacted {
                return Err(EtcdError::Compacted);
            }
            state.compact(revision);
            state.snapshot()
        };
        self.wal
            .rewrite(&snapshot)
            .map_err(|e| EtcdError::Storage(format!("rewriting the etcd log: {e}")))?;
        server
            .log_bytes
            .store(self.wal.bytes() as i64, Ordering::Relaxed);
        Ok(server.current_revision())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::{Compare, DeleteRangeRequest, PutRequest, RangeRequest};

    fn pending(txn: TxnRequest) -> PendingTxn {
        PendingTxn {
            txn,
            decoded: Decoded::new(),
            reply: oneshot::channel().0,
        }
    }

    fn put(key: &str) -> TxnRequest {
        TxnRequest {
            compare: vec![Compare {
                key: key.into(),
                ..Default::default()
            }],
            success: vec![RequestOp {
                request: Some(Request::Put(PutRequest {
                    key: key.into(),
                    ..Default::default()
                })),
            }],
            failure: vec![RequestOp {
                request: Some(Request::Range(RangeRequest {
                    key: key.into(),
                    ..Default::default()
                })),
            }],
        }
    }

    fn delete_range(from: &str, to: &str) -> TxnRequest {
        TxnRequest {
            success: vec![RequestOp {
                request: Some(Request::DeleteRange(DeleteRangeRequest {
                    key: from.into(),
                    range_end: to.into(),
                    ..Default::default()
                })),
            }],
            ..Default::default()
        }
    }

    #[test]
    fn transactions_on_different_keys_share_a_batch_and_one_on_a_key_already_in_it_waits() {
        let mut batch = Batch::default();
        assert!(batch.admit(pending(put("/a"))).is_none());
        assert!(batch.admit(pending(put("/b"))).is_none());
        assert!(batch.admit(pending(put("/a"))).is_some());
        assert!(batch.admit(pending(delete_range("/a", "/z"))).is_some());
        assert_eq!(batch.txns.len(), 2);
    }

    #[test]
    fn a_transaction_over_a_range_runs_alone() {
        let mut batch = Batch::default();
        assert!(batch.admit(pending(delete_range("/a", "/z"))).is_none());
        assert!(batch.admit(pending(put("/zz"))).is_some());
        assert_eq!(batch.txns.len(), 1);
    }
}
