//! The write-ahead log on disk: segment files of CRC-framed entries and periodic checkpoints.
//!
//! Layout under `<data-dir>/wal/`: `<first-rv>.log` segments (20-digit, zero-padded) and
//! `checkpoint-<rv>.ckpt` files holding every live event as of `rv`. Recovery loads the newest
//! checkpoint and replays the segments after it; a torn tail of the last segment is truncated.

use crate::checkpoint::{load_checkpoint, Checkpointer};
use crate::cold::ColdFile;
use crate::entry::{Change, ChangeType, LogEntry, LogOp, StoredEvent};
use crate::files::{checkpoint_path, cold_path};
use crate::files::{dir_bytes, list_dir, remove_partial_checkpoints, segment_path, sync_dir};
use crate::frame::{FrameRead, FrameReader};
use crate::head::Head;
use crate::tiering::{write_sealed, Plan};
use crate::writer::CheckpointDone;
use crate::StoreError;
use kevents_model::{EventRecord, Micros};
use std::fs::{self, File, OpenOptions};
use std::io::{BufReader, Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Tuning of the log.
#[derive(Clone, Debug)]
pub struct LogConfig {
    /// A segment is closed and a new one started past this size.
    pub segment_bytes: u64,
    /// A checkpoint is written once this many log bytes (and twice the last checkpoint) accrue.
    pub checkpoint_min_bytes: u64,
    /// Events per sealed block of a checkpoint: more compress better, fewer lose less to a
    /// damaged block.
    pub block_events: usize,
    /// Events not written for this long leave memory for the cold tier at the next checkpoint.
    pub cold_after_micros: i64,
    /// The head keeps at most about this many events: past 125% of it a checkpoint moves the
    /// ones written longest ago to the cold tier; at twice it, writes wait for that checkpoint.
    pub hot_events: usize,
    /// Events per block of a cold file: smaller than a checkpoint's blocks, because a cold
    /// read inflates the whole block (256 against 512: `involvedObject.name=` p99 at 1,000,000
    /// events 7.4 -> 4.4 ms, a get 0.20 -> 0.12 ms, for 1.6 more bytes per event on disk; 128
    /// against 256 at 10,000,000 events in day files: the name p99 31-34 -> 18 ms, a get 0.12
    /// -> 0.08 ms, for 3 more bytes per event).
    pub cold_block_events: usize,
    /// A checkpoint merges cold files into its new one only while the result holds events last
    /// seen within this span, so each file covers about a day and a time window's rows sit in
    /// the files of its days, not spread over the blocks of one file covering the whole week.
    pub cold_file_span_micros: i64,
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            segment_bytes: 64 * 1024 * 1024,
            checkpoint_min_bytes: 128 * 1024 * 1024,
            block_events: 4096,
            cold_after_micros: 30 * 60 * 1_000_000,
            hot_events: 100_000,
            cold_block_events: 128,
            cold_file_span_micros: 24 * 3600 * 1_000_000,
        }
    }
}

impl LogConfig {
    pub(crate) fn tier_policy(&self) -> crate::tiering::TierPolicy {
        crate::tiering::TierPolicy {
            cold_after_micros: self.cold_after_micros,
            hot_events: self.hot_events,
            block_events: self.cold_block_events.max(1),
            file_span_micros: self.cold_file_span_micros,
        }
    }
}

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

/// Copies a torn tail aside (`<segment>.torn-<offset>`) before it is cut off, unless it is all
/// zeros, so that damage which is not a torn write can still be examined.
fn preserve_torn_tail(path: &Path, offset: u64) -> Result<(), StoreError> {
    let io = |e| StoreError::io("preserving a torn log tail", e);
    let mut file = File::open(path).map_err(io)?;
    file.seek(std::io::SeekFrom::Start(offset)).map_err(io)?;
    let mut tail = Vec::new();
    file.read_to_end(&mut tail).map_err(io)?;
    if tail.iter().all(|b| *b == 0) {
        return Ok(());
    }
    let aside = path.with_extension(format!("torn-{offset}"));
    fs::write(&aside, &tail).map_err(io)?;
    tracing::warn!(file = %aside.display(), bytes = tail.len(), "kept the torn tail for inspection");
    Ok(())
}

pub(crate) fn decode_entry(payload: &[u8], path: &Path) -> Result<LogEntry, StoreError> {
    serde_json::from_slice(payload)
        .map_err(|e| StoreError::Corrupt(format!("{}: undecodable entry: {e}", path.display())))
}

