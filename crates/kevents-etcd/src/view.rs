//! The etcd view's shared state: the keys with their history and leases, the current
//! revision, and what a write needs to become a hub record. The server reads it; the writer
//! thread (`commit`) is its only writer.

use crate::config::EtcdConfig;
use crate::keys::KeyPolicy;
use crate::mvcc::Mvcc;
use kevents_model::{EventKey, EventRecord};
use parking_lot::RwLock;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};

/// The etcd view, shared by the services (readers) and the writer thread.
pub struct View {
    pub(crate) state: RwLock<Mvcc>,
    pub(crate) revision: tokio::sync::watch::Sender<i64>,
    /// The revision of the last batch of writes handed to the hub's store.
    pub(crate) hub_handed: AtomicI64,
    /// The revision up to which the hub's store has every write through this endpoint.
    pub(crate) hub_revision: tokio::sync::watch::Sender<i64>,
    /// Events were written to the hub's store since the last compaction.
    pub(crate) hub_written: AtomicBool,
    pub(crate) policy: KeyPolicy,
    pub(crate) config: EtcdConfig,
    pub(crate) next_lease: AtomicI64,
    pub(crate) log_bytes: AtomicI64,
}

impl View {
    /// The current revision.
    pub fn current_revision(&self) -> i64 {
        self.state.read().revision
    }

    /// Bytes of the view's log on disk.
    pub fn log_bytes(&self) -> i64 {
        self.log_bytes.load(Ordering::Relaxed)
    }

    /// Waits until the hub's store has every write through this endpoint up to `revision`.
    pub async fn hub_caught_up(&self, revision: i64) {
        let mut written = self.hub_revision.subscribe();
        let _ = written.wait_for(|&at| at >= revision).await;
    }

    /// Waits, at most `timeout`, until the hub's store has every write handed to it; true when
    /// it does.
    pub async fn hub_settled(&self, timeout: std::time::Duration) -> bool {
        let handed = self.hub_handed.load(Ordering::Acquire);
        tokio::time::timeout(timeout, self.hub_caught_up(handed))
            .await
            .is_ok()
    }

    pub(crate) fn event_key(&self, namespace: &str, name: &str) -> EventKey {
        EventKey::in_cluster(self.config.cluster.clone(), namespace, name)
    }

    /// The hub's record of an event written through etcd at `mod_revision`.
    pub(crate) fn hub_record(&self, mut record: EventRecord, mod_revision: i64) -> EventRecord {
        record.cluster = self.config.cluster.clone();
        record.source_resource_version = mod_revision.to_string();
        record
    }
}
