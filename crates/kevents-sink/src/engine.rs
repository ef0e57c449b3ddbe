//! One sink's delivery loop: follows the store's change feed from the sink's durable cursor,
//! routes and applies the update policy, batches, keeps a bounded number of batches in flight
//! (and stops reading while they are stuck), and saves the cursor once everything below it is
//! acknowledged. A cursor older than the retained history is caught up from current state,
//! with the gap reported.

use crate::config::StartAt;
use crate::delivery::{Delivery, Emission};
use crate::files::CursorFile;
use crate::metrics::SinkCounters;
use crate::policy::{Action, ChangeKind, PolicyState};
use crate::progress::{Batch, Progress};
use crate::route::Route;
use crate::worker::Worker;
use kevents_model::{EventKey, Micros};
use kevents_store::{
    Change, ChangeType, EventStore, Follow, ListQuery, Store, StoredEvent, TooOld,
};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::task::{Id, JoinSet};
use tokio::time::Instant;

/// The loop was asked to stop.
struct Stopped;

/// How often the cursor is saved at most (and the policy and lag checked).
const TICK: Duration = Duration::from_secs(1);
/// How long in-flight batches may finish after shutdown.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// A sink's running state.
pub struct Engine {
    pub(crate) worker: Arc<Worker>,
    pub(crate) store: Store,
    pub(crate) hub_cluster: String,
    pub(crate) route: Route,
    pub(crate) start_at: StartAt,
    pub(crate) concurrency: usize,
    pub(crate) cursor_file: CursorFile,
    pub(crate) counters: SinkCounters,
    pub(crate) policy: PolicyState,
    pub(crate) batch: Batch,
    pub(crate) progress: Progress,
    pub(crate) in_flight: JoinSet<Vec<u64>>,
    pub(crate) in_flight_since: HashMap<Id, Micros>,
    pub(crate) saved: Option<u64>,
    pub(crate) last_save: Instant,
    pub(crate) ticker: tokio::time::Interval,
    pub(crate) shutdown: tokio::sync::watch::Receiver<bool>,
}

impl Engine {
    fn name(&self) -> &str {
        &self.worker.name
    }

    /// Runs until shutdown.
    pub async fn run(mut self) {
        // The cursor is fixed before setup so that events written while the sink's setup keeps
        // failing are still delivered afterwards.
        let mut gap = match self.cursor_file.load() {
            Ok(Some(cursor)) => {
                self.progress = Progress::new(cursor);
                self.saved = Some(cursor);
                None
            }
            Ok(None) if self.start_at == StartAt::Latest => {
                self.progress = Progress::new(self.store.resource_version());
                self.save_cursor(true);
                None
            }
            // Every change since the store began is still retained (a new hub): deliver
            // them all, every version, rather than only the current state.
            Ok(None) => match self.complete_history() {
                Some(start) => {
                    self.progress = Progress::new(start);
                    None
                }
                None => Some(None),
            },
            Err(e) => {
                tracing::warn!(sink = %self.name(), error = %e, "unreadable cursor; delivering every stored event again");
                Some(None)
            }
        };
        if self.prepare().await.is_err() {
            return;
        }
        tracing::info!(sink = %self.name(), cursor = self.progress.read(), "sink started");
        let mut changes = self.store.follow(self.progress.read());
        loop {
            let step = match gap.take() {
                Some(too_old) => self.catch_up(&mut changes, too_old).await,
                None => self.follow(&mut changes).await,
            };
            match step {
                Ok(too_old) => gap = Some(Some(too_old)),
                Err(Stopped) => break,
            }
        }
        self.finish().await;
    }

    /// Where a watch of every change since the store was created starts, while the store
    /// still retains them all.
    fn complete_history(&self) -> Option<u64> {
        let oldest = self.store.oldest_resumable();
        // A store starts at version 1 and its first change is 2: from 1 on is all of it.
        (oldest <= 1).then_some(oldest)
    }

    async fn prepare(&mut self) -> Result<(), Stopped> {
        let mut attempt = 0;
        loop {
            match self.worker.sink.prepare().await {
                crate::delivery::Verdict::Delivered => return Ok(()),
                crate::delivery::Verdict::Reject(reason) => {
                    tracing::error!(sink = %self.name(), error = %reason, "sink setup was refused; delivering anyway");
                    return Ok(());
                }
                crate::delivery::Verdict::Retry(reason) => {
                    attempt += 1;
                    let delay = self.worker.backoff.delay(attempt);
                    tracing::warn!(sink = %self.name(), error = %reason, retry_in_ms = delay.as_millis() as u64, "sink setup failed; retrying");
                    self.counters.lag.set(self.unread_lag());
                    tokio::select! {
                        _ = tokio::time::sleep(delay) => {}
                        _ = self.shutdown.changed() => return Err(Stopped),
                    }
                }
            }
        }
    }

