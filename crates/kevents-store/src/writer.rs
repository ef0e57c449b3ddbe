//! The single writer: takes mutations and maintenance requests off one queue, commits the
//! mutations through the pipeline in `commit.rs` (nothing is acknowledged before its batch is
//! durable), and rotates the log, starts checkpoints and installs them in between.

use crate::commit::{Committer, PendingWrite, Pipeline};
use crate::disk_usage::DiskUsage;
use crate::log::Log;
use crate::request::{CheckpointDone, Request};
use crate::shared::Shared;
use crate::StoreError;
use kevents_model::Micros;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use tokio::sync::mpsc;

/// Most mutations committed by one fsync.
const MAX_BATCH: usize = 4096;

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

impl Writer {
    /// The commit pipeline with what it works on, borrowed for one step.
    fn committer(&mut self) -> Committer<'_> {
        Committer {
            pipeline: &mut self.pipeline,
            log: &mut self.log,
            shared: &self.shared,
            disk: &mut self.disk,
        }
    }

    pub fn run(mut self) {
        let mut batch = Vec::with_capacity(MAX_BATCH);
        let mut shutdown = None;
        let mut checkpoint = None;
        while shutdown.is_none() {
            let first = match self.requests.try_recv() {
                Ok(request) => request,
                Err(mpsc::error::TryRecvError::Empty) if self.pipeline.syncing() => {
                    // Nothing waits and a batch is being synced: sleep until it is durable
                    // instead of waking for every write that arrives meanwhile (a thread
                    // switch each); they are staged together once it is.
                    self.committer().advance_after_sync();
                    self.maintain(None);
                    continue;
                }
                Err(mpsc::error::TryRecvError::Empty) => match self.requests.blocking_recv() {
                    Some(request) => request,
                    None => break,
                },
                Err(mpsc::error::TryRecvError::Disconnected) => break,
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
                        self.committer().stage(&mut batch);
                        self.committer().drain();
                        self.install(*result, done);
                        break;
                    }
                }
                if batch.len() + self.pipeline.open_len() < MAX_BATCH {
                    next = self.requests.try_recv().ok();
                }
            }
            if !self.deferred.is_empty() && !self.head_at_limit() {
                // Held-back writes go first: they arrived before this batch.
                let mut released = std::mem::take(&mut self.deferred);
                released.append(&mut batch);
                batch = released;
            }
            self.committer().stage(&mut batch);
            if self.pipeline.open_len() >= MAX_BATCH {
                self.committer().finish_in_flight(true);
            }
            self.committer().advance();
            self.maintain(checkpoint.take());
        }
        // Whatever was held back is committed before the log closes.
        batch.append(&mut self.deferred);
        self.committer().stage(&mut batch);
        self.committer().drain();
        self.requests.close();
        self.log.finish();
        tracing::debug!("store writer stopped");
        if let Some(reply) = shutdown {
            let _ = reply.send(());
        }
    }

    /// True when new writes wait: the head holds twice `hot_events` and a running checkpoint
    /// will move events out. This bounds the head's memory when writes come faster than
    /// checkpoints seal them; without a running checkpoint nothing waits (one starts instead).
    fn head_at_limit(&mut self) -> bool {
        let limit = self.shared.config.tiers.hot_events.saturating_mul(2);
        self.log.checkpoints().running() && self.shared.head.read().events.len() >= limit
    }

    /// Rotates the log or starts a checkpoint when due, or when `forced` asks for one.
    /// Both need the pipeline drained: a checkpoint plans from the head, and a rotation must
    /// not leave an unsynced batch in the segment it closes.
    fn maintain(&mut self, forced: Option<CheckpointDone>) {
        self.waiting.extend(forced);
        let head_events = self.shared.head.read().events.len();
        let running = self.log.checkpoints().running();
        let result = if !running
            && (!self.waiting.is_empty()
                || self
                    .log
                    .wants_checkpoint(head_events, self.shared.config.tiers.hot_events))
        {
            self.committer().drain();
            self.disk.files_changed = true;
            self.start_checkpoint()
        } else if self.log.wants_rotation() {
            self.committer().drain();
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
            let policy = crate::tiering::TierPolicy::of(&self.shared.config.tiers);
            crate::tiering::plan(&head, Micros::now(), policy, ttl, self.reclaim)
        };
        self.reclaim = false;
        let done = std::mem::take(&mut self.waiting);
        let started = self.log.start_checkpoint(plan, done);
        if started.is_err() {
            self.shared.head.write().touched = None;
        }
        // What the checkpointer says, not the answer: a thread that could not start is none.
        let running = self.log.checkpoints().running();
        self.shared.checkpointing.store(running, Ordering::Relaxed);
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
        let running = self.log.checkpoints().running();
        self.shared.checkpointing.store(running, Ordering::Relaxed);
        self.shared.checkpoints.fetch_add(1, Ordering::Relaxed);
        self.disk.files_changed = true;
        for done in done {
            let _ = done.send(answer.clone());
        }
    }
}
