//! The time index of a cold file: every row's last-seen time with the fields questions over
//! time ask about (cluster, namespace, type, reason, involved object kind, source) and its
//! occurrences, sorted by time and cut into compressed chunks. "Events per reason in the last
//! 24 hours" then reads the chunks of those 24 hours (a few bytes per event) instead of
//! inflating every block of the file: blocks are in key order, so every block spans all times.
//!
//! ```text
//! chunk frame (after the blocks) = len u32 | crc32 u32 | codec-framed payload (as blocks)
//! payload = n | n whole seconds after the chunk's first time | n remaining microseconds
//!             | n row number deltas | per field: n dictionary ids | n occurrences
//! (a chunk holds the next 4,096 rows by time; inside it, rows are in file order)
//! footer section = per field: dictionary (count, strings) | chunks: offset, len, crc, n,
//!                  first time (zigzag), last time - first time
//! ```
//!
//! Row numbers count the file's rows in key order, so a row's dead bit says whether the row is
//! still the event's current version.

use crate::columns::{ColumnReader, ColumnWriter, DecodeError};
use crate::frame::encode_frame;
use crate::scope::Scope;
use kevents_model::{EventField, EventRecord, FieldRequirement};
use std::io::Write;

/// The fields the index holds for every row, in this order.
pub(crate) const FIELDS: [EventField; 6] = [
    EventField::Cluster,
    EventField::Namespace,
    EventField::Type,
    EventField::Reason,
    EventField::ObjectKind,
    EventField::Source,
];

/// Entries per chunk.
pub(crate) const CHUNK_ENTRIES: usize = 4096;

/// Dictionary ids are kept as u16 while building; a file with more distinct values in one
/// field goes without a time index (its queries read blocks).
const MAX_DISTINCT: usize = u16::MAX as usize;

/// Where one chunk is and which times it holds.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ChunkInfo {
    pub offset: u64,
    pub len: u32,
    pub crc: u32,
    pub entries: u32,
    pub first: i64,
    pub last: i64,
}

/// A file's time index as its footer describes it (the chunks stay on disk).
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct TimeIndex {
    /// Per field of `FIELDS`, its distinct values; entries refer to them by position.
    pub dictionaries: Vec<Vec<String>>,
    pub chunks: Vec<ChunkInfo>,
}

impl TimeIndex {
    /// The earliest and latest time the index holds (`None` when empty).
    pub fn bounds(&self) -> Option<(i64, i64)> {
        let first = self.chunks.iter().map(|c| c.first).min()?;
        let last = self.chunks.iter().map(|c| c.last).max()?;
        Some((first, last))
    }
}

/// One decoded chunk, column by column.
#[derive(Debug, Default)]
pub(crate) struct Chunk {
    pub times: Vec<i64>,
    pub rows: Vec<u64>,
    /// Per field of `FIELDS`, the dictionary id of each entry.
    pub fields: Vec<Vec<u32>>,
    pub occurrences: Vec<u64>,
}

/// Which dictionary values of each indexed field a scope and field requirements accept, so
/// index entries are checked by id. Requirements on fields the index does not hold are left to
/// the caller.
pub(crate) struct IdFilter {
    /// Per field of `FIELDS`: `None` when every value is accepted, else one flag per id.
    allowed: Vec<Option<Vec<bool>>>,
}

impl IdFilter {
    /// The filter for `index`; `None` when some field accepts none of the file's values (no
    /// row of the file can match).
    pub fn new(
        index: &TimeIndex,
        scope: Scope<'_>,
        requirements: &[FieldRequirement],
    ) -> Option<IdFilter> {
        let mut allowed = Vec::with_capacity(FIELDS.len());
        for (f, field) in FIELDS.iter().enumerate() {
            let scoped = match field {
                EventField::Cluster => scope.cluster,
                EventField::Namespace => scope.namespace,
                _ => None,
            };
            let wanted: Vec<_> = requirements.iter().filter(|r| r.field == *field).collect();
            if scoped.is_none() && wanted.is_empty() {
                allowed.push(None);
                continue;
            }
            let accepts: Vec<bool> = index.dictionaries[f]
                .iter()
                .map(|value| {
                    scoped.is_none_or(|s| value == s) && wanted.iter().all(|r| r.accepts(value))
                })
                .collect();
            if !accepts.contains(&true) {
                return None;
            }
            allowed.push(Some(accepts));
        }
        Some(IdFilter { allowed })
    }

