//! Scans of one cold file: a key-ordered cursor over its live rows, and what a scan may check
//! on a row's columns before the row's event is built.

use crate::cold::{cmp_record, cmp_records, Cold, ColdFile, Rows};
use crate::entry::StoredEvent;
use crate::pushdown::Pushdown;
use crate::scope::Scope;
use crate::time_index::{IdFilter, CHUNK_ENTRIES};
use kevents_model::{EventKey, Micros};
use std::cmp::Ordering;
use std::ops::Bound;
use std::sync::Arc;

/// A file's time index chooses the rows of a window while the chunks of the window hold at
/// most this share of the file's rows (or one chunk's worth: a small file's one chunk costs
/// little); a wider window reads the blocks in the scope and checks each event's time.
const SELECTIVE_SHARE: u64 = 4;

/// The rows of `file` the time index puts in the window and the scope and requirements
/// allow, in row (= key) order, checked against the dead rows; `None` when the index cannot
/// choose (no window, no index, a wide window, an unreadable chunk): the caller then reads
/// the scope's blocks and checks each event's time itself.
fn rows_in_window(pushdown: &Pushdown<'_>, file: &ColdFile, span: &Scope<'_>) -> Option<Vec<u64>> {
    let seen = pushdown.seen?;
    let time = file.index.time.as_ref()?;
    let overlapping = || {
        time.chunks
            .iter()
            .filter(|info| seen.overlaps(info.first, info.last))
    };
    let entries: u64 = overlapping().map(|info| u64::from(info.entries)).sum();
    if entries > (file.rows / SELECTIVE_SHARE).max(CHUNK_ENTRIES as u64) {
        return None;
    }
    let requirements = pushdown
        .fields
        .map_or(&[][..], |f| f.requirements.as_slice());
    let Some(ids) = IdFilter::new(time, *span, requirements) else {
        return Some(Vec::new());
    };
    let mut rows = Vec::new();
    for info in overlapping() {
        let chunk = match crate::sealed::read_chunk(&file.file, time, info) {
            Ok(chunk) => chunk,
            Err(why) => {
                tracing::error!(file = %file.path.display(), reason = %why,
                    "unreadable time index chunk: listing this file from its blocks");
                return None;
            }
        };
        for i in 0..chunk.rows.len() {
            let row = chunk.rows[i];
            if seen.contains(Micros(chunk.times[i]))
                && row < file.rows
                && !file.is_dead(row)
                && ids.accepts(&chunk, i)
            {
                rows.push(row);
            }
        }
    }
    rows.sort_unstable();
    Some(rows)
}

/// Live cold events in key order after `lower` while inside `span`, without those
/// `pushdown` rules out (the caller still checks each event); with an object name, only
/// blocks whose filter may hold events about an object of that name are read.
pub(crate) fn scan<'a>(
    cold: &'a Cold,
    lower: Bound<EventKey>,
    span: Scope<'a>,
    pushdown: Pushdown<'a>,
) -> impl Iterator<Item = Arc<StoredEvent>> + 'a {
    let mut cursors: Vec<FileCursor<'a>> = cold
        .files
        .iter()
        .map(|file| FileCursor::new(cold, file, lower.clone(), span, pushdown))
        .collect();
    std::iter::from_fn(move || {
        // The smallest next key among the files (few files: a linear pick).
        let mut best: Option<(usize, Arc<StoredEvent>)> = None;
        for (i, cursor) in cursors.iter_mut().enumerate() {
            if let Some(event) = cursor.peek() {
                let better = best
                    .as_ref()
                    .is_none_or(|(_, b)| cmp_records(&event.record, &b.record) == Ordering::Less);
                if better {
                    best = Some((i, event));
                }
            }
        }
        let (i, event) = best?;
        cursors[i].advance();
        Some(event)
    })
}

/// A key-ordered walk over one file's live rows.
pub(crate) struct FileCursor<'a> {
    cold: &'a Cold,
    file: &'a ColdFile,
    span: Scope<'a>,
    pushdown: Pushdown<'a>,
    /// The filter hash of the pushed-down object name, computed once for every block's filter.
    object_hash: Option<u64>,
    lower: Bound<EventKey>,
    /// The rows the time index chose for the pushed-down window (in row order), when it did:
    /// only their blocks are read, and only they are built.
    chosen: Option<Vec<u64>>,
    /// The blocks the file's object index names for the pushed-down object, when it has one:
    /// only they are read.
    object_blocks: Option<Vec<usize>>,
    block: usize,
    /// The current block's rows, all of them or (with `positions`) those the pushdown kept.
    rows: Option<(Rows, Option<Vec<usize>>)>,
    at: usize,
    done: bool,
}

