//! The etcd view: the current key-values, a window of history for reads at past revisions and
//! watches, the compaction point and the leases. Pure state: requests are planned into a
//! [`Record`] without changing anything, and records are applied (live and at replay) by
//! [`Mvcc::apply`].

use crate::error::EtcdError;
use crate::keys::in_range;
use crate::proto::{
    compare_result, compare_target, Compare, DeleteRangeResponse, Event, KeyValue, PutResponse,
    RangeRequest, RangeResponse, Request, RequestOp, Response, ResponseOp, TargetUnion, TxnRequest,
    TxnResponse, EVENT_DELETE, EVENT_PUT,
};
use crate::record::{LeaseGrant, Record};
use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The changes of one revision, with each key's previous value.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    /// The revision.
    pub revision: i64,
    /// Puts and deletes, in the order they were made; `prev_kv` is always set when the key
    /// existed (watchers that did not ask for it get it stripped).
    pub events: Vec<Event>,
}

impl Change {
    /// Bytes the change holds: keys and values before and after, and each key-value's fields.
    pub fn bytes(&self) -> usize {
        let kv = |kv: &Option<KeyValue>| {
            kv.as_ref().map_or(0, |kv| {
                kv.key.len() + kv.value.len() + std::mem::size_of::<KeyValue>()
            })
        };
        self.events
            .iter()
            .map(|e| kv(&e.kv) + kv(&e.prev_kv) + std::mem::size_of::<Event>())
            .sum()
    }
}

/// A lease: its TTL, when it runs out, and the keys that go with it.
#[derive(Debug, Clone)]
pub struct Lease {
    /// Granted time to live in seconds.
    pub ttl: i64,
    /// When it runs out unless kept alive.
    pub deadline: Instant,
    /// Keys attached.
    pub keys: BTreeSet<Vec<u8>>,
}

/// The etcd view's state.
#[derive(Debug)]
pub struct Mvcc {
    kvs: BTreeMap<Vec<u8>, KeyValue>,
    history: VecDeque<Arc<Change>>,
    history_limit: usize,
    /// Bytes of the changes in `history` ([`Change::bytes`]).
    history_bytes: usize,
    history_bytes_limit: usize,
    /// The current revision (1 for an empty store, as etcd).
    pub revision: i64,
    /// Every change at or after this revision is in the history.
    pub compacted: i64,
    /// Leases by ID.
    pub leases: HashMap<i64, Lease>,
}

/// The answer to a transaction and the record that commits it (none when nothing changes).
pub struct Planned {
    /// The answer, with the revision the record commits at.
    pub response: TxnResponse,
    /// The change to persist and apply.
    pub record: Option<Record>,
}

impl Mvcc {
    /// An empty view keeping at most `history_limit` revisions of history, of at most
    /// `history_bytes_limit` bytes together (the latest change is always kept).
    pub fn new(history_limit: usize, history_bytes_limit: usize) -> Mvcc {
        Mvcc {
            kvs: BTreeMap::new(),
            history: VecDeque::new(),
            history_limit: history_limit.max(1),
            history_bytes: 0,
            history_bytes_limit,
            revision: 1,
            compacted: 1,
            leases: HashMap::new(),
        }
    }

    /// Bytes of the history kept for past reads and watches ([`Change::bytes`]).
    pub fn history_bytes(&self) -> usize {
        self.history_bytes
    }

    /// Every live key-value, in key order.
    pub fn live(&self) -> impl Iterator<Item = &KeyValue> {
        self.kvs.values()
    }

    /// The changes at or after `from`; fails when some were compacted.
    pub fn changes_from(&self, from: i64) -> Result<Vec<Arc<Change>>, EtcdError> {
        if from < self.compacted {
            return Err(EtcdError::Compacted);
        }
        let start = self.history.partition_point(|c| c.revision < from);
        Ok(self.history.range(start..).cloned().collect())
    }