    /// True when entry `i` of `chunk` has an accepted value in every field.
    pub fn accepts(&self, chunk: &Chunk, i: usize) -> bool {
        self.allowed.iter().enumerate().all(|(f, accepts)| {
            accepts
                .as_ref()
                .is_none_or(|a| a[chunk.fields[f][i] as usize])
        })
    }
}

/// Collects the rows of a file being written.
#[derive(Default)]
pub(crate) struct Builder {
    ids: Vec<crate::fast_map::FastMap<String, u16>>,
    dictionaries: Vec<Vec<String>>,
    /// Each row's last-seen time, in row order.
    times: Vec<i64>,
    /// Per row: its field ids and occurrences.
    values: Vec<([u16; FIELDS.len()], u32)>,
    overflow: bool,
}

impl Builder {
    pub fn new() -> Builder {
        Builder {
            ids: vec![Default::default(); FIELDS.len()],
            dictionaries: vec![Vec::new(); FIELDS.len()],
            ..Default::default()
        }
    }

    /// Adds the next row of the file.
    pub fn add(&mut self, record: &EventRecord) {
        if self.overflow {
            return;
        }
        // Rows are numbered in u32 (a file of more goes without an index).
        if u32::try_from(self.values.len()).is_err() {
            self.overflow = true;
            return;
        }
        let mut ids = [0u16; FIELDS.len()];
        for (f, field) in FIELDS.iter().enumerate() {
            let value = field.value(record);
            let id = match self.ids[f].get(value) {
                Some(id) => *id,
                None => {
                    let next = self.dictionaries[f].len();
                    if next >= MAX_DISTINCT {
                        self.overflow = true;
                        return;
                    }
                    self.dictionaries[f].push(value.to_string());
                    self.ids[f].insert(value.to_string(), next as u16);
                    next as u16
                }
            };
            ids[f] = id;
        }
        self.times.push(record.seen_at().0);
        let occurrences = u32::try_from(record.occurrences().max(1)).unwrap_or(1);
        self.values.push((ids, occurrences));
    }

    /// Writes the chunks to `out` (at file offset `offset`); returns the index for the footer
    /// (`None` when a field had too many distinct values) and the bytes written.
    pub fn write(
        mut self,
        out: &mut impl Write,
        offset: u64,
    ) -> std::io::Result<(Option<TimeIndex>, u64)> {
        if self.overflow {
            return Ok((None, 0));
        }
        // Rows by time, as 4-byte row numbers (the largest merge sorts tens of millions).
        let mut order: Vec<u32> = (0..self.times.len() as u32).collect();
        order.sort_unstable_by_key(|row| (self.times[*row as usize], *row));
        let mut chunks = Vec::new();
        let mut written = 0u64;
        let mut frame = Vec::new();
        for rows in order.chunks(CHUNK_ENTRIES) {
            let first = self.times[rows[0] as usize];
            let last = self.times[rows[rows.len() - 1] as usize];
            // A chunk holds a span of times; inside it rows go in file order, so row numbers
            // are small deltas and neighbouring rows' fields repeat.
            let mut entries: Vec<(i64, u32)> = rows
                .iter()
                .map(|row| (self.times[*row as usize], *row))
                .collect();
            entries.sort_unstable_by_key(|(_, row)| *row);
            let mut w = ColumnWriter::default();
            w.varint(entries.len() as u64);
            // Times as whole seconds after the chunk's first time, then the microseconds
            // (mostly zero: Kubernetes times are whole seconds).
            for (time, _) in &entries {
                w.varint((time.wrapping_sub(first) as u64) / 1_000_000);
            }
            for (time, _) in &entries {
                w.varint((time.wrapping_sub(first) as u64) % 1_000_000);
            }
            let mut previous = 0u64;
            for (_, row) in &entries {
                w.varint(u64::from(*row) - previous);
                previous = u64::from(*row);
            }
            for f in 0..FIELDS.len() {
                for (_, row) in &entries {
                    w.varint(u64::from(self.values[*row as usize].0[f]));
                }
            }
            for (_, row) in &entries {
                w.varint(u64::from(self.values[*row as usize].1));
            }
            let payload = crate::codec::compress(&w.buf);
            frame.clear();
            encode_frame(&payload, &mut frame);
            out.write_all(&frame)?;
            chunks.push(ChunkInfo {
                offset: offset + written,
                len: payload.len() as u32,
                crc: crc32fast::hash(&payload),
                entries: entries.len() as u32,
                first,
                last,
            });
            written += frame.len() as u64;
        }
        let index = TimeIndex {
            dictionaries: std::mem::take(&mut self.dictionaries),
            chunks,
        };
        Ok((Some(index), written))
    }
}

