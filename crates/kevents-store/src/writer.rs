//! The single writer: batches mutations, checks them against the head, appends them to the log
//! with one fsync per batch (group commit), then publishes them. Nothing is acknowledged before
//! its batch is durable.
//!
//! Commits are pipelined: while a batch's fsync runs on the sync thread, the writer checks and
//! encodes the writes that arrive into the next (open) batch, against the state the syncing
//! batch leaves (`overlay`), so the disk's flush and the writer's CPU overlap and the open
//! batch gathers everything that arrived meanwhile, as one fsync. One batch at most is
//! unsynced: the open batch is written only once the one before it is durable, so a failed
//! sync cuts the log back to that batch alone (and fails the open batch, checked against it).

use crate::entry::{Change, ChangeType, LogEntryRef, StoredEvent};
use crate::frame::encode_frame_with;
use crate::log::{delete_change, put_change, Log, Written};
use crate::log_sync::Syncer;
use crate::{Committed, Mutation, Shared, StoreError};
use kevents_model::{EventKey, EventRecord, Micros};
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
    /// The sync thread finished a sync: the batch in flight may be answered.
    Synced,
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
    pub pipeline: Pipeline,
    pub disk: DiskUsage,
}

/// Keeps `Shared::disk_bytes` current without listing the log directory after every batch:
/// appends are added up, and the directory is listed again when its files changed (rotation,
/// checkpoints) or a second after the last listing.
pub(crate) struct DiskUsage {
    listed: std::time::Instant,
    appended: u64,
    files_changed: bool,
}

impl DiskUsage {
    const LIST_EVERY: std::time::Duration = std::time::Duration::from_secs(1);

    pub fn new() -> DiskUsage {
        DiskUsage {
            listed: std::time::Instant::now(),
            appended: 0,
            files_changed: false,
        }
    }

    fn publish(&mut self, shared: &Shared, log: &Log) {
        use std::sync::atomic::Ordering::Relaxed;
        if self.files_changed || self.listed.elapsed() >= Self::LIST_EVERY {
            shared.disk_bytes.store(log.disk_bytes(), Relaxed);
            self.listed = std::time::Instant::now();
            self.files_changed = false;
        } else if self.appended > 0 {
            shared.disk_bytes.fetch_add(self.appended, Relaxed);
        }
        self.appended = 0;
    }
}

/// The state of the commit pipeline.
pub(crate) struct Pipeline {
    syncer: Syncer,
    /// The batch being synced.
    in_flight: Option<InFlight>,
    /// The batch being gathered; its frames are in `frames`.
    open: Batch,
    /// The state of keys written by the batch in flight and the open one (`None` = deleted),
    /// with the sequence number of the batch that wrote it: what the head will be.
    overlay: crate::FastMap<EventKey, (u64, Option<Arc<StoredEvent>>)>,
    /// The version of the last staged write, while anything is staged.
    staged_rv: Option<u64>,
    /// The open batch's frames (the buffer is kept to reuse its allocation).
    frames: Vec<u8>,
}

impl Pipeline {
    pub fn start(
        wake: mpsc::WeakSender<Request>,
        shared: Arc<Shared>,
    ) -> Result<Pipeline, StoreError> {
        Ok(Pipeline {
            syncer: Syncer::start(wake, shared)?,
            in_flight: None,
            open: Batch::new(0),
            overlay: Default::default(),
            staged_rv: None,
            frames: Vec::new(),
        })
    }
}

type Reply = oneshot::Sender<Result<Committed, StoreError>>;
pub(crate) type PendingWrite = (Mutation, Reply);
type Answer = (Reply, Result<Committed, StoreError>);

/// A mutation that passed its checks, waiting for its batch to be durable: the change it makes,
/// worked out against the head and the earlier staged writes when it was staged (only this
/// thread changes the head, so it still holds when the batch is applied).
struct Staged {
    change: Change,
    reply: Reply,
}

/// A batch checked and encoded, not yet in the log.
struct Batch {
    seq: u64,
    staged: Vec<Staged>,
    /// Mutations refused by their checks; answered when the batch is, since a refusal may rest
    /// on a write of the batch before it.
    rejected: Vec<Answer>,
}

