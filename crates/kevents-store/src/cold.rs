//! The cold tier: events nobody has written for a while live in immutable sealed files
//! (`cold-<rv>.blk`, the `sealed` format) instead of memory. Each file keeps in memory only its
//! block index (first key and time range per block, a filter of the object names in each block)
//! and a filter of its keys; blocks are read and decoded on demand through a small cache.
//!
//! A key lives in one place: the head, or one live row of one cold file. Writing or deleting a
//! cold event marks its row dead (a bit per row, persisted in the manifest at each checkpoint)
//! and, for a write, puts the new version in the head. Checkpoints move cold-enough head events
//! into a new file and merge older files into it when they are small or mostly dead.

use crate::entry::StoredEvent;
use crate::pushdown::Pushdown;
use crate::scope::Scope;
use crate::sealed::{self, key_parts, SealedIndex};
use crate::StoreError;
use kevents_model::{EventKey, EventRecord, Micros};
use parking_lot::Mutex;
use std::cmp::Ordering;
use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI64, Ordering as AtomicOrdering};
use std::sync::Arc;

/// Decoded events of one block.
pub(crate) type Rows = Arc<Vec<Arc<StoredEvent>>>;

/// One immutable cold file and which of its rows are still live.
pub(crate) struct ColdFile {
    /// The version the file was sealed at; names it.
    pub id: u64,
    pub path: PathBuf,
    pub file: Arc<File>,
    pub index: Arc<SealedIndex>,
    /// First row number of each block.
    pub(crate) starts: Vec<u64>,
    /// A set bit is a dead row: written again or deleted after the file was sealed.
    pub dead: Vec<u64>,
    pub rows: u64,
    pub live: u64,
    /// Live events per cluster.
    pub clusters: BTreeMap<String, u64>,
    /// Per block: no live row was written before this (microseconds); only moves forward.
    oldest_live: Vec<AtomicI64>,
}

impl ColdFile {
    /// Opens `path` with the dead rows `dead` (empty: all live) and live counts per cluster.
    pub fn open(
        id: u64,
        path: &Path,
        dead: Vec<u64>,
        clusters: BTreeMap<String, u64>,
    ) -> Result<ColdFile, StoreError> {
        let (file, index) = sealed::open(path)?;
        let mut starts = Vec::with_capacity(index.blocks.len());
        let mut rows = 0u64;
        for block in &index.blocks {
            starts.push(rows);
            rows += u64::from(block.count);
        }
        let mut dead = dead;
        dead.resize(rows.div_ceil(64) as usize, 0);
        let dead_count: u64 = dead.iter().map(|w| u64::from(w.count_ones())).sum();
        let oldest_live = index
            .blocks
            .iter()
            .map(|b| AtomicI64::new(b.min_updated))
            .collect();
        Ok(ColdFile {
            id,
            path: path.to_path_buf(),
            file: Arc::new(file),
            index: Arc::new(index),
            starts,
            dead,
            rows,
            live: rows - dead_count,
            clusters,
            oldest_live,
        })
    }

    pub fn is_dead(&self, row: u64) -> bool {
        bit_is_set(&self.dead, row)
    }

    pub fn set_dead(&mut self, row: u64, cluster: &str) {
        if !self.is_dead(row) {
            self.dead[(row / 64) as usize] |= 1 << (row % 64);
            self.live -= 1;
            if let Some(count) = self.clusters.get_mut(cluster) {
                *count -= 1;
                if *count == 0 {
                    self.clusters.remove(cluster);
                }
            }
        }
    }

    /// The block that holds `key` if any does: the last whose first key is not after it.
    pub(crate) fn block_for(&self, key: &EventKey) -> Option<usize> {
        let after = self.index.blocks.partition_point(|b| b.first_key <= *key);
        after.checked_sub(1)
    }
}

