//! What the store handle, the writer thread and the sync thread share.

use crate::feed::Feeds;
use crate::head::Head;
use crate::{StoreConfig, StoreError};
use parking_lot::RwLock;
use std::sync::atomic::AtomicU64;

/// The state behind every clone of a store handle.
pub(crate) struct Shared {
    pub head: RwLock<Head>,
    pub feeds: Feeds,
    pub config: StoreConfig,
    pub disk_bytes: AtomicU64,
    pub retention_deleted: AtomicU64,
    /// Checkpoints installed since the store opened, and whether one is being written.
    pub checkpoints: AtomicU64,
    pub checkpointing: std::sync::atomic::AtomicBool,
    pub corrupt_blocks: u64,
    /// The error of the last log append or sync that failed, until a batch commits again.
    pub write_failure: parking_lot::Mutex<Option<StoreError>>,
    /// Unit tests' fault injection: this many upcoming log syncs fail.
    #[cfg(test)]
    pub sync_faults: std::sync::atomic::AtomicUsize,
}
