//! The write-ahead log on disk: segment files of CRC-framed entries and periodic checkpoints.
//!
//! Layout under `<data-dir>/wal/`: `<first-rv>.log` segments (20-digit, zero-padded) and
//! `checkpoint-<rv>.ckpt` files holding every live event as of `rv`. Recovery (`recover.rs`)
//! loads the newest checkpoint, replays the segments after it and opens the log here.

use crate::checkpoint::Checkpointer;
use crate::config::LogConfig;
use crate::files::{dir_bytes, segment_path, sync_dir};
use crate::request::CheckpointDone;
use crate::tiering::Plan;
use crate::StoreError;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

/// A batch written to the active segment but not yet known to be durable.
pub struct Written {
    /// The segment (its own handle), to sync from another thread.
    pub segment: File,
    /// Where the batch starts in the segment.
    pub start: u64,
}

/// The open log: appends go to the active segment.
pub struct Log {
    dir: PathBuf,
    config: LogConfig,
    active: File,
    active_len: u64,
    bytes_since_checkpoint: u64,
    checkpoints: Checkpointer,
    /// Set when a failed append could not be cut back: the segment's tail is unknown, so no
    /// further append may follow it.
    poisoned: bool,
}

impl Log {
    /// Opens the log in `dir` for appends: to `active`, the last segment recovery read, or
    /// else a new segment whose first entry will be `next_rv`. `bytes_since_checkpoint` is
    /// what recovery replayed after the checkpoint of `last_checkpoint_bytes`.
    pub fn open(
        dir: &Path,
        config: LogConfig,
        active: Option<&Path>,
        next_rv: u64,
        bytes_since_checkpoint: u64,
        last_checkpoint_bytes: u64,
    ) -> Result<Log, StoreError> {
        let block_events = config.block_events;
        let (active_path, fresh) = match active {
            Some(path) => (path.to_path_buf(), false),
            None => (segment_path(dir, next_rv), true),
        };
        let active = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&active_path)
            .map_err(|e| StoreError::io("opening the active log segment", e))?;
        if fresh {
            sync_dir(dir).map_err(|e| StoreError::io("syncing the log directory", e))?;
        }
        let active_len = active.metadata().map(|m| m.len()).unwrap_or(0);
        Ok(Log {
            dir: dir.to_path_buf(),
            config,
            active,
            active_len,
            bytes_since_checkpoint,
            checkpoints: Checkpointer::new(dir, last_checkpoint_bytes, block_events),
            poisoned: false,
        })
    }

    /// Appends a batch of encoded frames without waiting for them to be durable: the caller
    /// syncs the returned segment before acknowledging anything in it, and calls [`Log::undo`]
    /// if that fails. On a failed write the segment is cut back so a later
    /// append does not follow a partial batch.
    pub fn write(&mut self, frames: &[u8]) -> Result<Written, StoreError> {
        if self.poisoned {
            return Err(StoreError::Io {
                context: "appending to the log",
                message: "an earlier failed write could not be undone; restart kevents to \
                          recover the log"
                    .to_string(),
                no_space: false,
            });
        }
        let start = self.active_len;
        let written = self
            .active
            .write_all(frames)
            .and_then(|_| self.active.try_clone());
        match written {
            Ok(file) => {
                self.active_len += frames.len() as u64;
                self.bytes_since_checkpoint += frames.len() as u64;
                Ok(Written {
                    segment: file,
                    start,
                })
            }
            Err(e) => {
                self.cut_back(start);
                Err(StoreError::io("appending to the log", e))
            }
        }
    }

    /// A batch from [`Log::write`] could not be made durable: the active segment is cut back
    /// to where it started, dropping it and anything written after it. Writes are synced in
    /// order and the segment is not rotated while one is unsynced, so it is still the active
    /// segment.
    pub fn undo(&mut self, start: u64) {
        let dropped = self.active_len.saturating_sub(start);
        self.bytes_since_checkpoint = self.bytes_since_checkpoint.saturating_sub(dropped);
        self.cut_back(start);
    }

    fn cut_back(&mut self, len: u64) {
        self.active_len = len;
        if let Err(cut) = self
            .active
            .set_len(len)
            .and_then(|_| self.active.sync_data())
        {
            tracing::error!(error = %cut, "could not cut back a failed log append; refusing further writes");
            self.poisoned = true;
        }
    }

    /// True when the active segment is full.
    pub fn wants_rotation(&self) -> bool {
        self.active_len >= self.config.segment_bytes
    }

    /// True when enough log has accrued since the last checkpoint to make one worthwhile.
    pub fn wants_checkpoint(&self, head_events: usize, hot_events: usize) -> bool {
        let log_grew = self.bytes_since_checkpoint
            >= self
                .config
                .checkpoint_min_bytes
                .max(2 * self.checkpoints.last_bytes());
        // A full head moves events out, but not more often than every eighth of the log
        // growth that triggers a checkpoint.
        let head_full = head_events > hot_events + hot_events / 4
            && self.bytes_since_checkpoint >= self.config.checkpoint_min_bytes / 8;
        !self.checkpoints.running() && (log_grew || head_full)
    }

    /// The checkpointer, for the writer.
    pub fn checkpoints(&mut self) -> &mut Checkpointer {
        &mut self.checkpoints
    }

    /// The log directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Closes the active segment and starts one whose first entry will be `next_rv`.
    pub fn rotate(&mut self, next_rv: u64) -> Result<(), StoreError> {
        let path = segment_path(&self.dir, next_rv);
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(|e| StoreError::io("starting a log segment", e))?;
        sync_dir(&self.dir).map_err(|e| StoreError::io("syncing the log directory", e))?;
        self.active = file;
        self.active_len = 0;
        Ok(())
    }

    /// Starts sealing `plan` on a background thread, after closing the active segment so that
    /// later appends land in a segment it keeps.
    pub fn start_checkpoint(
        &mut self,
        plan: Plan,
        done: Vec<CheckpointDone>,
    ) -> Result<(), StoreError> {
        if let Err(e) = self.rotate(plan.rv + 1) {
            for done in done {
                let _ = done.send(Err(e.clone()));
            }
            return Err(e);
        }
        self.bytes_since_checkpoint = 0;
        self.checkpoints.start(plan, done);
        Ok(())
    }

    /// Waits for a checkpoint in progress.
    pub fn finish(&mut self) {
        self.checkpoints.wait();
    }

    /// Bytes of log and checkpoint files on disk.
    pub fn disk_bytes(&self) -> u64 {
        dir_bytes(&self.dir)
    }
}