/// Whether bit `row` of a dead-row bitmap is set.
pub(crate) fn bit_is_set(bits: &[u64], row: u64) -> bool {
    bits[(row / 64) as usize] & (1 << (row % 64)) != 0
}

/// Orders a record against a key without building a key.
pub(crate) fn cmp_record(record: &EventRecord, key: &EventKey) -> Ordering {
    (
        record.cluster.as_str(),
        record.namespace.as_str(),
        record.name.as_str(),
    )
        .cmp(&(
            key.cluster.as_str(),
            key.namespace.as_str(),
            key.name.as_str(),
        ))
}

/// Orders two records by key without building keys.
pub(crate) fn cmp_records(a: &EventRecord, b: &EventRecord) -> Ordering {
    (a.cluster.as_str(), a.namespace.as_str(), a.name.as_str()).cmp(&(
        b.cluster.as_str(),
        b.namespace.as_str(),
        b.name.as_str(),
    ))
}

/// Every cold file, oldest first, and the cache of decoded blocks.
pub(crate) struct Cold {
    pub files: Vec<ColdFile>,
    cache: Mutex<BlockCache>,
    /// The most bytes of decoded events the cache keeps (it keeps at least the last block).
    cache_limit: std::sync::atomic::AtomicUsize,
    /// Blocks that failed to read or decode since the start.
    pub damaged_blocks: std::sync::atomic::AtomicU64,
}

impl Default for Cold {
    fn default() -> Self {
        Cold {
            files: Vec::new(),
            cache: Mutex::default(),
            cache_limit: crate::config::DEFAULT_BLOCK_CACHE_BYTES.into(),
            damaged_blocks: Default::default(),
        }
    }
}

#[derive(Default)]
struct BlockCache {
    /// Each block's rows, when it was last used and the bytes its rows hold.
    blocks: HashMap<(u64, usize), (Rows, u64, usize)>,
    /// Bytes of the decoded events held, by `EventRecord::approximate_bytes`.
    bytes: usize,
    tick: u64,
}

/// What a decoded block holds in memory, approximately.
fn rows_bytes(rows: &Rows) -> usize {
    rows.iter().map(|e| e.record.approximate_bytes()).sum()
}

/// Where a live cold row is.
pub(crate) struct Found {
    pub file: usize,
    pub row: u64,
    pub event: Arc<StoredEvent>,
}

impl Cold {
    /// Live events in the cold tier.
    pub fn live(&self) -> u64 {
        self.files.iter().map(|f| f.live).sum()
    }

    /// Bounds the block cache to `bytes` of decoded events.
    pub fn set_cache_limit(&self, bytes: usize) {
        self.cache_limit.store(bytes, AtomicOrdering::Relaxed);
    }

    /// Bytes of decoded events in the block cache.
    pub fn cache_bytes(&self) -> usize {
        self.cache.lock().bytes
    }

    /// The decoded events of block `block` of `file`.
    pub fn block(&self, file: &ColdFile, block: usize) -> Rows {
        if let Some(rows) = self.cached(file, block) {
            return rows;
        }
        let rows: Rows = match sealed::read_events(&file.file, &file.index.blocks[block]) {
            Ok(events) => Arc::new(events.into_iter().map(Arc::new).collect()),
            Err(why) => {
                self.damaged(file, block, &why);
                Arc::new(Vec::new())
            }
        };
        let limit = self.cache_limit.load(AtomicOrdering::Relaxed);
        let mut cache = self.cache.lock();
        let bytes = rows_bytes(&rows);
        cache.bytes += bytes;
        let tick = cache.tick;
        if let Some((_, _, old)) = cache
            .blocks
            .insert((file.id, block), (rows.clone(), tick, bytes))
        {
            cache.bytes -= old;
        }
        while cache.bytes > limit && cache.blocks.len() > 1 {
            let oldest = cache
                .blocks
                .iter()
                .min_by_key(|(_, (_, used, _))| *used)
                .map(|(at, _)| *at)
                .expect("not empty");
            if let Some((_, _, old)) = cache.blocks.remove(&oldest) {
                cache.bytes -= old;
            }
        }
        rows
    }