    /// Answers a read.
    pub fn range(&self, request: &RangeRequest) -> Result<RangeResponse, EtcdError> {
        if request.revision > self.revision {
            return Err(EtcdError::FutureRevision);
        }
        if request.sort_order > 1 || (request.sort_order == 1 && request.sort_target != 0) {
            return Err(EtcdError::Unsupported(
                "sorted reads other than by key".into(),
            ));
        }
        let (start, end) = (request.key.as_slice(), request.range_end.as_slice());
        let mut found: BTreeMap<&[u8], &KeyValue> = match end {
            [] => self
                .kvs
                .get_key_value(start)
                .map(|(k, v)| (k.as_slice(), v))
                .into_iter()
                .collect(),
            _ => self
                .kvs
                .range(start.to_vec()..)
                .take_while(|(k, _)| in_range(k, start, end))
                .map(|(k, v)| (k.as_slice(), v))
                .collect(),
        };
        let past: Vec<Arc<Change>>;
        if request.revision > 0 && request.revision < self.revision {
            // Undo the changes after the requested revision, newest first, so each key ends
            // with its value before the earliest of them.
            past = self
                .changes_from(request.revision + 1)
                .map_err(|_| EtcdError::Compacted)?;
            for change in past.iter().rev() {
                for event in change.events.iter().rev() {
                    let key = event.kv.as_ref().map_or(&[][..], |kv| kv.key.as_slice());
                    if !in_range(key, start, end) {
                        continue;
                    }
                    match &event.prev_kv {
                        Some(prev) => found.insert(prev.key.as_slice(), prev),
                        None => found.remove(key),
                    };
                }
            }
        }
        let count = found.len() as i64;
        let limit = usize::try_from(request.limit).unwrap_or(0);
        let mut kvs = Vec::new();
        if !request.count_only {
            let take = if limit == 0 { found.len() } else { limit };
            for kv in found.values().take(take) {
                let mut kv = (*kv).clone();
                if request.keys_only {
                    kv.value.clear();
                }
                kvs.push(kv);
            }
        }
        Ok(RangeResponse {
            header: None,
            more: limit > 0 && found.len() > limit,
            kvs,
            count,
        })
    }

    fn compare(&self, compare: &Compare) -> Result<bool, EtcdError> {
        if !compare.range_end.is_empty() {
            return Err(EtcdError::Unsupported(
                "compares over a range of keys".into(),
            ));
        }
        let kv = self.kvs.get(&compare.key);
        let ordering = match (compare.target, &compare.target_union) {
            (compare_target::VALUE, Some(TargetUnion::Value(value))) => match kv {
                Some(kv) => kv.value.as_slice().cmp(value.as_slice()),
                // etcd: a value compare on a missing key is false whatever the operator.
                None => return Ok(false),
            },
            (target, Some(union)) => {
                let expected = match union {
                    TargetUnion::Version(v)
                    | TargetUnion::CreateRevision(v)
                    | TargetUnion::ModRevision(v)
                    | TargetUnion::Lease(v) => *v,
                    TargetUnion::Value(_) => {
                        return Err(EtcdError::Unsupported("a value compare of a number".into()))
                    }
                };
                let actual = kv.map_or(0, |kv| match target {
                    compare_target::VERSION => kv.version,
                    compare_target::CREATE => kv.create_revision,
                    compare_target::MOD => kv.mod_revision,
                    _ => kv.lease,
                });
                actual.cmp(&expected)
            }
            (_, None) => return Err(EtcdError::Unsupported("a compare without a value".into())),
        };
        use std::cmp::Ordering::*;
        Ok(match compare.result {
            compare_result::EQUAL => ordering == Equal,
            compare_result::GREATER => ordering == Greater,
            compare_result::LESS => ordering == Less,
            compare_result::NOT_EQUAL => ordering != Equal,
            other => return Err(EtcdError::Unsupported(format!("compare result {other}"))),
        })
    }

