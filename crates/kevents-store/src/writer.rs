//! The single writer: batches mutations, checks them against the head, appends them to the log
//! with one fsync per batch (group commit), then publishes them. Nothing is acknowledged before
//! its batch is durable.

use crate::entry::{Change, ChangeType, LogEntry, LogOp, StoredEvent};
use crate::frame::encode_frame;
use crate::log::{change_from, Log};
use crate::{Committed, Mutation, Shared, StoreError};
use kevents_model::{EventKey, Micros};
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot};

/// Most mutations committed by one fsync.
const MAX_BATCH: usize = 4096;

pub(crate) enum Request {
    Mutate(
        Box<Mutation>,
        oneshot::Sender<Result<Committed, StoreError>>,
    ),
    /// Commit everything queued before it, then write a checkpoint and answer when it is done;
    /// with `true`, the checkpoint also rewrites every cold file with dead rows (retention needs
    /// the space back).
    Checkpoint(CheckpointDone, bool),
    /// A checkpoint finished on its thread: install it, then answer these.
    Sealed(
        Box<Result<crate::tiering::Sealed, StoreError>>,
        Vec<CheckpointDone>,
    ),
    Shutdown(oneshot::Sender<()>),
}

/// Answered with the checkpoint's version once it is durable.
pub(crate) type CheckpointDone = oneshot::Sender<Result<u64, StoreError>>;

pub(crate) struct Writer {
    pub shared: Arc<Shared>,
    pub log: Log,
    pub requests: mpsc::Receiver<Request>,
    /// Forced checkpoints waiting for the running one to finish.
    pub waiting: Vec<CheckpointDone>,
    /// One of them wants dead rows reclaimed.
    pub reclaim: bool,
    /// Writes held back while the head is at its limit and a checkpoint is moving events out
    /// (their callers wait for their replies, so this holds at most what is in flight).
    pub deferred: Vec<PendingWrite>,
}

type Reply = oneshot::Sender<Result<Committed, StoreError>>;
pub(crate) type PendingWrite = (Mutation, Reply);

/// A mutation that passed its checks, waiting for its batch to be durable: the change it makes,
/// worked out against the head and the batch's earlier writes when it was staged (only this
/// thread changes the head, so it still holds when the batch is applied).
struct Staged {
    change: Change,
    reply: Reply,
}

impl Writer {
    pub fn run(mut self) {
        let mut batch = Vec::with_capacity(MAX_BATCH);
        let mut shutdown = None;
        let mut checkpoint = None;
        while shutdown.is_none() {
            let Some(first) = self.requests.blocking_recv() else {
                break;
            };
            let hold = self.head_at_limit();
            let mut next = Some(first);
            while let Some(request) = next.take() {
                match request {
                    Request::Mutate(mutation, reply) if hold => {
                        self.deferred.push((*mutation, reply));
                    }
                    Request::Mutate(mutation, reply) => batch.push((*mutation, reply)),
                    Request::Shutdown(reply) => {
                        shutdown = Some(reply);
                        break;
                    }
                    Request::Checkpoint(reply, reclaim) => {
                        checkpoint = Some(reply);
                        self.reclaim |= reclaim;
                        break;
                    }
                    Request::Sealed(result, done) => {
                        if !batch.is_empty() {
                            self.commit(&mut batch);
                        }
                        self.install(*result, done);
                        break;
                    }
                }
                if batch.len() < MAX_BATCH {
                    next = self.requests.try_recv().ok();
                }
            }
            if !self.deferred.is_empty() && !self.head_at_limit() {
                // Held-back writes go first: they arrived before this batch.
                let mut released = std::mem::take(&mut self.deferred);
                released.append(&mut batch);
                batch = released;
            }
            if !batch.is_empty() {
                self.commit(&mut batch);
            }
            self.maintain(checkpoint.take());
        }
        // Whatever was held back is committed before the log closes.
        batch.append(&mut self.deferred);
        if !batch.is_empty() {
            self.commit(&mut batch);
        }
        self.requests.close();
        self.log.finish();
        tracing::debug!("store writer stopped");
        if let Some(reply) = shutdown {
            let _ = reply.send(());
        }
    }