    /// The rows of block `block` of `file` that `pushdown` may accept within `span`, with their
    /// row numbers in the block: from the cache when the block is there, else decoding only
    /// those rows (and not caching them: the cache holds whole blocks).
    pub(crate) fn block_where(
        &self,
        file: &ColdFile,
        block: usize,
        span: &Scope<'_>,
        pushdown: &Pushdown<'_>,
    ) -> (Rows, Option<Vec<usize>>) {
        if pushdown.is_empty() {
            return (self.block(file, block), None);
        }
        if let Some(rows) = self.cached(file, block) {
            return (rows, None);
        }
        let info = &file.index.blocks[block];
        match sealed::read_events_where(&file.file, info, |row| pushdown.accepts(span, row)) {
            Ok(found) => {
                let (positions, rows): (Vec<usize>, Vec<Arc<StoredEvent>>) =
                    found.into_iter().map(|(at, e)| (at, Arc::new(e))).unzip();
                (Arc::new(rows), Some(positions))
            }
            Err(why) => {
                self.damaged(file, block, &why);
                (Arc::new(Vec::new()), Some(Vec::new()))
            }
        }
    }

    /// The rows `wanted` (row numbers in the block, ascending) of block `block` of `file`, with
    /// those numbers: from the cache when the block is there, else decoding only those rows.
    pub(crate) fn block_rows(
        &self,
        file: &ColdFile,
        block: usize,
        wanted: &[usize],
    ) -> (Rows, Option<Vec<usize>>) {
        if let Some(rows) = self.cached(file, block) {
            let (positions, rows): (Vec<usize>, Vec<Arc<StoredEvent>>) = wanted
                .iter()
                .filter_map(|at| rows.get(*at).map(|event| (*at, event.clone())))
                .unzip();
            return (Arc::new(rows), Some(positions));
        }
        let info = &file.index.blocks[block];
        let mut next = 0;
        let found = sealed::read_events_where(&file.file, info, |row| {
            while next < wanted.len() && wanted[next] < row.row {
                next += 1;
            }
            wanted.get(next) == Some(&row.row)
        });
        match found {
            Ok(found) => {
                let (positions, rows): (Vec<usize>, Vec<Arc<StoredEvent>>) =
                    found.into_iter().map(|(at, e)| (at, Arc::new(e))).unzip();
                (Arc::new(rows), Some(positions))
            }
            Err(why) => {
                self.damaged(file, block, &why);
                (Arc::new(Vec::new()), Some(Vec::new()))
            }
        }
    }

    /// The row of `key` in block `block` of `file` (its number in the block and its event):
    /// from the cache when the block is there, else decoding that row alone.
    fn row_of(
        &self,
        file: &ColdFile,
        block: usize,
        key: &EventKey,
    ) -> Option<(usize, Arc<StoredEvent>)> {
        if let Some(rows) = self.cached(file, block) {
            let at = rows.binary_search_by(|e| cmp_record(&e.record, key)).ok()?;
            return Some((at, rows[at].clone()));
        }
        let info = &file.index.blocks[block];
        let found = sealed::read_events_where(&file.file, info, |row| {
            row.cluster() == key.cluster
                && row.namespace() == key.namespace
                && row.name_is(&key.name)
        });
        match found {
            Ok(found) => found.into_iter().next().map(|(at, e)| (at, Arc::new(e))),
            Err(why) => {
                self.damaged(file, block, &why);
                None
            }
        }
    }

    /// The cached rows of a block, when it is cached.
    fn cached(&self, file: &ColdFile, block: usize) -> Option<Rows> {
        let mut cache = self.cache.lock();
        cache.tick += 1;
        let tick = cache.tick;
        cache
            .blocks
            .get_mut(&(file.id, block))
            .map(|(rows, used, _)| {
                *used = tick;
                rows.clone()
            })
    }

