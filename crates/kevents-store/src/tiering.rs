//! What a checkpoint does with the tiers: it keeps recently written events in the head (the
//! hot checkpoint), moves the rest into a new cold file, merges small or mostly dead cold files
//! into that file, and writes the manifest that ties it together. `plan` runs on the writer
//! thread (a consistent view as of one version), `seal` on a background thread, `install` on
//! the writer thread again.

use crate::cold::ColdFile;
use crate::config::TierConfig;
use crate::entry::StoredEvent;
use crate::files::{checkpoint_path, cold_path, list_dir, sync_dir};
use crate::head::{expires_at, Head};
use crate::hot_key::HotKey;
use crate::manifest::{self, Manifest, ManifestFile};
use crate::sealed::{self, SealedIndex, SealedKind};
use crate::StoreError;
use kevents_model::{EventKey, Micros};
use std::collections::{BTreeMap, HashSet};
use std::fs::{self, File};
use std::path::Path;
use std::sync::Arc;

/// When events leave the head for the cold tier.
#[derive(Clone, Copy, Debug)]
pub(crate) struct TierPolicy {
    /// Events not written for this long are moved at the next checkpoint.
    pub cold_after_micros: i64,
    /// The head keeps at most about this many events; the oldest beyond it are moved.
    pub hot_events: usize,
    /// Events per block of a cold file.
    pub block_events: usize,
    /// Merges stop where the new file would hold last-seen times further apart than this.
    pub file_span_micros: i64,
    /// Files are merged for size only while the new file stays within this many events.
    pub merge_max_events: u64,
}

impl TierPolicy {
    /// The policy the settings ask for.
    pub(crate) fn of(config: &TierConfig) -> TierPolicy {
        TierPolicy {
            cold_after_micros: config.cold_after_micros,
            hot_events: config.hot_events,
            block_events: config.cold_block_events.max(1),
            file_span_micros: config.cold_file_span_micros,
            merge_max_events: config.cold_merge_max_events,
        }
    }
}

/// A cold file whose live rows go into the new file.
pub(crate) struct MergeSource {
    pub id: u64,
    pub file: Arc<File>,
    pub index: Arc<SealedIndex>,
    pub dead: Vec<u64>,
}

/// The earliest and latest last-seen time of the events a file holds or will hold (`None`:
/// none, or unknown for a file without a time index: such a file limits nothing).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
struct SeenSpan(Option<(i64, i64)>);

impl SeenSpan {
    fn of(times: impl Iterator<Item = i64>) -> SeenSpan {
        SeenSpan(times.fold(None, |bounds, t| match bounds {
            None => Some((t, t)),
            Some((lo, hi)) => Some((lo.min(t), hi.max(t))),
        }))
    }

    fn with(self, other: Option<(i64, i64)>) -> SeenSpan {
        match (self.0, other) {
            (Some((lo, hi)), Some((a, b))) => SeenSpan(Some((lo.min(a), hi.max(b)))),
            (None, other) => SeenSpan(other),
            (bounds, None) => SeenSpan(bounds),
        }
    }

    fn fits(self, span_micros: i64) -> bool {
        self.0
            .is_none_or(|(lo, hi)| hi.saturating_sub(lo) <= span_micros)
    }
}

/// What one checkpoint writes, as of `rv`.
pub(crate) struct Plan {
    pub rv: u64,
    /// The new cold file's id: the version, unless a file of that name exists (a checkpoint
    /// with nothing written since the last one), then the next free number.
    pub new_id: u64,
    /// Events that stay in the head, in key order.
    pub hot: Vec<Arc<StoredEvent>>,
    /// Events that move to the new cold file, in key order.
    pub demoted: Vec<Arc<StoredEvent>>,
    pub merged: Vec<MergeSource>,
    /// Cold files that stay as they are, with their dead rows as of `rv`.
    pub kept: Vec<ManifestFile>,
    /// Events per block of the new cold file.
    pub cold_block_events: usize,
}

