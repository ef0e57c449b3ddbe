//! NDJSON envelopes appended to a file with size-based rotation; a batch is acknowledged once
//! written and fsynced.

use super::common::{joined, ndjson};
use crate::delivery::{all, BoxFuture, Delivery, Encoded, Sink, Verdict};
use crate::files::RotatingFile;
use serde::Deserialize;
use std::path::PathBuf;
use std::sync::Arc;

/// The `file:` settings.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct FileConfig {
    /// The file; rotated files get `.1`, `.2`, ... appended.
    pub path: PathBuf,
    /// Rotate past this many MiB (default 100).
    pub max_size_mib: Option<u64>,
    /// Rotated files kept (default 5).
    pub max_backups: Option<usize>,
}

impl FileConfig {
    /// The sink these settings describe; nothing here can be wrong until the first write.
    pub fn build(&self) -> FileSink {
        let max_bytes = self.max_size_mib.unwrap_or(100).max(1) * 1024 * 1024;
        let file = RotatingFile::new(self.path.clone(), max_bytes, self.max_backups.unwrap_or(5));
        FileSink {
            file: Arc::new(parking_lot::Mutex::new(file)),
        }
    }
}

/// NDJSON envelopes appended to a rotating file.
pub struct FileSink {
    /// The file.
    pub file: Arc<parking_lot::Mutex<RotatingFile>>,
}

impl Sink for FileSink {
    fn encode(&self, delivery: Delivery) -> Result<Encoded, (Delivery, String)> {
        Ok(ndjson(delivery))
    }

    fn send<'a>(&'a self, batch: &'a [Encoded]) -> BoxFuture<'a, Vec<Verdict>> {
        Box::pin(async move {
            let data = joined(batch);
            let file = self.file.clone();
            let written = tokio::task::spawn_blocking(move || file.lock().append(&data)).await;
            match written {
                Ok(Ok(())) => all(batch.len(), Verdict::Delivered),
                Ok(Err(e)) => all(batch.len(), Verdict::Retry(format!("writing: {e}"))),
                Err(e) => all(batch.len(), Verdict::Retry(format!("writing: {e}"))),
            }
        })
    }
}