    fn damaged(&self, file: &ColdFile, block: usize, why: &str) {
        self.damaged_blocks.fetch_add(1, AtomicOrdering::Relaxed);
        tracing::error!(file = %file.path.display(), block, reason = %why,
            "unreadable cold block: its events are missing from reads");
    }

    /// Forgets the cached blocks of a file that is gone.
    pub fn forget(&self, id: u64) {
        let mut cache = self.cache.lock();
        let gone: Vec<_> = cache.blocks.keys().filter(|k| k.0 == id).copied().collect();
        for at in gone {
            if let Some((_, _, bytes)) = cache.blocks.remove(&at) {
                cache.bytes -= bytes;
            }
        }
    }

    /// The live cold version of `key`, newest file first (a key's newest row decides).
    pub fn find(&self, key: &EventKey) -> Option<Found> {
        self.find_in(key, 0..self.files.len())
    }

    /// Like `find`, among the files at `range`.
    pub fn find_in(&self, key: &EventKey, range: std::ops::Range<usize>) -> Option<Found> {
        let hash = crate::bloom::hash(&key_parts(key));
        for index in range.rev() {
            let file = &self.files[index];
            if !file
                .index
                .keys
                .as_ref()
                .is_none_or(|k| k.may_contain_hash(hash))
            {
                continue;
            }
            let Some(block) = file.block_for(key) else {
                continue;
            };
            if let Some((at, event)) = self.row_of(file, block, key) {
                let row = file.starts[block] + at as u64;
                if file.is_dead(row) {
                    return None;
                }
                return Some(Found {
                    file: index,
                    row,
                    event,
                });
            }
        }
        None
    }

    /// The live cold version of `key`.
    pub fn get(&self, key: &EventKey) -> Option<Arc<StoredEvent>> {
        self.find(key).map(|found| found.event)
    }

    /// Marks the live cold row of `key` dead; true when there was one.
    pub fn kill(&mut self, key: &EventKey) -> bool {
        match self.find(key) {
            Some(found) => {
                self.files[found.file].set_dead(found.row, &key.cluster);
                true
            }
            None => false,
        }
    }

    /// Live cold events whose TTL has passed at `now` as (expiry, key, version), from the
    /// blocks with the oldest rows first, until at least `limit` are found (or all are).
    pub fn expired(
        &self,
        now: Micros,
        ttl_micros: i64,
        limit: usize,
    ) -> Vec<(Micros, EventKey, u64)> {
        let horizon = now.0.saturating_sub(ttl_micros);
        let mut candidates: Vec<(i64, usize, usize)> = Vec::new();
        for (f, file) in self.files.iter().enumerate() {
            for (b, oldest) in file.oldest_live.iter().enumerate() {
                let oldest = oldest.load(AtomicOrdering::Relaxed);
                if oldest <= horizon {
                    candidates.push((oldest, f, b));
                }
            }
        }
        candidates.sort_unstable();
        let mut found = Vec::new();
        for (_, f, b) in candidates {
            if found.len() >= limit {
                break;
            }
            let file = &self.files[f];
            let rows = self.block(file, b);
            let mut oldest_live = i64::MAX;
            for (at, event) in rows.iter().enumerate() {
                if file.is_dead(file.starts[b] + at as u64) {
                    continue;
                }
                // Expired rows stay live until their delete commits, so they keep the block
                // a candidate until then.
                oldest_live = oldest_live.min(event.updated_at.0);
                if event.updated_at.0 <= horizon {
                    found.push((
                        Micros(event.updated_at.0.saturating_add(ttl_micros)),
                        event.record.key(),
                        event.record.resource_version,
                    ));
                }
            }
            file.oldest_live[b].fetch_max(oldest_live.min(i64::MAX - 1), AtomicOrdering::Relaxed);
        }
        found
    }
}