    /// Follows the store's changes from the read position; returns when they are no longer
    /// retained (a gap to catch up).
    async fn follow(&mut self, changes: &mut Follow<Store>) -> Result<TooOld, Stopped> {
        loop {
            if self.batch.is_full() && self.in_flight.len() < self.concurrency {
                self.flush();
            }
            let deadline = self.batch.deadline();
            let room = self.in_flight.len() < self.concurrency;
            tokio::select! {
                next = changes.next(), if !self.batch.is_full() => match next {
                    Some(Ok(change)) => self.accept(&change).await?,
                    Some(Err(too_old)) => return Ok(too_old),
                    None => return Err(Stopped),
                },
                Some(done) = self.in_flight.join_next_with_id(), if !self.in_flight.is_empty() => self.settle(done),
                _ = sleep_until(deadline), if deadline.is_some() && room => self.flush(),
                _ = self.ticker.tick() => {
                    self.housekeeping();
                    let actions = self.policy.due(Micros::now());
                    self.apply(actions).await?;
                }
                _ = self.shutdown.changed() => return Err(Stopped),
            }
        }
    }

    /// Delivers the current state of every event changed after the read position, then
    /// follows `changes` from the version that state is as of.
    async fn catch_up(
        &mut self,
        changes: &mut Follow<Store>,
        too_old: Option<TooOld>,
    ) -> Result<TooOld, Stopped> {
        let after = self.progress.read();
        let target = self.store.resource_version();
        if let Some(gap) = too_old {
            self.counters.gaps.inc();
            tracing::warn!(sink = %self.name(), lost_from = gap.requested + 1, lost_to = gap.oldest,
                "sink fell behind the retained history: changes in this resourceVersion range are \
                 not delivered one by one; catching up with the current state of each event \
                 (events deleted in the range are lost)");
        }
        let mut start_after: Option<EventKey> = None;
        loop {
            let query = ListQuery {
                limit: Some(500),
                start_after: start_after.as_ref(),
                ..Default::default()
            };
            let in_range = |r: &kevents_model::EventRecord| {
                r.resource_version > after && r.resource_version <= target
            };
            let page = match self.store.list(query, in_range) {
                Ok(page) => page,
                // Only `at` queries can be too old; this one has none.
                Err(too_old) => return Ok(too_old),
            };
            for event in page.items {
                if !self.route.matches(&event.record, &self.hub_cluster) {
                    continue;
                }
                let kind = if event.record.occurrences() <= 1 {
                    ChangeKind::Created
                } else {
                    ChangeKind::Updated
                };
                // Every caught-up event owes the target position: the cursor jumps there once
                // all are acknowledged, not before.
                let at = event.updated_at;
                let actions = self.policy.on_change(kind, event, target, at);
                self.apply(actions).await?;
            }
            match page.continue_after {
                Some(key) => start_after = Some(key),
                None => break,
            }
        }
        self.progress.read_to(target);
        changes.skip_to(target);
        self.follow(changes).await
    }

    async fn accept(&mut self, change: &Change) -> Result<(), Stopped> {
        let kind = match change.change_type {
            ChangeType::Added => ChangeKind::Created,
            ChangeType::Modified => ChangeKind::Updated,
            ChangeType::Deleted => ChangeKind::Deleted,
        };
        let event = change.object.clone();
        let routed = self.route.matches(&event.record, &self.hub_cluster);
        if routed || kind == ChangeKind::Deleted {
            let actions =
                self.policy
                    .on_change(kind, event, change.resource_version, change.committed_at);
            self.apply(actions).await?;
        }
        self.progress.read_to(change.resource_version);
        Ok(())
    }

    async fn apply(&mut self, actions: Vec<Action>) -> Result<(), Stopped> {
        for action in actions {
            match action {
                Action::Emit(event, emission, position) => {
                    self.emit(event, emission, position).await?
                }
                Action::Hold(position) => self.progress.owe(position),
                Action::Release(position) => self.progress.settle(position),
            }
        }
        self.counters.held.set(self.policy.held() as i64);
        self.counters
            .held_bytes
            .set(i64::try_from(self.policy.held_bytes()).unwrap_or(i64::MAX));
        self.counters
            .sent_early
            .inc_by(self.policy.take_sent_early());
        Ok(())
    }

