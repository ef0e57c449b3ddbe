//! Counting events by one field over a window of last-seen times (`Store::count`): "which
//! reasons in the last 24 hours", "how many Warnings per namespace this week". Hot events are
//! counted from memory; a cold file answers from its time index (only the chunks of the window
//! are read) when the grouping field and every field requirement are among the indexed
//! fields, else from its blocks.

use crate::buckets::Buckets;
use crate::cold::ColdFile;
use crate::head::Head;
use crate::pushdown::Pushdown;
use crate::scope::Scope;
use crate::sealed::{self, SealedIndex};
use crate::time_index::{Chunk, IdFilter, TimeIndex, FIELDS};
use crate::TimeWindow;
use kevents_model::{EventField, EventRecord, FieldRequirement, FieldSelector, Micros};
use parking_lot::RwLock;
use std::collections::HashMap;
use std::fs::File;
use std::path::PathBuf;
use std::sync::Arc;

/// What to count.
#[derive(Debug, Clone, Copy)]
pub struct CountQuery<'a> {
    /// Which clusters and namespaces.
    pub scope: Scope<'a>,
    /// Only events these field requirements accept.
    pub fields: Option<&'a FieldSelector>,
    /// Only events last seen in this window.
    pub seen: TimeWindow,
    /// The field whose values are counted.
    pub by: EventField,
}

/// The events with one value of the counted field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Counted {
    /// The value (empty when the events do not set the field).
    pub value: String,
    /// Stored events with this value.
    pub events: u64,
    /// Their occurrences (`count` / `series.count`, at least 1 each).
    pub occurrences: u64,
}

/// The answer of `Store::count`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Counts {
    /// One entry per value, most events first (then most occurrences, then by value).
    pub items: Vec<Counted>,
    /// The store's version the counts are as of.
    pub resource_version: u64,
    /// Time index chunks read from cold files.
    pub chunks_read: u64,
    /// Cold blocks read (files or questions the time index cannot answer).
    pub blocks_read: u64,
}

/// Events and occurrences per (bucket, value); the bucket is 0 for a count without buckets.
pub(crate) type Totals = HashMap<(u32, String), (u64, u64)>;

/// Where an event of a count goes: its bucket, or none when it falls outside them.
fn slot(buckets: Option<&Buckets>, at: Micros) -> Option<u32> {
    match buckets {
        None => Some(0),
        Some(b) => b.of(at),
    }
}

impl CountQuery<'_> {
    fn requirements(&self) -> &[FieldRequirement] {
        self.fields.map_or(&[], |f| f.requirements.as_slice())
    }

    /// True when the counted field and every requirement are plain string columns of a block
    /// (all but the event's name and the object's uid): rows are then counted off the columns
    /// without building events.
    fn on_columns(&self) -> bool {
        let plain = |field: EventField| !matches!(field, EventField::Name | EventField::ObjectUid);
        plain(self.by) && self.requirements().iter().all(|r| plain(r.field))
    }

    fn accepts(&self, record: &EventRecord) -> bool {
        self.scope.contains_record(record)
            && self.seen.contains(record.seen_at())
            && self.fields.is_none_or(|f| f.matches(record))
    }
}

/// Logs a block that did not read; its rows are missing from the count.
fn unreadable(file: &FileSnapshot, block: usize, why: &str, damaged: &mut u64) {
    *damaged += 1;
    tracing::error!(file = %file.path.display(), block, reason = %why,
        "unreadable cold block: its events are missing from the count");
}

fn add(totals: &mut Totals, bucket: u32, value: &str, occurrences: u64) {
    let total = totals.entry((bucket, value.to_string())).or_default();
    total.0 += 1;
    total.1 += occurrences;
}

fn occurrences(record: &EventRecord) -> u64 {
    u64::try_from(record.occurrences().max(1)).unwrap_or(1)
}

/// What a count needs of a cold file, taken under the head's read lock so the files are read
/// without it: a count over blocks can take seconds, and writers wait for that lock. The open
/// file stays readable even if a checkpoint merges it away meanwhile.
struct FileSnapshot {
    path: PathBuf,
    file: Arc<File>,
    index: Arc<SealedIndex>,
    starts: Vec<u64>,
    dead: Vec<u64>,
    rows: u64,
}

impl FileSnapshot {
    fn of(file: &ColdFile) -> FileSnapshot {
        FileSnapshot {
            path: file.path.clone(),
            file: file.file.clone(),
            index: file.index.clone(),
            starts: file.starts.clone(),
            dead: file.dead.clone(),
            rows: file.rows,
        }
    }

    fn is_dead(&self, row: u64) -> bool {
        row >= self.rows || crate::cold::bit_is_set(&self.dead, row)
    }
}

/// Counts the live events (hot and cold) that `query` selects, as of one version: the hot
/// events and the cold files' dead rows are taken under the read lock, the files read after.
pub(crate) fn count(head: &RwLock<Head>, query: &CountQuery<'_>) -> Counts {
    let (totals, mut counts) = tally(head, query, None);
    counts.items = answer(totals, 0).items;
    counts
}