impl Batch {
    fn new(seq: u64) -> Batch {
        Batch {
            seq,
            staged: Vec::new(),
            rejected: Vec::new(),
        }
    }

    fn len(&self) -> usize {
        self.staged.len() + self.rejected.len()
    }

    /// This batch, leaving the next one (empty) in its place.
    fn take(&mut self) -> Batch {
        let next = Batch::new(self.seq + 1);
        std::mem::replace(self, next)
    }
}

/// A batch written to the log whose sync is running.
struct InFlight {
    batch: Batch,
    /// Where it starts in the active segment.
    start: u64,
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
                    // Handled below, with whatever else arrived.
                    Request::Synced => {}
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
                        self.stage(&mut batch);
                        self.drain();
                        self.install(*result, done);
                        break;
                    }
                }
                if batch.len() + self.pipeline.open.len() < MAX_BATCH {
                    next = self.requests.try_recv().ok();
                }
            }
            if !self.deferred.is_empty() && !self.head_at_limit() {
                // Held-back writes go first: they arrived before this batch.
                let mut released = std::mem::take(&mut self.deferred);
                released.append(&mut batch);
                batch = released;
            }
            self.stage(&mut batch);
            if self.pipeline.open.len() >= MAX_BATCH {
                self.finish_in_flight(true);
            }
            self.advance();
            self.maintain(checkpoint.take());
        }
        // Whatever was held back is committed before the log closes.
        batch.append(&mut self.deferred);
        self.stage(&mut batch);
        self.drain();
        self.requests.close();
        self.log.finish();
        tracing::debug!("store writer stopped");
        if let Some(reply) = shutdown {
            let _ = reply.send(());
        }
    }

    /// Finishes the batch in flight if its sync is done, then, with nothing in flight, writes
    /// the open batch and starts its sync.
    fn advance(&mut self) {
        self.finish_in_flight(false);
        if self.pipeline.in_flight.is_none() {
            self.write_open();
        }
    }

    /// Leaves nothing staged or unsynced: every write so far is durable and applied (or failed).
    fn drain(&mut self) {
        self.finish_in_flight(true);
        self.write_open();
        self.finish_in_flight(true);
    }

    /// Checks and encodes writes into the open batch, against the head and the writes staged
    /// before them.
    fn stage(&mut self, writes: &mut Vec<PendingWrite>) {
        if writes.is_empty() {
            return;
        }
        let now = Micros::now();
        let max_entry = self.shared.config.max_event_bytes;
        let pipeline = &mut self.pipeline;
        let open = &mut pipeline.open;
        let head = self.shared.head.read();
        let mut next_rv = pipeline.staged_rv.unwrap_or(head.resource_version);
        for (mutation, reply) in writes.drain(..) {
            let key = mutation.key();
            let current = match pipeline.overlay.get(&key) {
                Some((_, state)) => state.clone(),
                None => head.current(&key),
            };
            let checked = match check(mutation, current.as_ref()) {
                Ok(Some(checked)) => checked,
                // An expiry that lost a race with an update: nothing to do.
                Ok(None) => {
                    open.rejected.push((reply, Err(StoreError::Skipped)));
                    continue;
                }
                Err(e) => {
                    open.rejected.push((reply, Err(e)));
                    continue;
                }
            };
            let rv = next_rv + 1;
            let change = match checked {
                Checked::Put(record) => put_change(rv, now, record, current),
                Checked::Delete(existing) => delete_change(rv, now, existing),
            };
            let frame_start = pipeline.frames.len();
            let payload = encode_frame_with(&mut pipeline.frames, |out| {
                serde_json::to_writer(out, &LogEntryRef::of(&change, &key))
                    .expect("log entries always serialize")
            });
            if payload > max_entry {
                pipeline.frames.truncate(frame_start);
                open.rejected.push((
                    reply,
                    Err(StoreError::TooLarge {
                        bytes: payload,
                        limit: max_entry,
                    }),
                ));
                continue;
            }
            next_rv = rv;
            let state = (change.change_type != ChangeType::Deleted).then(|| change.object.clone());
            pipeline.overlay.insert(key, (open.seq, state));
            open.staged.push(Staged { change, reply });
        }
        pipeline.staged_rv = Some(next_rv);
    }

    /// With nothing in flight, writes the open batch's frames and hands it to the sync thread;
    /// a batch that wrote nothing is answered at once (everything before it is durable).
    fn write_open(&mut self) {
        debug_assert!(self.pipeline.in_flight.is_none());
        let pipeline = &mut self.pipeline;
        if pipeline.open.len() == 0 {
            return;
        }
        let batch = pipeline.open.take();
        if batch.staged.is_empty() {
            self.forget(batch.seq);
            answer(batch.rejected);
            return;
        }
        let written = self.log.write(&self.pipeline.frames);
        let bytes = self.pipeline.frames.len() as u64;
        self.pipeline.frames.clear();
        match written {
            Ok(Written { segment, start }) => {
                self.disk.appended += bytes;
                self.pipeline.syncer.submit(segment);
                self.pipeline.in_flight = Some(InFlight { batch, start });
            }
            Err(e) => {
                tracing::error!(error = %e, "log append failed; batch rejected");
                self.disk.files_changed = true;
                self.forget(batch.seq);
                fail(batch, &e);
            }
        }
    }

    /// Finishes the batch in flight once its sync is done; waits for it with `wait`.
    fn finish_in_flight(&mut self, wait: bool) {
        if self.pipeline.in_flight.is_none() {
            return;
        }
        let synced = match wait {
            true => self.pipeline.syncer.wait(),
            false => match self.pipeline.syncer.try_result() {
                Some(synced) => synced,
                None => return,
            },
        };
        let Some(in_flight) = self.pipeline.in_flight.take() else {
            return;
        };
        match synced {
            Ok(()) => self.apply(in_flight.batch),
            Err(e) => self.fail_sync(in_flight, e),
        }
    }

    /// The batch in flight did not become durable: the log is cut back to where it began and
    /// its writers get the error, and so do the open batch's, checked against its writes.
    fn fail_sync(&mut self, in_flight: InFlight, e: std::io::Error) {
        let error = StoreError::io("syncing the log", e);
        tracing::error!(error = %error, "log sync failed; batch rejected");
        self.log.undo(in_flight.start);
        self.disk.files_changed = true;
        let pipeline = &mut self.pipeline;
        let open = pipeline.open.take();
        pipeline.frames.clear();
        pipeline.overlay.clear();
        pipeline.staged_rv = None;
        fail(in_flight.batch, &error);
        fail(open, &error);
    }

    /// Drops the overlay's entries written by batch `seq` and before: the head has them now,
    /// or they were never written.
    fn forget(&mut self, seq: u64) {
        let pipeline = &mut self.pipeline;
        if pipeline.in_flight.is_none() && pipeline.open.len() == 0 {
            pipeline.overlay.clear();
            pipeline.staged_rv = None;
        } else {
            pipeline
                .overlay
                .retain(|_, (written_by, _)| *written_by > seq);
        }
    }

    /// Publishes a durable batch: the head, the change feed, then the replies.
    fn apply(&mut self, batch: Batch) {
        let now = Micros::now();
        let mut replies = Vec::with_capacity(batch.staged.len());
        {
            let mut head = self.shared.head.write();
            let mut changes = Vec::with_capacity(batch.staged.len());
            for item in batch.staged {
                let change = Arc::new(item.change);
                head.apply(change.clone(), self.shared.config.ttl_micros);
                changes.push(change.clone());
                replies.push((item.reply, change));
            }
            // Sent under the lock so a watcher subscribing under the read lock sees no gap.
            self.shared.feeds.publish(&changes);
            let oldest = Micros(now.0.saturating_sub(self.shared.config.ttl_micros));
            head.trim_history(self.shared.config.history_limit, oldest);
        }
        self.forget(batch.seq);
        for (reply, change) in replies {
            let _ = reply.send(Ok(Committed {
                created: change.previous.is_none(),
                object: change.object.clone(),
            }));
        }
        answer(batch.rejected);
    }

    /// True when new writes wait: the head holds twice `hot_events` and a running checkpoint
    /// will move events out. This bounds the head's memory when writes come faster than
    /// checkpoints seal them; without a running checkpoint nothing waits (one starts instead).
    fn head_at_limit(&mut self) -> bool {
        let limit = self.shared.config.log.hot_events.saturating_mul(2);
        self.log.checkpoints().running() && self.shared.head.read().events.len() >= limit
    }

    /// Rotates the log or starts a checkpoint when due, or when `forced` asks for one.
    /// Both need the pipeline drained: a checkpoint plans from the head, and a rotation must
    /// not leave an unsynced batch in the segment it closes.
    fn maintain(&mut self, forced: Option<CheckpointDone>) {
        self.waiting.extend(forced);
        let head_events = self.shared.head.read().events.len();
        let running = self.log.checkpoints().running();
        let result =
            if !running && (!self.waiting.is_empty() || self.log.wants_checkpoint(head_events)) {
                self.drain();
                self.disk.files_changed = true;
                self.start_checkpoint()
            } else if self.log.wants_rotation() {
                self.drain();
                self.disk.files_changed = true;
                let next = self.shared.head.read().resource_version + 1;
                self.log.rotate(next)
            } else {
                Ok(())
            };
        if let Err(e) = result {
            tracing::error!(error = %e, "log maintenance failed; will retry after the next batch");
        }
        self.disk.publish(&self.shared, &self.log);
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
        self.disk.files_changed = true;
        for done in done {
            let _ = done.send(answer.clone());
        }
    }
}