    /// Plans a transaction against the current state (reads see it as before the transaction);
    /// its writes take revision `next` (after those of its batch, which touch other keys).
    pub fn plan(&self, txn: &TxnRequest, next: i64) -> Result<Planned, EtcdError> {
        let mut succeeded = true;
        for compare in &txn.compare {
            succeeded &= self.compare(compare)?;
        }
        let ops = if succeeded {
            &txn.success
        } else {
            &txn.failure
        };
        let mut record = Record {
            revision: next,
            ..Default::default()
        };
        let mut written = BTreeSet::new();
        let mut responses = Vec::with_capacity(ops.len());
        for RequestOp { request } in ops {
            let response = match request {
                Some(Request::Range(range)) => Response::Range(self.range(range)?),
                Some(Request::Put(put)) => {
                    if put.ignore_value || put.ignore_lease {
                        return Err(EtcdError::Unsupported(
                            "puts with ignore_value or ignore_lease".into(),
                        ));
                    }
                    if put.lease != 0 && !self.leases.contains_key(&put.lease) {
                        return Err(EtcdError::LeaseNotFound);
                    }
                    if !written.insert(put.key.clone()) {
                        return Err(EtcdError::DuplicateKey);
                    }
                    let previous = self.kvs.get(&put.key);
                    record.puts.push(KeyValue {
                        key: put.key.clone(),
                        create_revision: previous.map_or(next, |p| p.create_revision),
                        mod_revision: next,
                        version: previous.map_or(1, |p| p.version + 1),
                        value: put.value.clone(),
                        lease: put.lease,
                    });
                    Response::Put(PutResponse {
                        header: None,
                        prev_kv: previous.filter(|_| put.prev_kv).cloned(),
                    })
                }
                Some(Request::DeleteRange(delete)) => {
                    let range = RangeRequest {
                        key: delete.key.clone(),
                        range_end: delete.range_end.clone(),
                        ..Default::default()
                    };
                    let doomed = self.range(&range)?.kvs;
                    for kv in &doomed {
                        if !written.insert(kv.key.clone()) {
                            return Err(EtcdError::DuplicateKey);
                        }
                        record.deletes.push(kv.key.clone());
                    }
                    Response::DeleteRange(DeleteRangeResponse {
                        header: None,
                        deleted: doomed.len() as i64,
                        prev_kvs: if delete.prev_kv { doomed } else { Vec::new() },
                    })
                }
                Some(Request::Txn(_)) => {
                    return Err(EtcdError::Unsupported("nested transactions".into()))
                }
                None => {
                    return Err(EtcdError::Unsupported(
                        "an empty transaction operation".into(),
                    ))
                }
            };
            responses.push(ResponseOp {
                response: Some(response),
            });
        }
        let record = record.changes_keys().then_some(record);
        let revision = if record.is_some() {
            next
        } else {
            self.revision
        };
        let mut response = TxnResponse {
            header: None,
            succeeded,
            responses,
        };
        set_revision(&mut response, revision);
        Ok(Planned { response, record })
    }

    /// A record deleting the keys of `ids` and revoking them (leases that ran out or were
    /// revoked); none when no such lease exists.
    pub fn revoke(&self, ids: &[i64]) -> Option<Record> {
        let ids: Vec<i64> = ids
            .iter()
            .copied()
            .filter(|id| self.leases.contains_key(id))
            .collect();
        if ids.is_empty() {
            return None;
        }
        let deletes: Vec<Vec<u8>> = ids
            .iter()
            .flat_map(|id| self.leases[id].keys.iter().cloned())
            .filter(|key| self.kvs.contains_key(key))
            .collect();
        Some(Record {
            revision: if deletes.is_empty() {
                self.revision
            } else {
                self.revision + 1
            },
            deletes,
            revokes: ids,
            ..Default::default()
        })
    }

    /// Leases whose deadline passed.
    pub fn expired(&self, now: Instant) -> Vec<i64> {
        let mut ids: Vec<i64> = self
            .leases
            .iter()
            .filter(|(_, lease)| lease.deadline <= now)
            .map(|(id, _)| *id)
            .collect();
        ids.sort_unstable();
        ids
    }

    /// Renews a lease; returns its TTL.
    pub fn keep_alive(&mut self, id: i64, now: Instant) -> Option<i64> {
        let lease = self.leases.get_mut(&id)?;
        lease.deadline = lease_deadline(now, lease.ttl);
        Some(lease.ttl)
    }

    /// The whole view as one record (what a rewritten log starts with).
    pub fn snapshot(&self) -> Record {
        Record {
            revision: self.revision,
            puts: self.kvs.values().cloned().collect(),
            grants: self
                .leases
                .iter()
                .map(|(id, lease)| LeaseGrant {
                    id: *id,
                    ttl: lease.ttl,
                })
                .collect(),
            compacted: self.revision,
            snapshot: true,
            ..Default::default()
        }
    }

