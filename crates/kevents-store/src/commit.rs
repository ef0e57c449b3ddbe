//! The commit pipeline of the single writer: checks mutations against the head, appends them
//! to the log with one fsync per batch (group commit), then publishes them. Nothing is
//! acknowledged before its batch is durable.
//!
//! Commits are pipelined: while a batch's fsync runs on the sync thread, the writer checks and
//! encodes the writes that arrive into the next (open) batch, against the state the syncing
//! batch leaves (`overlay`), so the disk's flush and the writer's CPU overlap and the open
//! batch gathers everything that arrived meanwhile, as one fsync. One batch at most is
//! unsynced: the open batch is written only once the one before it is durable, so a failed
//! sync cuts the log back to that batch alone (and fails the open batch, checked against it).

use crate::check::checked_change;
use crate::disk_usage::DiskUsage;
use crate::entry::{Change, ChangeType, LogEntryRef, StoredEvent};
use crate::fast_map::FastMap;
use crate::frame::encode_frame_with;
use crate::log::{Log, Written};
use crate::log_sync::Syncer;
use crate::shared::Shared;
use crate::{Committed, Mutation, StoreError};
use kevents_model::{EventKey, Micros};
use std::sync::Arc;
use tokio::sync::oneshot;

/// The state of the commit pipeline.
pub(crate) struct Pipeline {
    syncer: Syncer,
    /// The batch being synced.
    in_flight: Option<InFlight>,
    /// The batch being gathered; its frames are in `frames`.
    open: Batch,
    /// The state of keys written by the batch in flight and the open one (`None` = deleted),
    /// with the sequence number of the batch that wrote it: what the head will be.
    overlay: FastMap<EventKey, (u64, Option<Arc<StoredEvent>>)>,
    /// The version of the last staged write, while anything is staged.
    staged_rv: Option<u64>,
    /// The open batch's frames (the buffer is kept to reuse its allocation).
    frames: Vec<u8>,
}

impl Pipeline {
    pub fn start(shared: Arc<Shared>) -> Result<Pipeline, StoreError> {
        Ok(Pipeline {
            syncer: Syncer::start(shared)?,
            in_flight: None,
            open: Batch::new(0),
            overlay: Default::default(),
            staged_rv: None,
            frames: Vec::new(),
        })
    }

    /// Mutations in the open batch (staged or refused).
    pub fn open_len(&self) -> usize {
        self.open.len()
    }

    /// True while a written batch's sync runs.
    pub fn syncing(&self) -> bool {
        self.in_flight.is_some()
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

/// The pipeline with what it works on: the log it appends to, the head and feeds it publishes
/// to, and the disk usage it adds appends to. The writer lends them for each step.
pub(crate) struct Committer<'a> {
    pub pipeline: &'a mut Pipeline,
    pub log: &'a mut Log,
    pub shared: &'a Shared,
    pub disk: &'a mut DiskUsage,
}

impl Committer<'_> {
    /// Finishes the batch in flight if its sync is done, then, with nothing in flight, writes
    /// the open batch and starts its sync.
    pub(crate) fn advance(&mut self) {
        self.finish_in_flight(false);
        if self.pipeline.in_flight.is_none() {
            self.write_open();
        }
    }

    /// Waits until the batch in flight is durable and finishes it, then writes the open batch
    /// and starts its sync.
    pub(crate) fn advance_after_sync(&mut self) {
        self.finish_in_flight(true);
        self.write_open();
    }

    /// Leaves nothing staged or unsynced: every write so far is durable and applied (or failed).
    pub(crate) fn drain(&mut self) {
        self.finish_in_flight(true);
        self.write_open();
        self.finish_in_flight(true);
    }

    /// Checks and encodes writes into the open batch, against the head and the writes staged
    /// before them.
    pub(crate) fn stage(&mut self, writes: &mut Vec<PendingWrite>) {
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
            let rv = next_rv + 1;
            let change = match checked_change(mutation, current, rv, now) {
                Ok(change) => change,
                Err(e) => {
                    open.rejected.push((reply, Err(e)));
                    continue;
                }
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
                *self.shared.write_failure.lock() = Some(e.clone());
                self.disk.files_changed = true;
                self.forget(batch.seq);
                fail(batch, &e);
            }
        }
    }

    /// Finishes the batch in flight once its sync is done; waits for it with `wait`.
    pub(crate) fn finish_in_flight(&mut self, wait: bool) {
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
        *self.shared.write_failure.lock() = Some(error.clone());
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
            let config = &self.shared.config;
            head.history
                .trim(config.history_limit, config.history_bytes_limit, oldest);
        }
        self.forget(batch.seq);
        self.shared.write_failure.lock().take();
        for (reply, change) in replies {
            let _ = reply.send(Ok(Committed {
                created: change.previous.is_none(),
                object: change.object.clone(),
            }));
        }
        answer(batch.rejected);
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

    /// After a failed sync the store does not accept writes while a probe write fails too
    /// (a full disk), accepts them again once the disk does, and after it is closed never.
    #[tokio::test]
    async fn a_failed_sync_stops_accepting_writes_until_the_disk_takes_them_again() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(StoreConfig::new(dir.path())).unwrap();
        assert_eq!(store.accepts_writes(), Ok(()));
        // The write's sync fails, and so does the first probe.
        store.shared.sync_faults.store(2, Relaxed);
        let failed = store.write(Mutation::Create(record("a"))).await;
        assert!(matches!(failed, Err(StoreError::Io { .. })), "{failed:?}");
        let refused = store.accepts_writes();
        assert!(matches!(refused, Err(StoreError::Io { .. })), "{refused:?}");
        assert_eq!(
            store.accepts_writes(),
            Ok(()),
            "the disk takes writes again"
        );
        store.write(Mutation::Create(record("a"))).await.unwrap();
        assert!(
            store.shared.write_failure.lock().is_none(),
            "a commit clears the failure"
        );
        assert!(
            !dir.path().join("write-probe.tmp").exists(),
            "the probe file is removed"
        );
        store.close().await;
        assert_eq!(store.accepts_writes(), Err(StoreError::Closed));
    }
}