/// The version of a new, empty store. Versions start above zero so that no list ever reports
/// `"0"`, which clients read as "any version" when they start a watch from it.
const INITIAL_RESOURCE_VERSION: u64 = 1;

/// Turns a replayed entry into the change it makes to `head`.
pub fn change_for(head: &Head, entry: LogEntry) -> Option<Change> {
    let previous = match &entry.op {
        LogOp::Put(record) => head.current(&record.key()),
        LogOp::Delete(key) => head.current(key),
        LogOp::Checkpoint => None,
    };
    change_from(entry, previous)
}

/// The change an entry makes to an event whose state before it is `previous`; `None` for a
/// delete of nothing and for checkpoint markers.
pub fn change_from(entry: LogEntry, previous: Option<Arc<StoredEvent>>) -> Option<Change> {
    match entry.op {
        LogOp::Put(record) => Some(put_change(entry.rv, entry.at, *record, previous)),
        LogOp::Delete(_) => Some(delete_change(entry.rv, entry.at, previous?)),
        LogOp::Checkpoint => None,
    }
}

/// The change a create or update committed at `rv` makes; `record` becomes the event's state
/// (its resourceVersion set to `rv`).
pub(crate) fn put_change(
    rv: u64,
    at: Micros,
    mut record: EventRecord,
    previous: Option<Arc<StoredEvent>>,
) -> Change {
    record.resource_version = rv;
    Change {
        resource_version: rv,
        change_type: match previous {
            Some(_) => ChangeType::Modified,
            None => ChangeType::Added,
        },
        object: Arc::new(StoredEvent {
            record,
            updated_at: at,
        }),
        previous,
        committed_at: at,
    }
}

/// The change a delete committed at `rv` makes to the event whose state was `previous`.
pub(crate) fn delete_change(rv: u64, at: Micros, previous: Arc<StoredEvent>) -> Change {
    let mut last = (*previous).clone();
    last.record.resource_version = rv;
    Change {
        resource_version: rv,
        change_type: ChangeType::Deleted,
        object: Arc::new(last),
        previous: Some(previous),
        committed_at: at,
    }
}

/// What recovery found.
pub struct Recovered {
    /// The rebuilt head.
    pub head: Head,
    /// The log, open for appends.
    pub log: Log,
    /// Bytes cut from a torn tail, if any.
    pub truncated_bytes: u64,
    /// Entries replayed from segments.
    pub replayed: u64,
    /// Damaged blocks of the checkpoint, skipped.
    pub corrupt_blocks: u64,
}