/// What `seal` wrote, for `install`.
pub(crate) struct Sealed {
    pub rv: u64,
    pub new_id: u64,
    pub hot_bytes: u64,
    /// The new cold file (id = rv) and its live events per cluster, when it has rows.
    pub new_file: Option<BTreeMap<String, u64>>,
    pub demoted: Vec<(EventKey, u64)>,
    pub merged: Vec<u64>,
}

/// Decides what moves, under the writer's view of `head` at its current version; `reclaim`
/// rewrites every cold file with dead rows, so that deletes free disk space now.
pub(crate) fn plan(
    head: &Head,
    now: Micros,
    policy: TierPolicy,
    ttl_micros: i64,
    reclaim: bool,
) -> Plan {
    // Events in expiry order are in last-write order; the first `moving` of them go.
    let cutoff = Micros(now.0.saturating_sub(policy.cold_after_micros));
    let idle = head
        .expiry
        .iter()
        .take_while(|(at, _)| Micros(at.0.saturating_sub(ttl_micros)) < cutoff)
        .count();
    let overflow = head.events.len().saturating_sub(policy.hot_events);
    let moving = idle.max(overflow);
    let threshold = head.expiry.iter().nth(moving).cloned();
    let stays = |event: &Arc<StoredEvent>| match &threshold {
        None => false,
        Some(first_staying) => {
            let key = HotKey::of_record(&event.record);
            (expires_at(event, ttl_micros), key) >= *first_staying
        }
    };
    let (mut hot, mut demoted) = (Vec::new(), Vec::new());
    if moving == 0 {
        hot.extend(head.events.values().cloned());
    } else {
        for event in head.events.values() {
            if stays(event) {
                hot.push(event.clone());
            } else {
                demoted.push(event.clone());
            }
        }
    }
    // Newest files first: merge a file when it is mostly dead, or while it is no bigger than
    // twice what the new file holds so far (file sizes then grow geometrically with age, up to
    // `merge_max_events`) -- either only while the new file's last-seen times stay within the
    // span. A file with no live rows is always dropped; `reclaim` rewrites whatever has dead
    // rows.
    let mut merged = Vec::new();
    let mut kept = Vec::new();
    let mut accumulated = demoted.len() as u64;
    let mut growing = true;
    let mut span = SeenSpan::of(demoted.iter().map(|e| e.record.seen_at().0));
    for file in head.cold.files.iter().rev() {
        let widened = span.with(file.index.seen_bounds());
        let within = widened.fits(policy.file_span_micros);
        let mostly_dead = file.live * 2 <= file.rows && within;
        let small = growing
            && file.live <= accumulated.saturating_mul(2)
            && accumulated.saturating_add(file.live) <= policy.merge_max_events
            && within;
        let reclaimed = reclaim && file.live < file.rows;
        if file.live == 0 || mostly_dead || small || reclaimed {
            accumulated += file.live;
            if file.live > 0 {
                span = widened;
            }
            merged.push(MergeSource {
                id: file.id,
                file: file.file.clone(),
                index: file.index.clone(),
                dead: file.dead.clone(),
            });
        } else {
            growing = false;
            kept.push(ManifestFile {
                id: file.id,
                dead: file.dead.clone(),
                clusters: file.clusters.clone(),
            });
        }
    }
    kept.reverse();
    let rv = head.resource_version;
    let next_free = head.cold.files.iter().map(|f| f.id + 1).max().unwrap_or(0);
    Plan {
        rv,
        new_id: rv.max(next_free),
        hot,
        demoted,
        merged,
        kept,
        cold_block_events: policy.block_events,
    }
}

