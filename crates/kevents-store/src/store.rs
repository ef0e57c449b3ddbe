//! The store handle: opens the store, sends writes to the writer thread and serves reads from
//! the head under its read lock.

use crate::commit::Pipeline;
use crate::contract::EventStore;
use crate::counts;
use crate::disk_usage::DiskUsage;
use crate::entry::StoredEvent;
use crate::feed::Feeds;
use crate::files;
use crate::log_sync::probe_disk;
use crate::pushdown::Pushdown;
use crate::recover::recover;
use crate::request::Request;
use crate::scope::Scope;
use crate::shared::Shared;
use crate::snapshot::{merge_states, page, past_states};
use crate::writer::Writer;
use crate::{
    BucketCounts, Buckets, Committed, CountQuery, Counts, ListPage, ListQuery, Mutation,
    StoreConfig, StoreError, StoreStats, Subscription, TooOld, WatchFrom,
};
use kevents_model::{EventKey, EventRecord, Micros};
use parking_lot::RwLock;
use std::fs::File;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot};

/// A handle to the store; cheap to clone.
#[derive(Clone)]
pub struct Store {
    pub(crate) shared: Arc<Shared>,
    requests: mpsc::Sender<Request>,
    writer: Arc<parking_lot::Mutex<Option<std::thread::JoinHandle<()>>>>,
    lock: Arc<parking_lot::Mutex<Option<File>>>,
}

impl Store {
    /// Opens the store in `config.data_dir`, recovering from the log.
    pub fn open(config: StoreConfig) -> Result<Store, StoreError> {
        std::fs::create_dir_all(&config.data_dir)
            .map_err(|e| StoreError::io("creating the data directory", e))?;
        let lock = File::create(config.data_dir.join("LOCK"))
            .map_err(|e| StoreError::io("creating the lock file", e))?;
        if lock.try_lock().is_err() {
            return Err(StoreError::Locked(config.data_dir.display().to_string()));
        }
        let recovered = recover(
            &config.data_dir.join("wal"),
            config.log.clone(),
            config.ttl_micros,
            config.history_limit,
            config.history_bytes_limit,
        )?;
        tracing::info!(
            events = recovered.head.live(),
            resource_version = recovered.head.resource_version,
            replayed = recovered.replayed,
            truncated_bytes = recovered.truncated_bytes,
            corrupt_blocks = recovered.corrupt_blocks,
            "store recovered"
        );
        recovered
            .head
            .cold
            .set_cache_limit(config.tiers.block_cache_bytes);
        let feeds = Feeds::new(config.feed_capacity, recovered.head.resource_version);
        let disk_bytes = recovered.log.disk_bytes();
        let shared = Arc::new(Shared {
            head: RwLock::new(recovered.head),
            feeds,
            config,
            disk_bytes: AtomicU64::new(disk_bytes),
            retention_deleted: AtomicU64::new(0),
            checkpoints: AtomicU64::new(0),
            checkpointing: Default::default(),
            corrupt_blocks: recovered.corrupt_blocks,
            write_failure: Default::default(),
            #[cfg(test)]
            sync_faults: Default::default(),
        });
        let (requests, receiver) = mpsc::channel(8192);
        let mut log = recovered.log;
        log.checkpoints().set_notify(requests.downgrade());
        let writer = Writer {
            shared: shared.clone(),
            log,
            requests: receiver,
            waiting: Vec::new(),
            reclaim: false,
            deferred: Vec::new(),
            pipeline: Pipeline::start(shared.clone())?,
            disk: DiskUsage::new(),
        };
        let handle = std::thread::Builder::new()
            .name("kevents-store-writer".into())
            .spawn(move || writer.run())
            .map_err(|e| StoreError::io("starting the writer thread", e))?;
        Ok(Store {
            shared,
            requests,
            writer: Arc::new(parking_lot::Mutex::new(Some(handle))),
            lock: Arc::new(parking_lot::Mutex::new(Some(lock))),
        })
    }

    /// Whether a write would be taken now: the writer thread runs, and the last log append or
    /// sync did not fail, or a probe write shows that the disk takes writes again (space was
    /// freed; the next commit clears the failure). `Err` says why not.
    pub fn accepts_writes(&self) -> Result<(), StoreError> {
        let writer_runs = self
            .writer
            .lock()
            .as_ref()
            .is_some_and(|handle| !handle.is_finished());
        if !writer_runs || self.requests.is_closed() {
            return Err(StoreError::Closed);
        }
        let failure = self.shared.write_failure.lock().clone();
        match failure {
            None => Ok(()),
            Some(failure) => probe_disk(&self.shared).map_err(|_| failure),
        }
    }

