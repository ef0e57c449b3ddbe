//! Durable event storage for kevents.
//!
//! Writes go through one writer thread that group-commits them to a CRC-framed write-ahead log
//! (`log`), then applies them to the in-memory head (`head`) and publishes them on a change
//! feed that watches follow. Reads are served from the head under a shared lock.
#![warn(missing_docs)]

mod checkpoint;
mod entry;
mod frame;
mod head;
mod log;
mod snapshot;
mod writer;

pub use entry::{Change, ChangeType, StoredEvent};
pub use head::Scope;
pub use log::LogConfig;

/// Entry points for fuzzing the on-disk decoders directly; not a stable API.
#[doc(hidden)]
pub mod fuzzing {
    use crate::frame::{FrameRead, FrameReader};

    /// Reads frames from `bytes` and decodes each as a log entry, as recovery does; returns how
    /// many decoded.
    pub fn decode_log(bytes: &[u8]) -> usize {
        let mut reader = FrameReader::new(bytes);
        let mut decoded = 0;
        while let Ok(FrameRead::Frame(payload)) = reader.next_frame() {
            if serde_json::from_slice::<crate::entry::LogEntry>(&payload).is_ok() {
                decoded += 1;
            }
        }
        decoded
    }
}

use head::Head;
use kevents_model::{EventKey, EventRecord, Micros};
use parking_lot::RwLock;
use snapshot::{merge_states, past_states};
use std::fs::File;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use tokio::sync::{broadcast, mpsc, oneshot};

/// Errors of store operations.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum StoreError {
    /// A create named an event that exists.
    #[error("event {0:?} already exists")]
    AlreadyExists(EventKey),
    /// The event does not exist.
    #[error("event {0:?} not found")]
    NotFound(EventKey),
    /// A precondition (resourceVersion or uid) did not hold.
    #[error("event {0:?} was modified concurrently")]
    Conflict(EventKey),
    /// The disk failed; nothing of the request was stored.
    #[error("{context}: {message}")]
    Io {
        /// What the store was doing.
        context: &'static str,
        /// The operating system's error.
        message: String,
        /// True when the disk is full.
        no_space: bool,
    },
    /// The data on disk is damaged beyond a torn tail.
    #[error("store data is corrupt: {0}")]
    Corrupt(String),
    /// The data directory is in use by another process.
    #[error("data directory {0} is locked by another kevents process")]
    Locked(String),
    /// The store is shutting down.
    #[error("the store is closed")]
    Closed,
    /// The event is larger than the store accepts; nothing was written.
    #[error("the event is {bytes} bytes encoded, more than the limit of {limit}")]
    TooLarge {
        /// Encoded size.
        bytes: usize,
        /// The limit.
        limit: usize,
    },
    /// An expiry found the event already changed; nothing was done.
    #[error("skipped")]
    Skipped,
}

impl StoreError {
    fn io(context: &'static str, error: std::io::Error) -> StoreError {
        StoreError::Io {
            context,
            no_space: error.kind() == std::io::ErrorKind::StorageFull,
            message: error.to_string(),
        }
    }
}

/// A write to the store.
#[derive(Debug, Clone)]
pub enum Mutation {
    /// Create an event; fails with `AlreadyExists` if the key is taken.
    Create(EventRecord),
    /// Replace an existing event; fails with `NotFound` if there is none.
    Update {
        /// The new content; uid and creationTimestamp of the existing event are kept.
        record: EventRecord,
        /// Fail with `Conflict` unless the stored version is this one.
        expected_rv: Option<u64>,
    },
    /// Delete an event.
    Delete {
        /// Which event.
        key: EventKey,
        /// Fail with `Conflict` unless the stored version is this one.
        expected_rv: Option<u64>,
        /// Fail with `Conflict` unless the stored uid is this one.
        expected_uid: Option<String>,
    },
    /// Delete an event whose TTL ran out, unless it was written since.
    Expire {
        /// Which event.
        key: EventKey,
        /// The version the expiry was computed for.
        expected_rv: u64,
    },
}

impl Mutation {
    fn key(&self) -> EventKey {
        match self {
            Mutation::Create(record) | Mutation::Update { record, .. } => record.key(),
            Mutation::Delete { key, .. } | Mutation::Expire { key, .. } => key.clone(),
        }
    }
}

/// The result of a committed write.
#[derive(Debug, Clone)]
pub struct Committed {
    /// The event as stored (for deletes: its last state).
    pub object: Arc<StoredEvent>,
    /// True when the write created the event.
    pub created: bool,
}