impl Log {
    /// Opens (or creates) the log in `dir` and rebuilds the head from it.
    pub fn recover(
        dir: &Path,
        config: LogConfig,
        ttl_micros: i64,
        history_limit: usize,
        history_bytes_limit: usize,
    ) -> Result<Recovered, StoreError> {
        fs::create_dir_all(dir).map_err(|e| StoreError::io("creating the log directory", e))?;
        remove_partial_checkpoints(dir)?;
        let mut listing = list_dir(dir)?;
        if listing.segments.is_empty() && listing.checkpoints.is_empty() {
            let fresh = Head {
                resource_version: INITIAL_RESOURCE_VERSION,
                compacted_rv: INITIAL_RESOURCE_VERSION,
                ..Head::default()
            };
            write_sealed(
                dir,
                &checkpoint_path(dir, fresh.resource_version),
                fresh.resource_version,
                std::iter::empty(),
                config.block_events,
                crate::sealed::SealedKind::Checkpoint,
            )?;
            listing = list_dir(dir)?;
        }
        let mut head = Head::default();
        let mut checkpoint_rv = 0;
        let mut last_checkpoint_bytes = 0;
        let mut corrupt_blocks = 0;
        // With a manifest, it names the checkpoint and the cold files; files a crash left
        // behind after it were never part of the store.
        let newest_manifest = listing.manifests.last().cloned();
        if let Some((manifest_rv, path)) = &newest_manifest {
            let manifest = crate::manifest::read(path)?;
            let named: std::collections::HashSet<u64> =
                manifest.files.iter().map(|f| f.id).collect();
            for (id, path) in &listing.cold {
                if !named.contains(id) {
                    let _ = fs::remove_file(path);
                }
            }
            for (rv, path) in &listing.checkpoints {
                if rv != manifest_rv {
                    let _ = fs::remove_file(path);
                }
            }
            listing.checkpoints.retain(|(rv, _)| rv == manifest_rv);
            if listing.checkpoints.is_empty() {
                return Err(StoreError::Corrupt(format!(
                    "{}: the checkpoint it names is missing",
                    path.display()
                )));
            }
            for file in manifest.files {
                match ColdFile::open(file.id, &cold_path(dir, file.id), file.dead, file.clusters) {
                    Ok(cold) => {
                        for (cluster, count) in &cold.clusters {
                            *head.clusters.entry(cluster.clone()).or_default() += *count as usize;
                        }
                        head.cold.files.push(cold);
                    }
                    Err(e) => {
                        tracing::error!(error = %e, "damaged cold file skipped: its events are lost");
                        corrupt_blocks += 1;
                    }
                }
            }
        } else {
            for (_, path) in &listing.cold {
                let _ = fs::remove_file(path);
            }
        }
        if let Some((rv, path)) = listing.checkpoints.last() {
            corrupt_blocks += load_checkpoint(path, *rv, &mut head, ttl_micros)?;
            checkpoint_rv = head.resource_version;
            last_checkpoint_bytes = fs::metadata(path).map(|m| m.len()).unwrap_or(0);
        }
        let mut truncated_bytes = 0;
        let mut replayed = 0;
        let mut bytes_since_checkpoint = 0;
        let segment_count = listing.segments.len();
        for (index, (_, path)) in listing.segments.iter().enumerate() {
            let is_last = index + 1 == segment_count;
            let file = File::open(path).map_err(|e| StoreError::io("opening a log segment", e))?;
            let file_len = file.metadata().map(|m| m.len()).unwrap_or(0);
            let mut reader = FrameReader::new(BufReader::new(file));
            loop {
                let frame = reader
                    .next_frame()
                    .map_err(|e| StoreError::io("reading a log segment", e))?;
                let payload = match frame {
                    FrameRead::Frame(payload) => payload,
                    FrameRead::End => break,
                    FrameRead::Bad(why) if is_last => {
                        // A write that never completed: it was never acknowledged.
                        truncated_bytes = file_len - reader.offset;
                        tracing::warn!(
                            segment = %path.display(),
                            offset = reader.offset,
                            bytes = truncated_bytes,
                            reason = why,
                            "truncating torn tail of the log"
                        );
                        preserve_torn_tail(path, reader.offset)?;
                        let file = OpenOptions::new()
                            .write(true)
                            .open(path)
                            .map_err(|e| StoreError::io("truncating the log", e))?;
                        file.set_len(reader.offset)
                            .and_then(|_| file.sync_all())
                            .map_err(|e| StoreError::io("truncating the log", e))?;
                        break;
                    }
                    FrameRead::Bad(why) => {
                        return Err(StoreError::Corrupt(format!(
                            "{} at offset {}: {why}",
                            path.display(),
                            reader.offset
                        )))
                    }
                };
                let entry = decode_entry(&payload, path)?;
                if entry.rv <= checkpoint_rv {
                    continue;
                }
                if entry.rv <= head.resource_version {
                    return Err(StoreError::Corrupt(format!(
                        "{}: resourceVersion {} does not follow {}",
                        path.display(),
                        entry.rv,
                        head.resource_version
                    )));
                }
                bytes_since_checkpoint += payload.len() as u64 + 8;
                let rv = entry.rv;
                match change_for(&head, entry) {
                    Some(change) => head.apply(Arc::new(change), ttl_micros),
                    None => head.resource_version = rv,
                }
                replayed += 1;
                if head.history.len() > history_limit || head.history_bytes > history_bytes_limit {
                    head.trim_history(history_limit, history_bytes_limit, Micros(i64::MIN));
                }
            }
        }
        let block_events = config.block_events;
        let next_rv = head.resource_version + 1;
        let (active_path, fresh) = match listing.segments.last() {
            Some((_, path)) => (path.clone(), false),
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
        Ok(Recovered {
            head,
            log: Log {
                dir: dir.to_path_buf(),
                config,
                active,
                active_len,
                bytes_since_checkpoint,
                checkpoints: Checkpointer::new(dir, last_checkpoint_bytes, block_events),
                poisoned: false,
            },
            truncated_bytes,
            replayed,
            corrupt_blocks,
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
    pub fn wants_checkpoint(&self, head_events: usize) -> bool {
        let log_grew = self.bytes_since_checkpoint
            >= self
                .config
                .checkpoint_min_bytes
                .max(2 * self.checkpoints.last_bytes());
        // A full head moves events out, but not more often than every eighth of the log
        // growth that triggers a checkpoint.
        let head_full = head_events > self.config.hot_events + self.config.hot_events / 4
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