/// Writes the plan durably: the new cold file, the hot checkpoint, then the manifest; then
/// deletes what the manifest makes redundant.
pub(crate) fn seal(dir: &Path, plan: Plan, block_events: usize) -> Result<Sealed, StoreError> {
    let Plan {
        rv,
        new_id,
        hot,
        demoted,
        merged,
        mut kept,
        cold_block_events,
    } = plan;
    let demoted_keys: Vec<(EventKey, u64)> = demoted
        .iter()
        .map(|e| (e.record.key(), e.record.resource_version))
        .collect();
    let merged_ids: Vec<u64> = merged.iter().map(|m| m.id).collect();
    let mut clusters: BTreeMap<String, u64> = BTreeMap::new();
    let mut rows = 0u64;
    if !demoted.is_empty() || !merged.is_empty() {
        let expected_rows = demoted.len()
            + merged
                .iter()
                .map(|m| {
                    let rows: u64 = m.index.blocks.iter().map(|b| u64::from(b.count)).sum();
                    let dead: u64 = m.dead.iter().map(|w| u64::from(w.count_ones())).sum();
                    rows.saturating_sub(dead) as usize
                })
                .sum::<usize>();
        let sources: Vec<Box<dyn Iterator<Item = Arc<StoredEvent>>>> = merged
            .into_iter()
            .map(|m| Box::new(live_rows(m)) as Box<dyn Iterator<Item = Arc<StoredEvent>>>)
            .chain(std::iter::once(
                Box::new(demoted.into_iter()) as Box<dyn Iterator<Item = Arc<StoredEvent>>>
            ))
            .collect();
        let events = merge_all(sources).inspect(|e| {
            rows += 1;
            *clusters.entry(e.record.cluster.clone()).or_default() += 1;
        });
        write_sealed(
            dir,
            &cold_path(dir, new_id),
            rv,
            events,
            cold_block_events,
            SealedKind::Cold {
                rows: expected_rows,
            },
        )?;
    }
    // An empty new file is not named by the manifest, so it is deleted with the redundant.
    let new_file = (rows > 0).then_some(clusters);
    if let Some(clusters) = &new_file {
        kept.push(ManifestFile {
            id: new_id,
            dead: Vec::new(),
            clusters: clusters.clone(),
        });
    }
    let hot_bytes = write_sealed(
        dir,
        &checkpoint_path(dir, rv),
        rv,
        hot.into_iter(),
        block_events,
        SealedKind::Checkpoint,
    )?;
    let live_files: HashSet<u64> = kept.iter().map(|f| f.id).collect();
    manifest::write(dir, &Manifest { rv, files: kept })?;
    remove_redundant(dir, rv, &live_files)?;
    Ok(Sealed {
        rv,
        new_id,
        hot_bytes,
        new_file,
        demoted: demoted_keys,
        merged: merged_ids,
    })
}

/// Makes the sealed checkpoint the state of the tiers: the new file joins, merged files leave,
/// moved events leave the head unless written again meanwhile, and rows of keys written since
/// the plan are dead in the new file.
pub(crate) fn install(
    head: &mut Head,
    dir: &Path,
    sealed: Sealed,
    ttl_micros: i64,
) -> Result<(), StoreError> {
    let touched = head.touched.take().unwrap_or_default();
    let new_file = match sealed.new_file {
        Some(clusters) => Some(ColdFile::open(
            sealed.new_id,
            &cold_path(dir, sealed.new_id),
            Vec::new(),
            clusters,
        )?),
        None => None,
    };
    for id in &sealed.merged {
        head.cold.forget(*id);
    }
    head.cold.files.retain(|f| !sealed.merged.contains(&f.id));
    if let Some(file) = new_file {
        head.cold.files.push(file);
        let last = head.cold.files.len() - 1;
        for key in &touched {
            if let Some(found) = head.cold.find_in(key, last..last + 1) {
                head.cold.files[last].set_dead(found.row, &key.cluster);
            }
        }
    }
    for (key, rv) in &sealed.demoted {
        head.demote(key, *rv, ttl_micros);
    }
    Ok(())
}