/// Store settings.
#[derive(Clone, Debug)]
pub struct StoreConfig {
    /// Where the data lives.
    pub data_dir: PathBuf,
    /// Events expire this long after their last write (microseconds).
    pub ttl_micros: i64,
    /// Most changes kept in memory for watch resume.
    pub history_limit: usize,
    /// Log tuning.
    pub log: LogConfig,
    /// Changes a watcher may fall behind the feed before it is cut off.
    pub feed_capacity: usize,
    /// Largest encoded event accepted (bytes of its log entry).
    pub max_event_bytes: usize,
}

impl StoreConfig {
    /// Defaults for a data directory: 168h TTL, 200,000 changes of watch history, events of
    /// up to 1 MiB.
    pub fn new(data_dir: impl Into<PathBuf>) -> StoreConfig {
        StoreConfig {
            data_dir: data_dir.into(),
            ttl_micros: 168 * 3600 * 1_000_000,
            history_limit: 200_000,
            log: LogConfig::default(),
            feed_capacity: 16 * 1024,
            max_event_bytes: 1024 * 1024 + 4096,
        }
    }
}

pub(crate) struct Shared {
    head: RwLock<Head>,
    feed: broadcast::Sender<Arc<Change>>,
    config: StoreConfig,
    disk_bytes: AtomicU64,
}

/// A handle to the store; cheap to clone.
#[derive(Clone)]
pub struct Store {
    shared: Arc<Shared>,
    requests: mpsc::Sender<writer::Request>,
    writer: Arc<parking_lot::Mutex<Option<std::thread::JoinHandle<()>>>>,
    lock: Arc<parking_lot::Mutex<Option<File>>>,
}

/// What to list.
#[derive(Debug, Clone, Copy, Default)]
pub struct ListQuery<'a> {
    /// Which clusters and namespaces.
    pub scope: Scope<'a>,
    /// Start after this key (a continue position).
    pub start_after: Option<&'a EventKey>,
    /// At most this many items.
    pub limit: Option<usize>,
    /// Only events about an object of this name (`involvedObject.name`), served from an index.
    pub object_name: Option<&'a str>,
    /// List the state as of this version instead of the current one.
    pub at: Option<u64>,
}

/// A page of a list.
#[derive(Debug, Clone)]
pub struct ListPage {
    /// Matching events, in (namespace, name) order.
    pub items: Vec<Arc<StoredEvent>>,
    /// The store's version when the page was read.
    pub resource_version: u64,
    /// The key of the last item when more may follow.
    pub continue_after: Option<EventKey>,
}

/// Where a watch starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WatchFrom {
    /// Send the current state of every event first, then changes.
    InitialState,
    /// Send only changes committed after this version.
    After(u64),
}

/// The start of a watch: what to send first, then the live feed.
pub struct Subscription {
    /// For `InitialState`: the current events in the scope.
    pub initial: Vec<Arc<StoredEvent>>,
    /// Retained changes after the requested version.
    pub backlog: Vec<Arc<Change>>,
    /// Changes committed after the subscription was made.
    pub live: broadcast::Receiver<Arc<Change>>,
    /// The store's version when the subscription was made.
    pub resource_version: u64,
}

/// The requested version is older than the retained history.
#[derive(Debug, Clone, Copy, thiserror::Error, PartialEq, Eq)]
#[error("too old resource version: {requested} ({oldest})")]
pub struct TooOld {
    /// What the client asked for.
    pub requested: u64,
    /// The oldest version a watch can start after.
    pub oldest: u64,
}