/// Answers refused mutations.
fn answer(answers: Vec<Answer>) {
    for (reply, result) in answers {
        let _ = reply.send(result);
    }
}

/// Answers a batch that did not become durable: its writes get `error`, its refusals stand.
fn fail(batch: Batch, error: &StoreError) {
    for item in batch.staged {
        let _ = item.reply.send(Err(error.clone()));
    }
    answer(batch.rejected);
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

#[cfg(test)]
mod tests {
    use crate::{Mutation, Store, StoreConfig, StoreError};
    use kevents_model::{EventKey, EventRecord};
    use std::sync::atomic::Ordering::Relaxed;

    fn record(name: &str) -> EventRecord {
        EventRecord {
            namespace: "ns".into(),
            name: name.into(),
            uid: format!("uid-{name}"),
            ..Default::default()
        }
    }

    /// A batch whose sync fails is cut off the log and its writers get the error; what was
    /// written before stays, what comes after takes the failed batch's versions, and a
    /// restart finds exactly the acknowledged writes.
    #[tokio::test]
    async fn a_failed_sync_fails_its_batch_and_the_log_goes_on_without_it() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(StoreConfig::new(dir.path())).unwrap();
        let first = store.write(Mutation::Create(record("a"))).await.unwrap();
        store.shared.sync_faults.store(1, Relaxed);
        let failed = store.write(Mutation::Create(record("b"))).await;
        assert!(matches!(failed, Err(StoreError::Io { .. })), "{failed:?}");
        assert!(store.get(&EventKey::new("ns", "b")).is_none());
        // The failed create left nothing behind: the same name can be created, at the
        // version the failed write had.
        let again = store.write(Mutation::Create(record("b"))).await.unwrap();
        let rv = |c: &crate::Committed| c.object.record.resource_version;
        let reused = rv(&first) + 1;
        assert_eq!(rv(&again), reused, "the failed write's version is reused");
        store.write(Mutation::Create(record("c"))).await.unwrap();
        let version = store.resource_version();
        store.close().await;

        let reopened = Store::open(StoreConfig::new(dir.path())).unwrap();
        assert_eq!(reopened.resource_version(), version);
        for name in ["a", "b", "c"] {
            assert!(reopened.get(&EventKey::new("ns", name)).is_some(), "{name}");
        }
        reopened.close().await;
    }
}