    fn commit(&mut self, batch: &mut Vec<PendingWrite>) {
        let now = Micros::now();
        let max_entry = self.shared.config.max_event_bytes;
        let mut staged: Vec<Staged> = Vec::with_capacity(batch.len());
        let mut rejected = Vec::new();
        let mut frames = Vec::new();
        {
            let head = self.shared.head.read();
            // The state of keys written earlier in this batch: None = deleted in this batch.
            let mut overlay: crate::FastMap<EventKey, Option<Arc<StoredEvent>>> =
                Default::default();
            let mut next_rv = head.resource_version;
            for (mutation, reply) in batch.drain(..) {
                let key = mutation.key();
                let current = match overlay.get(&key) {
                    Some(state) => state.clone(),
                    None => head.current(&key),
                };
                let op = match check(mutation, current.as_deref()) {
                    Ok(Some(op)) => op,
                    // An expiry that lost a race with an update: nothing to do.
                    Ok(None) => {
                        rejected.push((reply, Err(StoreError::Skipped)));
                        continue;
                    }
                    Err(e) => {
                        rejected.push((reply, Err(e)));
                        continue;
                    }
                };
                let mut entry = LogEntry {
                    rv: next_rv + 1,
                    at: now,
                    op,
                };
                if let LogOp::Put(record) = &mut entry.op {
                    record.resource_version = entry.rv;
                }
                let payload = serde_json::to_vec(&entry).expect("log entries always serialize");
                if payload.len() > max_entry {
                    rejected.push((
                        reply,
                        Err(StoreError::TooLarge {
                            bytes: payload.len(),
                            limit: max_entry,
                        }),
                    ));
                    continue;
                }
                // `check` makes neither a delete of nothing nor a checkpoint marker.
                let Some(change) = change_from(entry, current) else {
                    rejected.push((reply, Err(StoreError::Skipped)));
                    continue;
                };
                next_rv = change.resource_version;
                encode_frame(&payload, &mut frames);
                let state =
                    (change.change_type != ChangeType::Deleted).then(|| change.object.clone());
                overlay.insert(key, state);
                staged.push(Staged { change, reply });
            }
        }
        if !frames.is_empty() {
            if let Err(e) = self.log.append(&frames) {
                tracing::error!(error = %e, "log append failed; batch rejected");
                for item in staged {
                    let _ = item.reply.send(Err(e.clone()));
                }
                for (reply, result) in rejected {
                    let _ = reply.send(result);
                }
                return;
            }
        }
        let mut replies = Vec::with_capacity(staged.len());
        {
            let mut head = self.shared.head.write();
            for item in staged {
                let change = Arc::new(item.change);
                head.apply(change.clone(), self.shared.config.ttl_micros);
                // Sent under the lock so a watcher subscribing under the read lock sees no gap.
                let _ = self.shared.feed.send(change.clone());
                replies.push((item.reply, change));
            }
            let oldest = Micros(now.0.saturating_sub(self.shared.config.ttl_micros));
            head.trim_history(self.shared.config.history_limit, oldest);
        }
        for (reply, change) in replies {
            let _ = reply.send(Ok(Committed {
                created: change.previous.is_none(),
                object: change.object.clone(),
            }));
        }
        for (reply, result) in rejected {
            let _ = reply.send(result);
        }
    }

    /// True when new writes wait: the head holds twice `hot_events` and a running checkpoint
    /// will move events out. This bounds the head's memory when writes come faster than
    /// checkpoints seal them; without a running checkpoint nothing waits (one starts instead).
    fn head_at_limit(&mut self) -> bool {
        let limit = self.shared.config.log.hot_events.saturating_mul(2);
        self.log.checkpoints().running() && self.shared.head.read().events.len() >= limit
    }

    /// Rotates the log or starts a checkpoint when due, or when `forced` asks for one.
    fn maintain(&mut self, forced: Option<CheckpointDone>) {
        self.waiting.extend(forced);
        let head_events = self.shared.head.read().events.len();
        let running = self.log.checkpoints().running();
        let result =
            if !running && (!self.waiting.is_empty() || self.log.wants_checkpoint(head_events)) {
                self.start_checkpoint()
            } else if self.log.wants_rotation() {
                let next = self.shared.head.read().resource_version + 1;
                self.log.rotate(next)
            } else {
                Ok(())
            };
        if let Err(e) = result {
            tracing::error!(error = %e, "log maintenance failed; will retry after the next batch");
        }
        self.shared
            .disk_bytes
            .store(self.log.disk_bytes(), std::sync::atomic::Ordering::Relaxed);
    }

    /// Plans a checkpoint as of the current version and hands it to the checkpoint thread.
    fn start_checkpoint(&mut self) -> Result<(), StoreError> {
        let ttl = self.shared.config.ttl_micros;
        // Only this thread changes the head, so the plan and the start of change tracking
        // see the same version.
        self.shared.head.write().touched = Some(Default::default());
        let plan = {
            let head = self.shared.head.read();
            let policy = self.shared.config.log.tier_policy();
            crate::tiering::plan(&head, Micros::now(), policy, ttl, self.reclaim)
        };
        self.reclaim = false;
        let done = std::mem::take(&mut self.waiting);
        let started = self.log.start_checkpoint(plan, done);
        if started.is_err() {
            self.shared.head.write().touched = None;
        }
        started
    }

    /// Makes a finished checkpoint the state of the tiers and answers who waited for it.
    fn install(
        &mut self,
        result: Result<crate::tiering::Sealed, StoreError>,
        done: Vec<CheckpointDone>,
    ) {
        let ttl = self.shared.config.ttl_micros;
        let (answer, hot_bytes) = match result {
            Ok(sealed) => {
                let (rv, hot_bytes) = (sealed.rv, sealed.hot_bytes);
                let dir = self.log.dir().to_path_buf();
                let mut head = self.shared.head.write();
                let installed = crate::tiering::install(&mut head, &dir, sealed, ttl);
                if let Err(e) = &installed {
                    tracing::error!(error = %e, "could not open the new cold file");
                }
                (installed.map(|_| rv), Some(hot_bytes))
            }
            Err(e) => {
                self.shared.head.write().touched = None;
                (Err(e), None)
            }
        };
        self.log.checkpoints().finished(hot_bytes);
        for done in done {
            let _ = done.send(answer.clone());
        }
    }
}

/// Checks a mutation against the current state of its key; returns the log op to commit.
fn check(mutation: Mutation, current: Option<&StoredEvent>) -> Result<Option<LogOp>, StoreError> {
    match mutation {
        Mutation::Create(record) => match current {
            Some(_) => Err(StoreError::AlreadyExists(record.key())),
            None => Ok(Some(LogOp::Put(Box::new(record)))),
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
                Ok(Some(LogOp::Put(Box::new(record))))
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
                Ok(Some(LogOp::Delete(key)))
            }
        },
        Mutation::Expire { key, expected_rv } => match current {
            Some(existing) if existing.record.resource_version == expected_rv => {
                Ok(Some(LogOp::Delete(key)))
            }
            _ => Ok(None),
        },
    }
}