    /// Commits a mutation durably and returns the stored result.
    pub async fn write(&self, mutation: Mutation) -> Result<Committed, StoreError> {
        let (reply, response) = oneshot::channel();
        self.requests
            .send(Request::Mutate(Box::new(mutation), reply))
            .await
            .map_err(|_| StoreError::Closed)?;
        response.await.map_err(|_| StoreError::Closed)?
    }

    /// The current version of an event.
    pub fn get(&self, key: &EventKey) -> Option<Arc<StoredEvent>> {
        self.shared.head.read().current(key)
    }

    /// Lists events in key order after `start_after`, keeping those `filter` accepts, as of
    /// `query.at` (the current version when unset). With a limit, `continue_after` is set when
    /// more matches follow. Fails when `at` is older than the retained history.
    pub fn list(
        &self,
        query: ListQuery<'_>,
        filter: impl Fn(&EventRecord) -> bool,
    ) -> Result<ListPage, TooOld> {
        let head = self.shared.head.read();
        let snapshot = past_states(&head.history, head.resource_version, &query)?;
        // Current versions may be narrowed before they are built (the object index, field
        // requirements on cold columns, the time index) only when no past state replaces them.
        let narrow = match snapshot.is_empty() {
            true => Pushdown {
                object: None,
                fields: query.fields,
                seen: query.seen,
            },
            false => Pushdown::default(),
        };
        let candidates: Box<dyn Iterator<Item = Arc<StoredEvent>> + '_> = match query.object_name {
            Some(name) if snapshot.is_empty() => {
                Box::new(head.about_object(name, query.scope, query.start_after, narrow))
            }
            _ => Box::new(head.range_where(query.scope, query.start_after, narrow)),
        };
        // Past states, hot events and the full range are not narrowed: `page` checks the
        // object name, the fields and the window on every candidate.
        let candidates = merge_states(candidates, snapshot);
        Ok(page(candidates, &query, filter, head.resource_version))
    }

    /// Counts the live events `query` selects by the values of one field (see `counts`).
    pub fn count(&self, query: CountQuery<'_>) -> Counts {
        counts::count(&self.shared.head, &query)
    }

    /// Counts as `count` does, split into equal buckets of last-seen time in one pass (the
    /// timeline of the web UI); `query.seen` should cover the buckets' window.
    pub fn count_buckets(&self, query: CountQuery<'_>, buckets: &Buckets) -> BucketCounts {
        crate::counts::count_buckets(&self.shared.head, &query, buckets)
    }

    /// Starts a watch. Fails when `from` is older than the retained history.
    pub fn subscribe(&self, from: WatchFrom, scope: Scope<'_>) -> Result<Subscription, TooOld> {
        let head = self.shared.head.read();
        let live = self.shared.feeds.subscribe(scope);
        let (initial, backlog) = match from {
            WatchFrom::InitialState => (head.range(scope, None).collect(), Vec::new()),
            WatchFrom::After(rv) => {
                let backlog = head.history.after(rv)?;
                (Vec::new(), backlog)
            }
        };
        Ok(Subscription {
            initial,
            backlog,
            live,
            resource_version: head.resource_version,
        })
    }

    /// Clusters with live events and how many each has (`""`: the hub's own events).
    pub fn clusters(&self) -> Vec<(String, usize)> {
        let head = self.shared.head.read();
        head.clusters.iter().map(|(c, n)| (c.clone(), *n)).collect()
    }

    /// The oldest version a watch can resume from: every change after it is retained.
    pub fn oldest_resumable(&self) -> u64 {
        self.shared.head.read().history.oldest_resumable()
    }

    /// When the event kept longest without a write was last written (the next to expire):
    /// how far back the store's history reaches. `None` when it is empty.
    pub fn oldest_update(&self) -> Option<Micros> {
        let ttl = self.ttl_micros();
        let next = self.shared.head.read().expired(Micros(i64::MAX), 1, ttl);
        let (key, _) = next.into_iter().next()?;
        self.get(&key).map(|event| event.updated_at)
    }

    /// The version of the last committed change.
    pub fn resource_version(&self) -> u64 {
        self.shared.head.read().resource_version
    }

    /// Counters for metrics.
    pub fn stats(&self) -> StoreStats {
        let head = self.shared.head.read();
        StoreStats {
            events: head.live(),
            hot_events: head.events.len(),
            resource_version: head.resource_version,
            disk_bytes: self.shared.disk_bytes.load(Ordering::Relaxed),
            history: head.history.len(),
            history_bytes: head.history.bytes(),
            block_cache_bytes: head.cold.cache_bytes(),
            retention_deleted: self.shared.retention_deleted.load(Ordering::Relaxed),
            checkpoints: self.shared.checkpoints.load(Ordering::Relaxed),
            checkpointing: self.shared.checkpointing.load(Ordering::Relaxed),
            corrupt_blocks: self.shared.corrupt_blocks
                + head.cold.damaged_blocks.load(Ordering::Relaxed),
        }
    }

    /// Commits several mutations; they are queued together so the writer can batch them.
    pub async fn write_many(&self, mutations: Vec<Mutation>) -> Vec<Result<Committed, StoreError>> {
        let mut responses = Vec::with_capacity(mutations.len());
        for mutation in mutations {
            let (reply, response) = oneshot::channel();
            let sent = self
                .requests
                .send(Request::Mutate(Box::new(mutation), reply))
                .await;
            responses.push(sent.ok().map(|_| response));
        }
        let mut results = Vec::with_capacity(responses.len());
        for response in responses {
            results.push(match response {
                Some(response) => response.await.unwrap_or(Err(StoreError::Closed)),
                None => Err(StoreError::Closed),
            });
        }
        results
    }

    /// The TTL applied to events, in microseconds.
    pub fn ttl_micros(&self) -> i64 {
        self.shared.config.ttl_micros
    }

    /// Writes a checkpoint of everything committed before this call and waits until it is
    /// durable and the log it replaces is deleted; returns its resourceVersion. The writer also
    /// does this on its own as the log grows; this is for shutdown paths, retention and tests.
    pub async fn checkpoint(&self) -> Result<u64, StoreError> {
        self.checkpoint_with(false).await
    }

    /// A checkpoint that also rewrites every cold file holding deleted or superseded rows, so
    /// that their space is freed now rather than when the files are next merged.
    pub(crate) async fn checkpoint_with(&self, reclaim: bool) -> Result<u64, StoreError> {
        let (reply, done) = oneshot::channel();
        self.requests
            .send(Request::Checkpoint(reply, reclaim))
            .await
            .map_err(|_| StoreError::Closed)?;
        let rv = done.await.map_err(|_| StoreError::Closed)??;
        self.refresh_disk_bytes();
        Ok(rv)
    }

    /// Re-reads the size of the files on disk for `stats`; returns it.
    pub(crate) fn refresh_disk_bytes(&self) -> u64 {
        let bytes = files::dir_bytes(&self.shared.config.data_dir.join("wal"));
        self.shared.disk_bytes.store(bytes, Ordering::Relaxed);
        bytes
    }

    /// Stops the writer once everything sent before this call is committed; later writes
    /// fail with `Closed`.
    pub async fn close(&self) {
        let (reply, done) = oneshot::channel();
        if self.requests.send(Request::Shutdown(reply)).await.is_ok() {
            let _ = done.await;
        }
        let handle = self.writer.lock().take();
        if let Some(handle) = handle {
            let _ = tokio::task::spawn_blocking(move || handle.join()).await;
        }
        // Dropping the file releases the directory lock for the next process.
        self.lock.lock().take();
    }
}