impl TimeIndex {
    /// Appends the footer section.
    pub fn encode(&self, w: &mut ColumnWriter) {
        for dictionary in &self.dictionaries {
            w.varint(dictionary.len() as u64);
            for value in dictionary {
                w.bytes(value.as_bytes());
            }
        }
        w.varint(self.chunks.len() as u64);
        for c in &self.chunks {
            w.varint(c.offset);
            w.varint(u64::from(c.len));
            w.varint(u64::from(c.crc));
            w.varint(u64::from(c.entries));
            w.zigzag(c.first);
            w.varint(c.last.wrapping_sub(c.first) as u64);
        }
    }

    /// Reads the footer section `encode` wrote.
    pub fn decode(r: &mut ColumnReader<'_>) -> Result<TimeIndex, DecodeError> {
        let mut dictionaries = Vec::with_capacity(FIELDS.len());
        for _ in 0..FIELDS.len() {
            let n = r.count()?;
            let mut dictionary = Vec::with_capacity(n);
            for _ in 0..n {
                dictionary.push(r.str()?.to_string());
            }
            dictionaries.push(dictionary);
        }
        let n = r.count()?;
        let mut chunks = Vec::with_capacity(n);
        let narrow = |v: u64| u32::try_from(v).map_err(|_| DecodeError("field too large"));
        for _ in 0..n {
            let offset = r.varint()?;
            let len = narrow(r.varint()?)?;
            let crc = narrow(r.varint()?)?;
            let entries = narrow(r.varint()?)?;
            let first = r.zigzag()?;
            let last = first.wrapping_add(r.varint()? as i64);
            chunks.push(ChunkInfo {
                offset,
                len,
                crc,
                entries,
                first,
                last,
            });
        }
        Ok(TimeIndex {
            dictionaries,
            chunks,
        })
    }
}

/// Decodes a chunk's inflated payload; every id is checked against its dictionary.
pub(crate) fn decode_chunk(
    bytes: &[u8],
    index: &TimeIndex,
    info: &ChunkInfo,
) -> Result<Chunk, DecodeError> {
    let mut r = ColumnReader::new(bytes);
    let n = r.count()?;
    if n != info.entries as usize {
        return Err(DecodeError("chunk entry count differs from the footer"));
    }
    let mut chunk = Chunk {
        times: Vec::with_capacity(n),
        rows: Vec::with_capacity(n),
        fields: Vec::with_capacity(FIELDS.len()),
        occurrences: Vec::with_capacity(n),
    };
    let mut seconds = Vec::with_capacity(n);
    for _ in 0..n {
        seconds.push(r.varint()?);
    }
    for second in seconds {
        let micros = second.wrapping_mul(1_000_000).wrapping_add(r.varint()?);
        chunk.times.push(info.first.wrapping_add(micros as i64));
    }
    let mut row = 0u64;
    for _ in 0..n {
        row = row.wrapping_add(r.varint()?);
        chunk.rows.push(row);
    }
    for dictionary in &index.dictionaries {
        let mut ids = Vec::with_capacity(n);
        for _ in 0..n {
            let id = r.varint()?;
            if id >= dictionary.len() as u64 {
                return Err(DecodeError("dictionary id out of range"));
            }
            ids.push(id as u32);
        }
        chunk.fields.push(ids);
    }
    for _ in 0..n {
        chunk.occurrences.push(r.varint()?);
    }
    Ok(chunk)
}