    async fn emit(
        &mut self,
        event: Arc<StoredEvent>,
        emission: Emission,
        position: u64,
    ) -> Result<(), Stopped> {
        self.progress.owe(position);
        let delivery = Delivery::new(event, &self.hub_cluster, emission, position);
        match self.worker.sink.encode(delivery) {
            Ok(encoded) => self.batch.push(encoded),
            Err((delivery, reason)) => {
                let encoded = crate::delivery::Encoded {
                    delivery,
                    payload: Default::default(),
                    key: String::new(),
                };
                self.worker.counters.dead_lettered.inc();
                if let Err(e) = self.worker.dead_letter.write(&encoded, &reason) {
                    tracing::error!(sink = %self.name(), error = %e, "writing the dead-letter file failed");
                }
                self.progress.settle(position);
            }
        }
        // A full batch goes out before anything else is read; with every slot busy this waits,
        // which is what keeps memory flat while the sink is down.
        while self.batch.is_full() {
            if self.in_flight.len() < self.concurrency {
                self.flush();
                break;
            }
            tokio::select! {
                Some(done) = self.in_flight.join_next_with_id() => self.settle(done),
                _ = self.ticker.tick() => self.housekeeping(),
                _ = self.shutdown.changed() => return Err(Stopped),
            }
        }
        Ok(())
    }

    fn flush(&mut self) {
        let items = self.batch.take();
        let Some(oldest) = items.iter().map(|i| i.delivery.event.updated_at).min() else {
            return;
        };
        let handle = self.in_flight.spawn(self.worker.clone().deliver(items));
        self.in_flight_since.insert(handle.id(), oldest);
    }

    fn settle(&mut self, done: Result<(Id, Vec<u64>), tokio::task::JoinError>) {
        match done {
            Ok((id, positions)) => {
                self.in_flight_since.remove(&id);
                for position in positions {
                    self.progress.settle(position);
                }
                self.save_cursor(false);
            }
            Err(e) => {
                // Its positions stay owed: the cursor stops there and a restart resends them.
                self.in_flight_since.remove(&e.id());
                tracing::error!(sink = %self.name(), error = %e, "a delivery task failed");
            }
        }
    }

    /// Seconds since the first change after the read position was committed (0 when none):
    /// the lag while nothing is in flight because the sink is not reading.
    fn unread_lag(&self) -> f64 {
        let first = self.store.follow(self.progress.read()).waiting_since();
        first.map_or(0.0, |t| (Micros::now().0 - t.0).max(0) as f64 / 1e6)
    }

    /// Updates the lag gauge and saves the cursor when it moved.
    fn housekeeping(&mut self) {
        let oldest = self
            .in_flight_since
            .values()
            .copied()
            .chain(self.batch.oldest())
            .min();
        let lag = oldest.map_or(0.0, |t| (Micros::now().0 - t.0).max(0) as f64 / 1e6);
        self.counters.lag.set(lag);
        self.save_cursor(false);
    }

    fn save_cursor(&mut self, force: bool) {
        let cursor = self.progress.cursor();
        self.counters
            .cursor
            .set(i64::try_from(cursor).unwrap_or(i64::MAX));
        let due = force || self.last_save.elapsed() >= TICK;
        if self.saved.is_some_and(|saved| saved >= cursor) || !due {
            return;
        }
        match self.cursor_file.save(cursor) {
            Ok(()) => {
                self.saved = Some(cursor);
                self.last_save = Instant::now();
            }
            Err(e) => tracing::warn!(sink = %self.name(), error = %e, "saving the cursor failed"),
        }
    }

    /// Sends the open batch, gives in-flight batches a grace period, and saves the cursor.
    async fn finish(&mut self) {
        if self.in_flight.len() < self.concurrency {
            self.flush();
        }
        let deadline = Instant::now() + SHUTDOWN_GRACE;
        while !self.in_flight.is_empty() {
            match tokio::time::timeout_at(deadline, self.in_flight.join_next_with_id()).await {
                Ok(Some(done)) => self.settle(done),
                Ok(None) => break,
                Err(_) => {
                    self.in_flight.abort_all();
                    break;
                }
            }
        }
        self.save_cursor(true);
        tracing::info!(sink = %self.name(), cursor = self.progress.cursor(), "sink stopped");
    }
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}