impl EventStore for Store {
    fn write(
        &self,
        mutation: Mutation,
    ) -> impl Future<Output = Result<Committed, StoreError>> + Send {
        Store::write(self, mutation)
    }

    fn write_many(
        &self,
        mutations: Vec<Mutation>,
    ) -> impl Future<Output = Vec<Result<Committed, StoreError>>> + Send {
        Store::write_many(self, mutations)
    }

    fn expire(&self, now: Micros) -> impl Future<Output = Result<usize, StoreError>> + Send {
        Store::expire(self, now)
    }

    fn get(&self, key: &EventKey) -> Option<Arc<StoredEvent>> {
        Store::get(self, key)
    }

    fn list(
        &self,
        query: ListQuery<'_>,
        filter: impl Fn(&EventRecord) -> bool,
    ) -> Result<ListPage, TooOld> {
        Store::list(self, query, filter)
    }

    fn count(&self, query: CountQuery<'_>) -> Counts {
        Store::count(self, query)
    }

    fn subscribe(&self, from: WatchFrom, scope: Scope<'_>) -> Result<Subscription, TooOld> {
        Store::subscribe(self, from, scope)
    }

    fn clusters(&self) -> Vec<(String, usize)> {
        Store::clusters(self)
    }

    fn oldest_resumable(&self) -> u64 {
        Store::oldest_resumable(self)
    }

    fn resource_version(&self) -> u64 {
        Store::resource_version(self)
    }

    fn accepts_writes(&self) -> Result<(), StoreError> {
        Store::accepts_writes(self)
    }
}