/// The totals of a count (per bucket when there are buckets) and what it read; the items of
/// the answer are left empty.
pub(crate) fn tally(
    head: &RwLock<Head>,
    query: &CountQuery<'_>,
    buckets: Option<&Buckets>,
) -> (Totals, Counts) {
    let mut totals = Totals::new();
    let (files, resource_version) = {
        let head = head.read();
        for event in head.hot_in(query.scope) {
            if query.accepts(&event.record) {
                if let Some(bucket) = slot(buckets, event.record.seen_at()) {
                    add(
                        &mut totals,
                        bucket,
                        query.by.value(&event.record),
                        occurrences(&event.record),
                    );
                }
            }
        }
        let files: Vec<FileSnapshot> = head.cold.files.iter().map(FileSnapshot::of).collect();
        (files, head.resource_version)
    };
    let (mut chunks_read, mut blocks_read, mut damaged) = (0, 0, 0);
    for file in &files {
        let counted = match &file.index.time {
            Some(time) => by_time_index(file, time, query, buckets, &mut chunks_read, &mut damaged),
            None => FileCount::Blocks,
        };
        match counted {
            FileCount::Counted(counted) => merge(&mut totals, counted),
            FileCount::Rows(rows) => {
                blocks_read += by_row_columns(file, &rows, query, &mut totals, &mut damaged)
            }
            FileCount::Blocks => {
                blocks_read += by_blocks(file, query, buckets, &mut totals, &mut damaged)
            }
        }
    }
    if damaged > 0 {
        head.read()
            .cold
            .damaged_blocks
            .fetch_add(damaged, std::sync::atomic::Ordering::Relaxed);
    }
    let counts = Counts {
        items: Vec::new(),
        resource_version,
        chunks_read,
        blocks_read,
    };
    (totals, counts)
}

/// Counts the events of `records` that `query` selects: the live events of a store without
/// files, at `resource_version`.
pub(crate) fn count_records<'a>(
    records: impl Iterator<Item = &'a EventRecord>,
    query: &CountQuery<'_>,
    resource_version: u64,
) -> Counts {
    let mut totals = Totals::new();
    for record in records.filter(|r| query.accepts(r)) {
        add(&mut totals, 0, query.by.value(record), occurrences(record));
    }
    answer(totals, resource_version)
}

/// The counts of `totals`, most events first, as of `resource_version`; nothing read from files.
pub(crate) fn answer(totals: Totals, resource_version: u64) -> Counts {
    let mut items: Vec<Counted> = totals
        .into_iter()
        .map(|((_, value), (events, occurrences))| Counted {
            value,
            events,
            occurrences,
        })
        .collect();
    items.sort_by(|a, b| {
        (b.events, b.occurrences)
            .cmp(&(a.events, a.occurrences))
            .then_with(|| a.value.cmp(&b.value))
    });
    Counts {
        items,
        resource_version,
        chunks_read: 0,
        blocks_read: 0,
    }
}

fn merge(totals: &mut Totals, counted: Totals) {
    for (value, (events, occurrences)) in counted {
        let total = totals.entry(value).or_default();
        total.0 += events;
        total.1 += occurrences;
    }
}

/// How a cold file's count goes.
enum FileCount {
    /// Counted from the time index alone.
    Counted(Totals),
    /// The index selected these rows (row, occurrences, bucket) in row order; the rest of the
    /// query is answered from the rows' columns.
    Rows(Vec<(u64, u64, u32)>),
    /// The index cannot answer (a damaged chunk, or fields that are no plain columns): read
    /// every block and build the events.
    Blocks,
}

/// Counts one file from its time index, or selects the rows the rest of the query needs.
fn by_time_index(
    file: &FileSnapshot,
    time: &TimeIndex,
    query: &CountQuery<'_>,
    buckets: Option<&Buckets>,
    chunks_read: &mut u64,
    damaged: &mut u64,
) -> FileCount {
    let requirements = query.requirements();
    let by = FIELDS
        .iter()
        .position(|f| *f == query.by)
        .filter(|_| requirements.iter().all(|r| FIELDS.contains(&r.field)));
    if by.is_none() && !query.on_columns() {
        return FileCount::Blocks;
    }
    let Some(ids) = IdFilter::new(time, query.scope, requirements) else {
        return FileCount::Counted(Totals::new());
    };
    let values = by.map_or(0, |by| time.dictionaries[by].len());
    let slots = buckets.map_or(1, |b| b.count as usize);
    let mut per_value = vec![(0u64, 0u64); values * slots];
    let mut rows = Vec::new();
    for info in &time.chunks {
        if !query.seen.overlaps(info.first, info.last) {
            continue;
        }
        *chunks_read += 1;
        let chunk: Chunk = match sealed::read_chunk(&file.file, time, info) {
            Ok(chunk) => chunk,
            Err(why) => {
                *damaged += 1;
                tracing::error!(file = %file.path.display(), reason = %why,
                    "unreadable time index chunk: counting this file from its blocks");
                return FileCount::Blocks;
            }
        };
        for i in 0..chunk.times.len() {
            let row = chunk.rows[i];
            let at = Micros(chunk.times[i]);
            if !query.seen.contains(at) || file.is_dead(row) || !ids.accepts(&chunk, i) {
                continue;
            }
            let Some(bucket) = slot(buckets, at) else {
                continue;
            };
            match by {
                Some(by) => {
                    let value = chunk.fields[by][i] as usize;
                    let total = &mut per_value[bucket as usize * values + value];
                    total.0 += 1;
                    total.1 += chunk.occurrences[i];
                }
                None => rows.push((row, chunk.occurrences[i], bucket)),
            }
        }
    }
    let Some(by) = by else {
        rows.sort_unstable();
        return FileCount::Rows(rows);
    };
    FileCount::Counted(
        per_value
            .into_iter()
            .enumerate()
            .filter(|(_, (events, _))| *events > 0)
            .map(|(at, total)| {
                let (bucket, id) = (at / values, at % values);
                let value = time.dictionaries[by][id].clone();
                ((bucket as u32, value), total)
            })
            .collect(),
    )
}