impl<'a> FileCursor<'a> {
    pub(crate) fn new(
        cold: &'a Cold,
        file: &'a ColdFile,
        lower: Bound<EventKey>,
        span: Scope<'a>,
        pushdown: Pushdown<'a>,
    ) -> FileCursor<'a> {
        let block = match &lower {
            Bound::Included(key) | Bound::Excluded(key) => file.block_for(key).unwrap_or(0),
            Bound::Unbounded => 0,
        };
        let mut cursor = FileCursor {
            cold,
            file,
            span,
            pushdown,
            object_hash: pushdown
                .object
                .map(|name| crate::bloom::hash(&[name.as_bytes()])),
            lower,
            chosen: rows_in_window(&pushdown, file, &span),
            object_blocks: pushdown.object.and_then(|name| {
                let index = file.index.object_index.as_ref()?;
                Some(index.blocks_of(name).collect())
            }),
            block,
            rows: None,
            at: 0,
            done: false,
        };
        cursor.seek_block(block);
        cursor
    }

    /// Moves to block `from`, or to the first block from there that holds a chosen row and is
    /// one the object index names (as far as either applies); done when there is none.
    fn seek_block(&mut self, from: usize) {
        let end = self.file.index.blocks.len();
        let mut block = from;
        loop {
            if let Some(blocks) = &self.object_blocks {
                let next = blocks.partition_point(|b| *b < block);
                block = blocks.get(next).copied().unwrap_or(end);
            }
            let Some(chosen) = &self.chosen else {
                break;
            };
            let start = self
                .file
                .starts
                .get(block)
                .copied()
                .unwrap_or(self.file.rows);
            let next = chosen.partition_point(|row| *row < start);
            let holding = match chosen.get(next) {
                Some(row) => self.file.starts.partition_point(|s| s <= row) - 1,
                None => end,
            };
            // Done when both agree (or nothing is left); else try from the later block.
            if holding == block || holding >= end || self.object_blocks.is_none() {
                block = holding;
                break;
            }
            block = holding;
        }
        self.block = block;
        self.done = self.block >= end;
    }

    /// The chosen rows of block `block`, as row numbers inside the block.
    fn chosen_in_block(&self, chosen: &[u64]) -> Vec<usize> {
        let start = self.file.starts[self.block];
        let end = (self.file.starts.get(self.block + 1).copied()).unwrap_or(self.file.rows);
        let first = chosen.partition_point(|row| *row < start);
        let last = chosen.partition_point(|row| *row < end);
        chosen[first..last]
            .iter()
            .map(|row| (row - start) as usize)
            .collect()
    }

    pub(crate) fn peek(&mut self) -> Option<Arc<StoredEvent>> {
        while !self.done {
            let Some((rows, positions)) = &self.rows else {
                let info = &self.file.index.blocks[self.block];
                if self.span.after(&info.first_key) {
                    // This block and every later one start past the span.
                    self.done = true;
                    return None;
                }
                if let Some(hash) = self.object_hash.filter(|_| self.object_blocks.is_none()) {
                    let objects = &self.file.index.objects;
                    if !objects.may_contain_hash(self.block, hash) {
                        // Not past the span's last block: a name asked in one namespace may be
                        // in every other's blocks too.
                        let blocks = &self.file.index.blocks;
                        let until = match self.span.namespace.or(self.span.cluster) {
                            None => blocks.len(),
                            Some(_) => {
                                let rest = &blocks[self.block..];
                                self.block
                                    + rest.partition_point(|b| !self.span.after(&b.first_key))
                            }
                        };
                        self.seek_block(objects.next_candidate(self.block + 1, until, hash));
                        continue;
                    }
                }
                let (rows, positions) = match &self.chosen {
                    Some(chosen) => {
                        let wanted = self.chosen_in_block(chosen);
                        self.cold.block_rows(self.file, self.block, &wanted)
                    }
                    None => {
                        self.cold
                            .block_where(self.file, self.block, &self.span, &self.pushdown)
                    }
                };
                self.at = match &self.lower {
                    Bound::Included(key) => {
                        rows.partition_point(|e| cmp_record(&e.record, key) == Ordering::Less)
                    }
                    Bound::Excluded(key) => {
                        rows.partition_point(|e| cmp_record(&e.record, key) != Ordering::Greater)
                    }
                    Bound::Unbounded => 0,
                };
                self.rows = Some((rows, positions));
                continue;
            };
            if self.at >= rows.len() {
                self.rows = None;
                self.seek_block(self.block + 1);
                continue;
            }
            let event = &rows[self.at];
            if !self.span.contains_record(&event.record) {
                if self.span.before(&event.record) {
                    self.at += 1;
                    continue;
                }
                self.done = true;
                return None;
            }
            let row = positions.as_ref().map_or(self.at, |p| p[self.at]);
            if self.file.is_dead(self.file.starts[self.block] + row as u64) {
                self.at += 1;
                continue;
            }
            return Some(event.clone());
        }
        None
    }

    pub(crate) fn advance(&mut self) {
        self.at += 1;
    }
}

#[cfg(test)]
#[path = "cold_scan_tests.rs"]
mod tests;
