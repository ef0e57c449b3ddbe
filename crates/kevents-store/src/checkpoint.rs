//! Checkpoints: every live event as of one resourceVersion, written beside the log so the
//! segments before it can be deleted. They are written on a background thread from a snapshot,
//! so writes continue meanwhile.

use crate::entry::{LogEntry, LogOp, StoredEvent};
use crate::frame::{encode_frame, FrameRead, FrameReader};
use crate::head::Head;
use crate::log::{checkpoint_path, decode_entry, list_dir, sync_dir};
use crate::StoreError;
use kevents_model::Micros;
use std::fs::{self, File};
use std::io::{BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

pub(crate) fn load_checkpoint(
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

/// Writes `checkpoint-<rv>.ckpt` durably (temporary file, fsync, rename, directory fsync);
/// returns its size.
pub(crate) fn write_checkpoint<'a>(
    dir: &Path,
    rv: u64,
    events: impl Iterator<Item = &'a Arc<StoredEvent>>,
) -> Result<u64, StoreError> {
    let final_path = checkpoint_path(dir, rv);
    let tmp_path = final_path.with_extension("tmp");
    let io = |e| StoreError::io("writing a checkpoint", e);
    let file = File::create(&tmp_path).map_err(io)?;
    let mut out = BufWriter::new(file);
    let mut frame = Vec::new();
    let mut write_entry = |entry: &LogEntry, out: &mut BufWriter<File>| {
        frame.clear();
        let payload = serde_json::to_vec(entry).expect("log entries always serialize");
        encode_frame(&payload, &mut frame);
        out.write_all(&frame)
    };
    let header = LogEntry {
        rv,
        at: Micros::now(),
        op: LogOp::Checkpoint,
    };
    write_entry(&header, &mut out).map_err(io)?;
    for event in events {
        let entry = LogEntry {
            rv: event.record.resource_version,
            at: event.updated_at,
            op: LogOp::Put(Box::new(event.record.clone())),
        };
        write_entry(&entry, &mut out).map_err(io)?;
    }
    let file = out.into_inner().map_err(|e| io(e.into_error()))?;
    file.sync_all().map_err(io)?;
    let written = file.metadata().map(|m| m.len()).unwrap_or(0);
    drop(file);
    fs::rename(&tmp_path, &final_path).map_err(io)?;
    sync_dir(dir).map_err(io)?;
    Ok(written)
}

/// Runs one checkpoint at a time in the background.
pub(crate) struct Checkpointer {
    dir: PathBuf,
    running: Arc<AtomicBool>,
    last_bytes: Arc<AtomicU64>,
    thread: Option<JoinHandle<()>>,
}

impl Checkpointer {
    pub fn new(dir: &Path, last_bytes: u64) -> Checkpointer {
        Checkpointer {
            dir: dir.to_path_buf(),
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
    pub fn start(&mut self, rv: u64, events: Vec<Arc<StoredEvent>>) {
        self.wait();
        self.running.store(true, Ordering::Release);
        let dir = self.dir.clone();
        let running = self.running.clone();
        let last_bytes = self.last_bytes.clone();
        let spawned = std::thread::Builder::new()
            .name("kevents-checkpoint".into())
            .spawn(move || {
                match write_checkpoint(&dir, rv, events.iter()).and_then(|written| {
                    remove_redundant(&dir, rv)?;
                    Ok(written)
                }) {
                    Ok(written) => {
                        last_bytes.store(written, Ordering::Relaxed);
                        tracing::info!(resource_version = rv, bytes = written, "wrote checkpoint");
                    }
                    Err(e) => tracing::error!(error = %e, "checkpoint failed; the log is kept"),
                }
                running.store(false, Ordering::Release);
            });
        match spawned {
            Ok(handle) => self.thread = Some(handle),
            Err(e) => {
                tracing::error!(error = %e, "could not start a checkpoint thread");
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
