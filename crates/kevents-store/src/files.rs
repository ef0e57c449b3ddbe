//! The files of the log directory: how segments and checkpoints are named, found and measured.

use crate::StoreError;
use std::fs::{self, File};
use std::path::{Path, PathBuf};

const SEGMENT_SUFFIX: &str = ".log";
const CHECKPOINT_PREFIX: &str = "checkpoint-";
const CHECKPOINT_SUFFIX: &str = ".blk";
const COLD_PREFIX: &str = "cold-";
const MANIFEST_PREFIX: &str = "manifest-";
const MANIFEST_SUFFIX: &str = ".idx";
/// Checkpoints of the earlier JSON format, still read.
const JSON_CHECKPOINT_SUFFIX: &str = ".ckpt";

pub(crate) fn segment_path(dir: &Path, first_rv: u64) -> PathBuf {
    dir.join(format!("{first_rv:020}{SEGMENT_SUFFIX}"))
}

pub(crate) fn checkpoint_path(dir: &Path, rv: u64) -> PathBuf {
    dir.join(format!("{CHECKPOINT_PREFIX}{rv:020}{CHECKPOINT_SUFFIX}"))
}

pub(crate) fn cold_path(dir: &Path, rv: u64) -> PathBuf {
    dir.join(format!("{COLD_PREFIX}{rv:020}{CHECKPOINT_SUFFIX}"))
}

pub(crate) fn manifest_path(dir: &Path, rv: u64) -> PathBuf {
    dir.join(format!("{MANIFEST_PREFIX}{rv:020}{MANIFEST_SUFFIX}"))
}

fn parse_number(name: &str, prefix: &str, suffix: &str) -> Option<u64> {
    name.strip_prefix(prefix)?
        .strip_suffix(suffix)?
        .parse()
        .ok()
}

pub(crate) fn sync_dir(dir: &Path) -> std::io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Files found in the log directory, each list sorted by version.
pub(crate) struct Listing {
    pub segments: Vec<(u64, PathBuf)>,
    pub checkpoints: Vec<(u64, PathBuf)>,
    pub cold: Vec<(u64, PathBuf)>,
    pub manifests: Vec<(u64, PathBuf)>,
}

pub(crate) fn list_dir(dir: &Path) -> Result<Listing, StoreError> {
    let mut listing = Listing {
        segments: Vec::new(),
        checkpoints: Vec::new(),
        cold: Vec::new(),
        manifests: Vec::new(),
    };
    for entry in fs::read_dir(dir).map_err(|e| StoreError::io("reading the log directory", e))? {
        let entry = entry.map_err(|e| StoreError::io("reading the log directory", e))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if let Some(rv) = parse_number(&name, "", SEGMENT_SUFFIX) {
            listing.segments.push((rv, entry.path()));
        } else if let Some(rv) = parse_number(&name, CHECKPOINT_PREFIX, CHECKPOINT_SUFFIX)
            .or_else(|| parse_number(&name, CHECKPOINT_PREFIX, JSON_CHECKPOINT_SUFFIX))
        {
            listing.checkpoints.push((rv, entry.path()));
        } else if let Some(rv) = parse_number(&name, COLD_PREFIX, CHECKPOINT_SUFFIX) {
            listing.cold.push((rv, entry.path()));
        } else if let Some(rv) = parse_number(&name, MANIFEST_PREFIX, MANIFEST_SUFFIX) {
            listing.manifests.push((rv, entry.path()));
        }
    }
    listing.segments.sort();
    listing.checkpoints.sort();
    listing.cold.sort();
    listing.manifests.sort();
    Ok(listing)
}

/// Bytes of the files in `dir` (the log directory: segments and checkpoints).
pub(crate) fn dir_bytes(dir: &Path) -> u64 {
    fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok()?.metadata().ok())
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0)
}

/// Bytes of the segments and checkpoints in `dir`: what retention can reclaim. Files kept aside
/// for inspection (torn tails, damaged checkpoints) are left out, so that they never make
/// retention delete events to pay for them.
pub(crate) fn reclaimable_bytes(dir: &Path) -> u64 {
    let listing = match list_dir(dir) {
        Ok(listing) => listing,
        Err(_) => return 0,
    };
    listing
        .segments
        .iter()
        .chain(&listing.checkpoints)
        .chain(&listing.cold)
        .chain(&listing.manifests)
        .filter_map(|(_, path)| fs::metadata(path).ok())
        .map(|m| m.len())
        .sum()
}

/// Removes checkpoints a crash interrupted: never renamed into place, so never relied on. Only
/// at startup, when no checkpoint can be in progress.
pub(crate) fn remove_partial_checkpoints(dir: &Path) -> Result<(), StoreError> {
    for entry in fs::read_dir(dir).map_err(|e| StoreError::io("reading the log directory", e))? {
        let entry = entry.map_err(|e| StoreError::io("reading the log directory", e))?;
        if entry.file_name().to_string_lossy().ends_with(".tmp") {
            let _ = fs::remove_file(entry.path());
        }
    }
    Ok(())
}
