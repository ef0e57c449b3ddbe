//! Checkpoints: every live event as of one resourceVersion, written beside the log so the
//! segments before it can be deleted. They are written on a background thread from a snapshot,
//! so writes continue meanwhile, as sealed block files (`sealed`); checkpoints of earlier
//! versions (`.ckpt`, JSON frames like the log) are still read.

use crate::entry::{LogOp, StoredEvent};
use crate::files::{checkpoint_path, list_dir, sync_dir};
use crate::frame::{FrameRead, FrameReader};
use crate::head::Head;
use crate::log::decode_entry;
use crate::sealed;
use crate::writer::CheckpointDone;
use crate::StoreError;
use std::fs::{self, File};
use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

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
                let key = stored.record.key();
                head.expiry
                    .insert((crate::head::expires_at(&stored, ttl_micros), key.clone()));
                head.insert(key, stored);
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
    head.compacted_rv = rv;
    Ok(rv)
}

/// Writes `checkpoint-<rv>.blk` durably (temporary file, fsync, rename, directory fsync);
/// returns its size. A crash at any point leaves either no new checkpoint or a whole one: the
/// temporary file is never read and is removed at the next start.
pub(crate) fn write_checkpoint<'a>(
    dir: &Path,
    rv: u64,
    events: impl Iterator<Item = &'a Arc<StoredEvent>>,
    block_events: usize,
) -> Result<u64, StoreError> {
    let final_path = checkpoint_path(dir, rv);
    let tmp_path = final_path.with_extension("tmp");
    let io = |e| StoreError::io("writing a checkpoint", e);
    let result = File::create(&tmp_path)
        .and_then(|file| sealed::write(file, rv, events, block_events))
        .and_then(|(file, written)| {
            file.sync_all()?;
            drop(file);
            fs::rename(&tmp_path, &final_path)?;
            sync_dir(dir)?;
            Ok(written)
        })
        .map_err(io);
    if result.is_err() {
        // A partial checkpoint is never read; on a full disk it holds space the log needs.
        let _ = fs::remove_file(&tmp_path);
    }
    result
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
        let stored = Arc::new(event);
        let key = stored.record.key();
        head.expiry
            .insert((crate::head::expires_at(&stored, ttl_micros), key.clone()));
        head.insert(key, stored);
    })?;
    head.resource_version = rv;
    head.compacted_rv = rv;
    Ok(report.corrupt_blocks)
}

/// Runs one checkpoint at a time in the background.
pub(crate) struct Checkpointer {
    dir: PathBuf,
    block_events: usize,
    running: Arc<AtomicBool>,
    last_bytes: Arc<AtomicU64>,
    thread: Option<JoinHandle<()>>,
}

impl Checkpointer {
    pub fn new(dir: &Path, last_bytes: u64, block_events: usize) -> Checkpointer {
        Checkpointer {
            dir: dir.to_path_buf(),
            block_events,
            running: Arc::new(AtomicBool::new(false)),
            last_bytes: Arc::new(AtomicU64::new(last_bytes)),
            thread: None,
        }
    }

    pub fn running(&self) -> bool {
        self.running.load(Ordering::Acquire)
    }

    pub fn last_bytes(&self) -> u64 {
        self.last_bytes.load(Ordering::Relaxed)
    }

    /// Writes the checkpoint, then deletes what it makes redundant.
    pub fn start(&mut self, rv: u64, events: Vec<Arc<StoredEvent>>, done: Option<CheckpointDone>) {
        self.wait();
        self.running.store(true, Ordering::Release);
        let dir = self.dir.clone();
        let block_events = self.block_events;
        let running = self.running.clone();
        let last_bytes = self.last_bytes.clone();
        let spawned = std::thread::Builder::new()
            .name("kevents-checkpoint".into())
            .spawn(move || {
                let result =
                    write_checkpoint(&dir, rv, events.iter(), block_events).and_then(|written| {
                        remove_redundant(&dir, rv)?;
                        Ok(written)
                    });
                match &result {
                    Ok(written) => {
                        last_bytes.store(*written, Ordering::Relaxed);
                        tracing::info!(resource_version = rv, bytes = written, "wrote checkpoint");
                    }
                    Err(e) => tracing::error!(error = %e, "checkpoint failed; the log is kept"),
                }
                running.store(false, Ordering::Release);
                if let Some(done) = done {
                    let _ = done.send(result.map(|_| rv));
                }
            });
        match spawned {
            Ok(handle) => self.thread = Some(handle),
            Err(e) => {
                tracing::error!(error = %e, "could not start a checkpoint thread");
                // `done` moved into the closure that never ran; its sender drops and the caller
                // sees the store as closed for this request.
                self.running.store(false, Ordering::Release);
            }
        }
    }

    /// Waits for a running checkpoint to finish.
    pub fn wait(&mut self) {
        if let Some(handle) = self.thread.take() {
            let _ = handle.join();
        }
    }
}

/// Deletes segments whose entries are all at or below `rv` (the active segment was started at
/// `rv + 1` before the checkpoint began), and older checkpoints.
fn remove_redundant(dir: &Path, rv: u64) -> Result<(), StoreError> {
    let listing = list_dir(dir)?;
    for (first_rv, path) in listing.segments {
        if first_rv <= rv {
            let _ = fs::remove_file(path);
        }
    }
    for (checkpoint_rv, path) in listing.checkpoints {
        if checkpoint_rv < rv {
            let _ = fs::remove_file(path);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entry::LogEntry;
    use crate::frame::encode_frame;
    use kevents_model::{EventRecord, Micros};

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
        assert_eq!(head.events.get(&record.key()).unwrap().record, record);
    }
}
