//! How much the log directory holds, kept current for `StoreStats::disk_bytes`.

use crate::log::Log;
use crate::shared::Shared;

/// Keeps `Shared::disk_bytes` current without listing the log directory after every batch:
/// appends are added up, and the directory is listed again when its files changed (rotation,
/// checkpoints) or a second after the last listing.
pub(crate) struct DiskUsage {
    listed: std::time::Instant,
    /// Bytes appended since the last publish.
    pub appended: u64,
    /// The log's files changed (rotation, checkpoint, a cut-back tail): list them again.
    pub files_changed: bool,
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

    pub fn publish(&mut self, shared: &Shared, log: &Log) {
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