/// Counters for observability.
#[derive(Debug, Clone, Copy)]
pub struct StoreStats {
    /// Live events.
    pub events: usize,
    /// Current resourceVersion.
    pub resource_version: u64,
    /// Bytes of log and checkpoints on disk.
    pub disk_bytes: u64,
    /// Changes kept for watch resume.
    pub history: usize,
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
        let recovered = log::Log::recover(
            &config.data_dir.join("wal"),
            config.log.clone(),
            config.ttl_micros,
            config.history_limit,
        )?;
        tracing::info!(
            events = recovered.head.events.len(),
            resource_version = recovered.head.resource_version,
            replayed = recovered.replayed,
            truncated_bytes = recovered.truncated_bytes,
            "store recovered"
        );
        let (feed, _) = broadcast::channel(config.feed_capacity.max(1));
        let disk_bytes = recovered.log.disk_bytes();
        let shared = Arc::new(Shared {
            head: RwLock::new(recovered.head),
            feed,
            config,
            disk_bytes: AtomicU64::new(disk_bytes),
        });
        let (requests, receiver) = mpsc::channel(8192);
        let writer = writer::Writer {
            shared: shared.clone(),
            log: recovered.log,
            requests: receiver,
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

    /// Commits a mutation durably and returns the stored result.
    pub async fn write(&self, mutation: Mutation) -> Result<Committed, StoreError> {
        let (reply, response) = oneshot::channel();
        self.requests
            .send(writer::Request::Mutate(Box::new(mutation), reply))
            .await
            .map_err(|_| StoreError::Closed)?;
        response.await.map_err(|_| StoreError::Closed)?
    }

    /// The current version of an event.
    pub fn get(&self, key: &EventKey) -> Option<Arc<StoredEvent>> {
        self.shared.head.read().events.get(key).cloned()
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
        let snapshot = past_states(&head, &query)?;
        let candidates: Box<dyn Iterator<Item = &Arc<StoredEvent>> + '_> = match query.object_name {
            // The index holds current versions only; past states come from the snapshot.
            Some(name) if snapshot.is_empty() => {
                Box::new(head.about_object(name, query.scope, query.start_after))
            }
            _ => Box::new(head.range(query.scope, query.start_after)),
        };
        let mut matching = merge_states(candidates, snapshot).filter(|e| filter(&e.record));
        let mut items = Vec::new();
        for event in matching.by_ref() {
            items.push(event);
            if query.limit.is_some_and(|l| items.len() >= l) {
                break;
            }
        }
        let full = query.limit.is_some_and(|l| items.len() >= l);
        let continue_after = if full && matching.next().is_some() {
            items.last().map(|e| e.record.key())
        } else {
            None
        };
        Ok(ListPage {
            items,
            resource_version: query.at.unwrap_or(head.resource_version),
            continue_after,
        })
    }

    /// Starts a watch. Fails when `from` is older than the retained history.
    pub fn subscribe(&self, from: WatchFrom, scope: Scope<'_>) -> Result<Subscription, TooOld> {
        let head = self.shared.head.read();
        let live = self.shared.feed.subscribe();
        let (initial, backlog) = match from {
            WatchFrom::InitialState => (head.range(scope, None).cloned().collect(), Vec::new()),
            WatchFrom::After(rv) => {
                let backlog = head.changes_after(rv).ok_or(TooOld {
                    requested: rv,
                    oldest: head.compacted_rv,
                })?;
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

    /// The version of the last committed change.
    pub fn resource_version(&self) -> u64 {
        self.shared.head.read().resource_version
    }

    /// Counters for metrics.
    pub fn stats(&self) -> StoreStats {
        let head = self.shared.head.read();
        StoreStats {
            events: head.events.len(),
            resource_version: head.resource_version,
            disk_bytes: self.shared.disk_bytes.load(Ordering::Relaxed),
            history: head.history.len(),
        }
    }

    /// Commits several mutations; they are queued together so the writer can batch them.
    pub async fn write_many(&self, mutations: Vec<Mutation>) -> Vec<Result<Committed, StoreError>> {
        let mut responses = Vec::with_capacity(mutations.len());
        for mutation in mutations {
            let (reply, response) = oneshot::channel();
            let sent = self
                .requests
                .send(writer::Request::Mutate(Box::new(mutation), reply))
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

    /// Deletes every event whose TTL has passed at `now`; returns how many were deleted.
    pub async fn expire(&self, now: Micros) -> Result<usize, StoreError> {
        const CHUNK: usize = 4096;
        let mut deleted = 0;
        loop {
            let expired = self.shared.head.read().expired(now, CHUNK);
            let chunk = expired.len();
            let mutations = expired
                .into_iter()
                .map(|(key, expected_rv)| Mutation::Expire { key, expected_rv })
                .collect();
            for result in self.write_many(mutations).await {
                match result {
                    Ok(_) => deleted += 1,
                    Err(StoreError::Skipped) => {}
                    Err(e) => return Err(e),
                }
            }
            if chunk < CHUNK {
                return Ok(deleted);
            }
        }
    }

    /// The TTL applied to events, in microseconds.
    pub fn ttl_micros(&self) -> i64 {
        self.shared.config.ttl_micros
    }

    /// Stops the writer once everything sent before this call is committed; later writes
    /// fail with `Closed`.
    pub async fn close(&self) {
        let (reply, done) = oneshot::channel();
        if self
            .requests
            .send(writer::Request::Shutdown(reply))
            .await
            .is_ok()
        {
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