/// Counts the `rows` (row, occurrences, bucket; in row order) of one file that the time index selected,
/// checking the other requirements and reading the counted field on the blocks' columns
/// (`query.on_columns()`), without building events; returns the blocks read.
fn by_row_columns(
    file: &FileSnapshot,
    rows: &[(u64, u64, u32)],
    query: &CountQuery<'_>,
    totals: &mut Totals,
    damaged: &mut u64,
) -> u64 {
    let requirements = query.requirements();
    let mut read = 0;
    let mut next = 0;
    while next < rows.len() {
        let Some(b) = file
            .starts
            .partition_point(|start| *start <= rows[next].0)
            .checked_sub(1)
        else {
            next += 1;
            continue;
        };
        let end = file.starts.get(b + 1).copied().unwrap_or(file.rows);
        let first = next;
        while next < rows.len() && rows[next].0 < end {
            next += 1;
        }
        let wanted = &rows[first..next];
        read += 1;
        let mut cursor = 0;
        let scanned = sealed::read_events_where(&file.file, &file.index.blocks[b], |view| {
            let row = file.starts[b] + view.row as u64;
            while cursor < wanted.len() && wanted[cursor].0 < row {
                cursor += 1;
            }
            let Some((_, occurrences, bucket)) = wanted.get(cursor).filter(|w| w.0 == row) else {
                return false;
            };
            let accepted = requirements
                .iter()
                .all(|r| view.field(r.field).is_some_and(|value| r.accepts(value)));
            if accepted {
                if let Some(value) = view.field(query.by) {
                    add(totals, *bucket, value, *occurrences);
                }
            }
            false
        });
        if let Err(why) = scanned {
            unreadable(file, b, &why, damaged);
        }
    }
    read
}

/// Counts one file by reading every block (only the rows its columns do not rule out become
/// events); returns the blocks read.
fn by_blocks(
    file: &FileSnapshot,
    query: &CountQuery<'_>,
    buckets: Option<&Buckets>,
    totals: &mut Totals,
    damaged: &mut u64,
) -> u64 {
    let pushdown = Pushdown {
        fields: query.fields,
        ..Pushdown::default()
    };
    for (b, info) in file.index.blocks.iter().enumerate() {
        let rows = match sealed::read_events_where(&file.file, info, |row| {
            pushdown.accepts(&query.scope, row)
        }) {
            Ok(rows) => rows,
            Err(why) => {
                unreadable(file, b, &why, damaged);
                continue;
            }
        };
        for (at, event) in rows {
            if file.is_dead(file.starts[b] + at as u64) || !query.accepts(&event.record) {
                continue;
            }
            if let Some(bucket) = slot(buckets, event.record.seen_at()) {
                add(
                    totals,
                    bucket,
                    query.by.value(&event.record),
                    occurrences(&event.record),
                );
            }
        }
    }
    file.index.blocks.len() as u64
}

/// The answer of `Store::count_buckets`: one count per bucket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BucketCounts {
    /// The whole window's values, most events first (what `Store::count` answers).
    pub all: Vec<Counted>,
    /// Per bucket, its values, most events first.
    pub buckets: Vec<Vec<Counted>>,
    /// The store's version the counts are as of.
    pub resource_version: u64,
}

/// Counts as `count` does, split into `buckets` of last-seen time.
pub(crate) fn count_buckets(
    head: &RwLock<Head>,
    query: &CountQuery<'_>,
    buckets: &Buckets,
) -> BucketCounts {
    let (totals, counts) = tally(head, query, Some(buckets));
    let mut per_bucket = vec![Totals::new(); buckets.count as usize];
    let mut all = Totals::new();
    for ((bucket, value), total) in totals {
        let whole = all.entry((0, value.clone())).or_default();
        whole.0 += total.0;
        whole.1 += total.1;
        if let Some(slot) = per_bucket.get_mut(bucket as usize) {
            slot.insert((0, value), total);
        }
    }
    BucketCounts {
        all: answer(all, 0).items,
        buckets: per_bucket
            .into_iter()
            .map(|totals| answer(totals, 0).items)
            .collect(),
        resource_version: counts.resource_version,
    }
}
