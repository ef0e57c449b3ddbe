//! The store's public value types: errors, mutations, settings, list and watch requests.

use crate::config::{LogConfig, TierConfig};
use crate::entry::{Change, StoredEvent};
use crate::scope::Scope;
use kevents_model::{EventKey, EventRecord, FieldSelector, Micros};
use std::path::PathBuf;
use std::sync::Arc;

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
    pub(crate) fn key(&self) -> EventKey {
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
    /// Most bytes of events (by `EventRecord::approximate_bytes`) the watch history holds;
    /// large events would otherwise make a count bound a bound of gigabytes.
    pub history_bytes_limit: usize,
    /// Log tuning.
    pub log: LogConfig,
    /// Cold tier tuning.
    pub tiers: TierConfig,
    /// Changes (of the whole store) a watcher may fall behind before it is cut off. A watcher
    /// of one namespace (or one cluster) is also cut off a sixteenth as many (at least 64)
    /// pieces of its own feed behind (a piece: its changes of one commit, up to `FEED_PIECE`).
    pub feed_capacity: usize,
    /// Largest encoded event accepted (bytes of its log entry).
    pub max_event_bytes: usize,
    /// Most bytes the log and checkpoints may take on disk; past it the events written longest
    /// ago are deleted early until the store fits in 90% of it (see `Store::enforce_retention`).
    pub retention_bytes: u64,
}

/// The default byte bound of the watch history: 256 MiB, 200,000 changes of events of about
/// 1.3 KiB, or 290 versions of an event of 900 KB.
pub const DEFAULT_HISTORY_BYTES: usize = 256 << 20;

/// The default size limit of the store on disk: 10 GiB.
pub const DEFAULT_RETENTION_BYTES: u64 = 10 << 30;

impl StoreConfig {
    /// Defaults for a data directory: 168h TTL, 200,000 changes and 256 MiB of watch history,
    /// events of up to 1 MiB, 10 GiB on disk.
    pub fn new(data_dir: impl Into<PathBuf>) -> StoreConfig {
        StoreConfig {
            data_dir: data_dir.into(),
            ttl_micros: 168 * 3600 * 1_000_000,
            history_limit: 200_000,
            history_bytes_limit: DEFAULT_HISTORY_BYTES,
            log: LogConfig::default(),
            tiers: TierConfig::default(),
            feed_capacity: 16 * 1024,
            max_event_bytes: 1024 * 1024 + 4096,
            retention_bytes: DEFAULT_RETENTION_BYTES,
        }
    }
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
    /// Only events these field requirements accept; cold events they refuse are not even built.
    pub fields: Option<&'a FieldSelector>,
    /// List the state as of this version instead of the current one.
    pub at: Option<u64>,
    /// Only events last seen in this window; cold files answer from their time index.
    pub seen: Option<TimeWindow>,
}

/// A window of last-seen times (`EventRecord::seen_at`), both ends included; an end left
/// unset is open.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TimeWindow {
    /// At or after this time.
    pub from: Option<Micros>,
    /// At or before this time.
    pub to: Option<Micros>,
}

impl TimeWindow {
    /// True when `time` is inside the window.
    pub fn contains(&self, time: Micros) -> bool {
        let (from, to) = self.bounds();
        (from..=to).contains(&time.0)
    }

    /// The window as inclusive microsecond bounds.
    pub(crate) fn bounds(&self) -> (i64, i64) {
        (
            self.from.map_or(i64::MIN, |t| t.0),
            self.to.map_or(i64::MAX, |t| t.0),
        )
    }

    /// True when some time from `first` to `last` is inside the window.
    pub(crate) fn overlaps(&self, first: i64, last: i64) -> bool {
        let (from, to) = self.bounds();
        last >= from && first <= to
    }
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
    /// Changes committed after the subscription was made: for a scope with a namespace, that
    /// namespace's (of every cluster: the scope's cluster is not applied); with a cluster
    /// only, that cluster's; otherwise every change.
    pub live: crate::Live,
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
    /// Live events held in memory (the head); the rest are in cold files.
    pub hot_events: usize,
    /// Current resourceVersion.
    pub resource_version: u64,
    /// Bytes of log and checkpoints on disk.
    pub disk_bytes: u64,
    /// Changes kept for watch resume.
    pub history: usize,
    /// Bytes of the events those changes hold (by `EventRecord::approximate_bytes`).
    pub history_bytes: usize,
    /// Bytes of decoded cold events in the block cache.
    pub block_cache_bytes: usize,
    /// Events deleted before their TTL because the store outgrew `retention_bytes`.
    pub retention_deleted: u64,
    /// Checkpoints written and installed since the store opened (each moves events to the
    /// cold tier and may merge cold files).
    pub checkpoints: u64,
    /// Whether a checkpoint is being written now (on its own thread).
    pub checkpointing: bool,
    /// Damaged blocks found (and skipped) when the store opened; their events were lost.
    pub corrupt_blocks: u64,
}