    /// Applies a committed record; returns the change watchers see (none when no key changed).
    /// Leases granted now run from `now`.
    pub fn apply(&mut self, record: &Record, now: Instant) -> Option<Arc<Change>> {
        if record.snapshot {
            *self = Mvcc::new(self.history_limit, self.history_bytes_limit);
        }
        for grant in &record.grants {
            self.leases.insert(
                grant.id,
                Lease {
                    ttl: grant.ttl,
                    deadline: lease_deadline(now, grant.ttl),
                    keys: BTreeSet::new(),
                },
            );
        }
        let mut events = Vec::with_capacity(record.puts.len() + record.deletes.len());
        for kv in &record.puts {
            let previous = self.kvs.insert(kv.key.clone(), kv.clone());
            self.detach(previous.as_ref());
            if let Some(lease) = self.leases.get_mut(&kv.lease) {
                lease.keys.insert(kv.key.clone());
            }
            events.push(Event {
                r#type: EVENT_PUT,
                kv: Some(kv.clone()),
                prev_kv: previous,
            });
        }
        for key in &record.deletes {
            let Some(previous) = self.kvs.remove(key) else {
                continue;
            };
            self.detach(Some(&previous));
            events.push(Event {
                r#type: EVENT_DELETE,
                kv: Some(KeyValue {
                    key: key.clone(),
                    mod_revision: record.revision,
                    ..Default::default()
                }),
                prev_kv: Some(previous),
            });
        }
        for id in &record.revokes {
            self.leases.remove(id);
        }
        self.revision = self.revision.max(record.revision);
        if record.snapshot {
            self.compacted = record.revision + 1;
            return None;
        }
        if record.compacted > 0 {
            self.compact(record.compacted);
        }
        if events.is_empty() {
            return None;
        }
        let change = Arc::new(Change {
            revision: record.revision,
            events,
        });
        self.history_bytes += change.bytes();
        self.history.push_back(change.clone());
        while self.history.len() > self.history_limit
            || (self.history_bytes > self.history_bytes_limit && self.history.len() > 1)
        {
            let Some(dropped) = self.history.pop_front() else {
                break;
            };
            self.history_bytes -= dropped.bytes();
            self.compacted = self.compacted.max(dropped.revision + 1);
        }
        Some(change)
    }

    fn detach(&mut self, previous: Option<&KeyValue>) {
        if let Some(previous) = previous.filter(|p| p.lease != 0) {
            if let Some(lease) = self.leases.get_mut(&previous.lease) {
                lease.keys.remove(&previous.key);
            }
        }
    }

    /// Forgets the history before `revision`.
    pub fn compact(&mut self, revision: i64) {
        let revision = revision.min(self.revision);
        while self.history.front().is_some_and(|c| c.revision < revision) {
            if let Some(dropped) = self.history.pop_front() {
                self.history_bytes -= dropped.bytes();
            }
        }
        self.compacted = self.compacted.max(revision);
    }
}

/// When a lease of `ttl` seconds renewed at `now` runs out. The TTL is within
/// [`crate::config::MAX_LEASE_TTL`] when granted; a log written before that check may hold a
/// larger one, which runs as long as the maximum.
fn lease_deadline(now: Instant, ttl: i64) -> Instant {
    let seconds = ttl.clamp(1, crate::config::MAX_LEASE_TTL) as u64;
    now.checked_add(Duration::from_secs(seconds))
        .unwrap_or_else(|| now + Duration::from_secs(100 * 365 * 86_400))
}

/// Sets the header revision of a transaction's answer and of each operation's answer.
pub fn set_revision(response: &mut TxnResponse, revision: i64) {
    response.header = Some(crate::config::header(revision));
    for op in &mut response.responses {
        match &mut op.response {
            Some(Response::Range(r)) => r.header = Some(crate::config::header(revision)),
            Some(Response::Put(r)) => r.header = Some(crate::config::header(revision)),
            Some(Response::DeleteRange(r)) => r.header = Some(crate::config::header(revision)),
            None => {}
        }
    }
}
