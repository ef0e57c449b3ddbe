//! Checkpoints: every live event as of one resourceVersion, written beside the log so the
//! segments before it can be deleted. They are written on a background thread from a snapshot,
//! so writes continue meanwhile, as sealed block files (`sealed`); checkpoints of earlier
//! versions (`.ckpt`, JSON frames like the log) are still read.

use crate::entry::decode_entry;
use crate::entry::{LogOp, StoredEvent};
use crate::frame::{FrameRead, FrameReader};
use crate::head::Head;
use crate::history::History;
use crate::request::{CheckpointDone, Request};
use crate::sealed;
use crate::tiering::{seal, Plan};
use crate::StoreError;
use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::thread::JoinHandle;
use tokio::sync::mpsc::WeakSender;

/// Loads a checkpoint of the earlier JSON format; returns its version.
pub(crate) fn load_json_checkpoint(
    path: &Path,
    head: &mut Head,
    ttl_micros: i64,
) -> Result<u64, StoreError> {
    let file = File::open(path).map_err(|e| StoreError::io("opening a checkpoint", e))?;
    let mut reader = FrameReader::new(BufReader::new(file));
    let mut checkpoint_rv = None;
    loop {
        let frame = reader
            .next_frame()
            .map_err(|e| StoreError::io("reading a checkpoint", e))?;
        let payload = match frame {
            FrameRead::Frame(payload) => payload,
            FrameRead::End => break,
            FrameRead::Bad(why) => {
                return Err(StoreError::Corrupt(format!("{}: {why}", path.display())))
            }
        };
        let entry = decode_entry(&payload, path)?;
        match entry.op {
            LogOp::Checkpoint => checkpoint_rv = Some(entry.rv),
            LogOp::Put(record) => {
                let stored = Arc::new(StoredEvent {
                    record: *record,
                    updated_at: entry.at,
                });
                head.load(stored, ttl_micros);
            }
            LogOp::Delete(_) => {
                return Err(StoreError::Corrupt(format!(
                    "{}: delete entry in a checkpoint",
                    path.display()
                )))
            }
        }
    }
    let rv = checkpoint_rv
        .ok_or_else(|| StoreError::Corrupt(format!("{}: no checkpoint header", path.display())))?;
    head.resource_version = rv;
    head.history = History::starting_at(rv);
    Ok(rv)
}

/// Loads the checkpoint at `path` (sealed at `rv`) into `head`; returns how many blocks were
/// damaged and skipped.
pub(crate) fn load_checkpoint(
    path: &Path,
    rv: u64,
    head: &mut Head,
    ttl_micros: i64,
) -> Result<u64, StoreError> {
    if path.extension().is_some_and(|x| x == "ckpt") {
        load_json_checkpoint(path, head, ttl_micros)?;
        return Ok(0);
    }
    let report = sealed::load(path, rv, |event| {
        head.load(Arc::new(event), ttl_micros);
    })?;
    head.resource_version = rv;
    head.history = History::starting_at(rv);
    Ok(report.corrupt_blocks)
}

/// Runs one checkpoint at a time in the background; the writer installs its result.
pub(crate) struct Checkpointer {
    dir: PathBuf,
    block_events: usize,
    running: bool,
    last_bytes: u64,
    thread: Option<JoinHandle<()>>,
    /// Where a finished checkpoint is handed to the writer (weak: it must not keep the writer's
    /// queue open).
    notify: Option<WeakSender<Request>>,
}

impl Checkpointer {
    pub fn new(dir: &Path, last_bytes: u64, block_events: usize) -> Checkpointer {
        Checkpointer {
            dir: dir.to_path_buf(),
            block_events,
            running: false,
            last_bytes,
            thread: None,
            notify: None,
        }
    }

    pub fn set_notify(&mut self, notify: WeakSender<Request>) {
        self.notify = Some(notify);
    }

    /// True from `start` until the writer calls `finished`.
    pub fn running(&self) -> bool {
        self.running
    }

    /// Size of the last hot checkpoint.
    pub fn last_bytes(&self) -> u64 {
        self.last_bytes
    }

    /// Seals `plan` on a background thread and sends the result to the writer, which answers
    /// `done` once it is installed.
    pub fn start(&mut self, plan: Plan, done: Vec<CheckpointDone>) {
        self.wait();
        self.running = true;
        let dir = self.dir.clone();
        let block_events = self.block_events;
        let notify = self.notify.clone();
        let spawned = std::thread::Builder::new()
            .name("kevents-checkpoint".into())
            .spawn(move || {
                let rv = plan.rv;
                let (hot, demoted) = (plan.hot.len(), plan.demoted.len());
                let result = seal(&dir, plan, block_events);
                match &result {
                    Ok(sealed) => tracing::info!(
                        resource_version = rv,
                        hot,
                        demoted,
                        merged_files = sealed.merged.len(),
                        hot_bytes = sealed.hot_bytes,
                        "wrote checkpoint"
                    ),
                    Err(e) => tracing::error!(error = %e, "checkpoint failed; the log is kept"),
                }
                // Without a writer to install it (the store is closing) the files on disk
                // are still a consistent checkpoint.
                if let Some(writer) = notify.and_then(|n| n.upgrade()) {
                    let _ = writer.blocking_send(Request::Sealed(Box::new(result), done));
                }
            });
        match spawned {
            Ok(handle) => self.thread = Some(handle),
            Err(e) => {
                tracing::error!(error = %e, "could not start a checkpoint thread");
                self.running = false;
            }
        }
    }

    /// Called by the writer once the result of `start` is handled.
    pub fn finished(&mut self, hot_bytes: Option<u64>) {
        self.running = false;
        if let Some(bytes) = hot_bytes {
            self.last_bytes = bytes;
        }
    }

    /// Waits for a running checkpoint thread to finish.
    pub fn wait(&mut self) {
        if let Some(handle) = self.thread.take() {
            let _ = handle.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entry::LogEntry;
    use crate::frame::encode_frame;
    use kevents_model::{EventRecord, Micros};
    use std::fs;

    #[test]
    fn checkpoints_of_the_earlier_json_format_still_load() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("checkpoint-00000000000000000009.ckpt");
        let record = EventRecord {
            namespace: "ns".into(),
            name: "old".into(),
            resource_version: 7,
            ..Default::default()
        };
        let mut bytes = Vec::new();
        for entry in [
            LogEntry {
                rv: 9,
                at: Micros(5),
                op: LogOp::Checkpoint,
            },
            LogEntry {
                rv: 7,
                at: Micros(3),
                op: LogOp::Put(Box::new(record.clone())),
            },
        ] {
            encode_frame(&serde_json::to_vec(&entry).unwrap(), &mut bytes);
        }
        fs::write(&path, bytes).unwrap();
        let mut head = Head::default();
        assert_eq!(load_checkpoint(&path, 9, &mut head, 100).unwrap(), 0);
        assert_eq!(head.resource_version, 9);
        assert_eq!(head.hot(&record.key()).unwrap().record, record);
    }
}