/// The live rows of a merged file in key order; a block that cannot be read is reported and
/// its rows are lost (as with a damaged checkpoint block).
fn live_rows(source: MergeSource) -> impl Iterator<Item = Arc<StoredEvent>> {
    let MergeSource {
        id,
        file,
        index,
        dead,
    } = source;
    let mut first_row = 0u64;
    (0..index.blocks.len()).flat_map(move |b| {
        let info = &index.blocks[b];
        let start = first_row;
        first_row += u64::from(info.count);
        let events = sealed::read_events(&file, info).unwrap_or_else(|why| {
            tracing::error!(file = id, block = b, reason = %why, "unreadable cold block not merged: its events are lost");
            Vec::new()
        });
        // Filtered here, while the block's rows are at hand, so the dead bitmap is read in
        // place rather than copied for every block.
        let live: Vec<Arc<StoredEvent>> = events
            .into_iter()
            .enumerate()
            .filter(|(at, _)| {
                let row = start + *at as u64;
                dead.get((row / 64) as usize)
                    .is_none_or(|w| w & (1 << (row % 64)) == 0)
            })
            .map(|(_, e)| Arc::new(e))
            .collect();
        live
    })
}

/// Key-ordered streams of distinct keys as one.
fn merge_all(
    sources: Vec<Box<dyn Iterator<Item = Arc<StoredEvent>>>>,
) -> impl Iterator<Item = Arc<StoredEvent>> {
    let mut sources: Vec<_> = sources.into_iter().map(|s| s.peekable()).collect();
    std::iter::from_fn(move || {
        let mut best: Option<(usize, Arc<StoredEvent>)> = None;
        for (i, source) in sources.iter_mut().enumerate() {
            let Some(candidate) = source.peek() else {
                continue;
            };
            let better = best.as_ref().is_none_or(|(_, current)| {
                crate::cold::cmp_records(&candidate.record, &current.record)
                    == std::cmp::Ordering::Less
            });
            if better {
                best = Some((i, candidate.clone()));
            }
        }
        sources[best?.0].next()
    })
}

/// Writes a sealed file durably (temporary file, fsync, rename, directory fsync); returns its
/// size. A partial file is removed: on a full disk it holds space the log needs.
pub(crate) fn write_sealed(
    dir: &Path,
    path: &Path,
    rv: u64,
    events: impl Iterator<Item = Arc<StoredEvent>>,
    block_events: usize,
    kind: SealedKind,
) -> Result<u64, StoreError> {
    let tmp = path.with_extension("tmp");
    let result = File::create(&tmp)
        .and_then(|file| sealed::write(file, rv, events, block_events, kind))
        .and_then(|(file, written)| {
            file.sync_all()?;
            drop(file);
            fs::rename(&tmp, path)?;
            sync_dir(dir)?;
            Ok(written)
        })
        .map_err(|e| StoreError::io("writing a checkpoint", e));
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// Deletes segments whose entries are all at or below `rv` (the active segment was started at
/// `rv + 1` before the checkpoint began), older checkpoints and manifests, and cold files the
/// manifest of `rv` does not name.
pub(crate) fn remove_redundant(
    dir: &Path,
    rv: u64,
    live_files: &HashSet<u64>,
) -> Result<(), StoreError> {
    let listing = list_dir(dir)?;
    let old = |(version, _): &&(u64, std::path::PathBuf)| *version < rv;
    for (first_rv, path) in &listing.segments {
        if *first_rv <= rv {
            let _ = fs::remove_file(path);
        }
    }
    for (_, path) in listing
        .checkpoints
        .iter()
        .filter(old)
        .chain(listing.manifests.iter().filter(old))
    {
        let _ = fs::remove_file(path);
    }
    for (id, path) in &listing.cold {
        if !live_files.contains(id) {
            let _ = fs::remove_file(path);
        }
    }
    Ok(())
}
