//! Recovery: rebuilds the head from the newest checkpoint (or manifest with its cold files)
//! and the log segments after it, truncating a torn tail of the last segment, and opens the
//! log for appends.

use crate::change::change_for;
use crate::checkpoint::load_checkpoint;
use crate::cold::ColdFile;
use crate::config::LogConfig;
use crate::entry::decode_entry;
use crate::files::{checkpoint_path, cold_path, list_dir, remove_partial_checkpoints};
use crate::frame::{FrameRead, FrameReader};
use crate::head::Head;
use crate::history::History;
use crate::log::Log;
use crate::tiering::write_sealed;
use crate::StoreError;
use kevents_model::Micros;
use std::fs::{self, File, OpenOptions};
use std::io::{BufReader, Read, Seek};
use std::path::Path;
use std::sync::Arc;

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

/// The version of a new, empty store. Versions start above zero so that no list ever reports
/// `"0"`, which clients read as "any version" when they start a watch from it.
const INITIAL_RESOURCE_VERSION: u64 = 1;

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

/// Opens (or creates) the log in `dir` and rebuilds the head from it.
pub(crate) fn recover(
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
            history: History::starting_at(INITIAL_RESOURCE_VERSION),
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
        let named: std::collections::HashSet<u64> = manifest.files.iter().map(|f| f.id).collect();
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
            if head.history.len() > history_limit || head.history.bytes() > history_bytes_limit {
                head.history
                    .trim(history_limit, history_bytes_limit, Micros(i64::MIN));
            }
        }
    }
    let active = listing.segments.last().map(|(_, path)| path.as_path());
    let next_rv = head.resource_version + 1;
    let log = Log::open(
        dir,
        config,
        active,
        next_rv,
        bytes_since_checkpoint,
        last_checkpoint_bytes,
    )?;
    Ok(Recovered {
        head,
        log,
        truncated_bytes,
        replayed,
        corrupt_blocks,
    })
}
