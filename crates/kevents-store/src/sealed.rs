//! Sealed checkpoint files (`checkpoint-<rv>.blk`): every live event as of `rv`, in key order,
//! split into blocks of `LogConfig::block_events` events, each block column-encoded (`block`),
//! compressed (`codec`) and framed with its own length and CRC-32. A footer indexes the
//! blocks (offset, size, checksum, event count, first key, oldest and newest last write).
//!
//! ```text
//! "KEVBLK01" | block frame... | footer | footer_len u32 | footer_crc u32 | "KEVEND01"
//! block frame = len u32 | crc32(payload) u32 | payload
//! payload     = codec u8 (2 = deflate, 0 = none) | compressed columns
//! ```
//!
//! A block that fails its checksum or does not decode is reported and skipped; the others
//! load. A damaged footer only costs the index: the blocks are then found by scanning frames.

use crate::block;
use crate::bloom::{BlockFilters, Bloom};
use crate::codec::{compress, decompress};
use crate::entry::StoredEvent;
use crate::frame::{encode_frame, FrameRead, FrameReader};
use crate::object_index::ObjectIndex;
use crate::time_index::{self, Chunk, ChunkInfo, TimeIndex};
use crate::StoreError;
use kevents_model::EventKey;
use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::Path;
use std::sync::Arc;

const MAGIC: &[u8; 8] = b"KEVBLK01";
const END_MAGIC: &[u8; 8] = b"KEVEND01";
const TRAILER_BYTES: u64 = 16;

/// Where one block is and what it holds.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct BlockInfo {
    pub offset: u64,
    pub len: u32,
    pub crc: u32,
    pub count: u32,
    pub min_updated: i64,
    pub max_updated: i64,
    pub first_key: EventKey,
}

/// A sealed file's footer: its version, its blocks, a filter of every key it holds and the
/// index of its rows by time (cold files written since the index exists).
#[derive(Debug, Clone)]
pub(crate) struct SealedIndex {
    pub rv: u64,
    pub blocks: Vec<BlockInfo>,
    /// The names of the objects each block's events are about (files written before filters:
    /// none).
    pub objects: BlockFilters,
    pub keys: Option<Bloom>,
    pub time: Option<TimeIndex>,
    /// The blocks of each object name (cold files written since the index exists).
    pub object_index: Option<ObjectIndex>,
}

impl SealedIndex {
    /// The earliest and latest last-seen time of the file's rows, from its time index.
    pub fn seen_bounds(&self) -> Option<(i64, i64)> {
        self.time.as_ref()?.bounds()
    }
}

/// The filter parts of an event key.
pub(crate) fn key_parts(key: &EventKey) -> [&[u8]; 3] {
    [
        key.cluster.as_bytes(),
        key.namespace.as_bytes(),
        key.name.as_bytes(),
    ]
}

/// Marks the filter section after the block index (files without it end after the index).
const FILTERS_V1: u64 = 1;
/// Marks the time index section after the filters (files without it end after the filters).
const TIME_INDEX_V1: u64 = 2;
/// Marks the object index section (after the time index, when the file has one).
const OBJECT_INDEX_V1: u64 = 3;

/// What a sealed file holds besides its blocks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SealedKind {
    /// A checkpoint of the head, loaded whole: blocks only.
    Checkpoint,
    /// A cold file, read a block or a time range at a time: key and object-name filters and
    /// the time index. The key filter is sized for about `rows` rows up front, so keys go into
    /// it as they are written (not collected first: 8 bytes a row in the largest merges).
    Cold {
        /// The rows the file will about hold.
        rows: usize,
    },
}

/// Writes the blocks of `events` (key order) to `out`; returns the bytes written.
pub(crate) fn write(
    out: File,
    rv: u64,
    events: impl Iterator<Item = Arc<StoredEvent>>,
    block_events: usize,
    kind: SealedKind,
) -> std::io::Result<(File, u64)> {
    let mut out = BufWriter::with_capacity(1 << 20, out);
    out.write_all(MAGIC)?;
    let mut offset = MAGIC.len() as u64;
    let mut index = Vec::new();
    let mut keys = match kind {
        SealedKind::Checkpoint => None,
        SealedKind::Cold { rows } => {
            Some(Bloom::with_bits(rows.max(1), crate::bloom::BITS_PER_KEY))
        }
    };
    let filters = keys.is_some();
    let mut objects = BlockFilters::default();
    let mut object_index = filters.then(ObjectIndex::default);
    let mut chunk: Vec<Arc<StoredEvent>> = Vec::with_capacity(block_events);
    let mut frame = Vec::new();
    let mut events = events.peekable();
    let mut times = filters.then(time_index::Builder::new);
    while events.peek().is_some() {
        chunk.clear();
        chunk.extend(events.by_ref().take(block_events.max(1)));
        if let Some(times) = times.as_mut() {
            chunk.iter().for_each(|e| times.add(&e.record));
        }
        let refs: Vec<&StoredEvent> = chunk.iter().map(|e| &**e).collect();
        let compressed = compress(&block::encode(&refs));
        frame.clear();
        encode_frame(&compressed, &mut frame);
        out.write_all(&frame)?;
        // Sized by the distinct object names: every block a query's name falsely matches
        // costs a block read (at 10 bits per event, blocks of unique pod names matched ~0.4%
        // of all queries: 80 wasted reads per query at 10M events).
        if filters {
            let names: crate::fast_map::FastSet<&str> = chunk
                .iter()
                .map(|e| e.record.involved_object.name.as_str())
                .collect();
            let mut bloom = Bloom::with_bits(names.len(), crate::bloom::BITS_PER_OBJECT);
            for name in &names {
                bloom.insert(&[name.as_bytes()]);
            }
            objects.push(bloom.words());
            if let Some(object_index) = object_index.as_mut() {
                object_index.add_block(index.len(), names.into_iter());
            }
        }
        if let Some(keys) = keys.as_mut() {
            for event in &chunk {
                let r = &event.record;
                keys.insert_hash(key_hash(&r.cluster, &r.namespace, &r.name));
            }
        }
        index.push(BlockInfo {
            offset,
            len: compressed.len() as u32,
            crc: crc32fast::hash(&compressed),
            count: chunk.len() as u32,
            min_updated: chunk.iter().map(|e| e.updated_at.0).min().unwrap_or(0),
            max_updated: chunk.iter().map(|e| e.updated_at.0).max().unwrap_or(0),
            first_key: chunk[0].record.key(),
        });
        offset += frame.len() as u64;
    }
    let time = match times {
        Some(times) => {
            let (time, written) = times.write(&mut out, offset)?;
            offset += written;
            time
        }
        None => None,
    };
    if let Some(object_index) = object_index.as_mut() {
        object_index.finish();
    }
    let footer = encode_footer(
        rv,
        &index,
        &objects,
        keys.as_ref(),
        time.as_ref(),
        object_index.as_ref(),
    );
    out.write_all(&footer)?;
    out.write_all(&(footer.len() as u32).to_le_bytes())?;
    out.write_all(&crc32fast::hash(&footer).to_le_bytes())?;
    out.write_all(END_MAGIC)?;
    let file = out.into_inner().map_err(|e| e.into_error())?;
    Ok((file, offset + footer.len() as u64 + TRAILER_BYTES))
}

fn encode_footer(
    rv: u64,
    index: &[BlockInfo],
    objects: &BlockFilters,
    keys: Option<&Bloom>,
    time: Option<&TimeIndex>,
    object_index: Option<&ObjectIndex>,
) -> Vec<u8> {
    let mut w = crate::columns::ColumnWriter::default();
    w.varint(rv);
    w.varint(index.len() as u64);
    for b in index {
        w.varint(b.offset);
        w.varint(u64::from(b.len));
        w.varint(u64::from(b.crc));
        w.varint(u64::from(b.count));
        w.zigzag(b.min_updated);
        w.zigzag(b.max_updated);
        w.bytes(b.first_key.cluster.as_bytes());
        w.bytes(b.first_key.namespace.as_bytes());
        w.bytes(b.first_key.name.as_bytes());
    }
    let Some(keys) = keys else {
        return w.buf;
    };
    w.varint(FILTERS_V1);
    let words = |w: &mut crate::columns::ColumnWriter, words: &[u64]| {
        let bytes: Vec<u8> = words.iter().flat_map(|x| x.to_le_bytes()).collect();
        w.bytes(&bytes);
    };
    for b in 0..index.len() {
        words(&mut w, objects.words(b));
    }
    // Every create asks the key filters of all cold files; a false positive costs a block.
    words(&mut w, keys.words());
    if let Some(time) = time {
        w.varint(TIME_INDEX_V1);
        time.encode(&mut w);
    }
    if let Some(object_index) = object_index {
        w.varint(OBJECT_INDEX_V1);
        object_index.encode(&mut w);
    }
    w.buf
}

/// The filter hash of a key, computed once per event.
fn key_hash(cluster: &str, namespace: &str, name: &str) -> u64 {
    crate::bloom::hash(&[cluster.as_bytes(), namespace.as_bytes(), name.as_bytes()])
}

fn decode_words(bytes: &[u8]) -> Vec<u64> {
    bytes
        .chunks_exact(8)
        .map(|c| u64::from_le_bytes(c.try_into().expect("8 bytes")))
        .collect()
}

pub(crate) fn decode_footer(bytes: &[u8]) -> Result<SealedIndex, crate::columns::DecodeError> {
    let mut r = crate::columns::ColumnReader::new(bytes);
    let rv = r.varint()?;
    let blocks = r.count()?;
    let mut index = Vec::with_capacity(blocks);
    for _ in 0..blocks {
        let narrow =
            |v: u64| u32::try_from(v).map_err(|_| crate::columns::DecodeError("field too large"));
        index.push(BlockInfo {
            offset: r.varint()?,
            len: narrow(r.varint()?)?,
            crc: narrow(r.varint()?)?,
            count: narrow(r.varint()?)?,
            min_updated: r.zigzag()?,
            max_updated: r.zigzag()?,
            first_key: EventKey::in_cluster(r.str()?, r.str()?, r.str()?),
        });
    }
    let mut keys = None;
    let mut objects = BlockFilters::default();
    if !r.at_end() {
        if r.varint()? != FILTERS_V1 {
            return Err(crate::columns::DecodeError("unknown filter section"));
        }
        for _ in &index {
            objects.push(&decode_words(r.bytes()?));
        }
        keys = Bloom::from_words(decode_words(r.bytes()?));
    }
    // Later sections, each behind its marker; a later version may add others, which this one
    // leaves unread (counts and name queries then read the blocks).
    let (mut time, mut object_index) = (None, None);
    while !r.at_end() {
        match r.varint()? {
            TIME_INDEX_V1 => time = Some(TimeIndex::decode(&mut r)?),
            OBJECT_INDEX_V1 => object_index = Some(ObjectIndex::decode(&mut r, index.len())?),
            _ => break,
        }
    }
    Ok(SealedIndex {
        rv,
        blocks: index,
        objects,
        keys,
        time,
        object_index,
    })
}

/// What loading a sealed file found besides its events.
#[derive(Debug, Default)]
pub(crate) struct LoadReport {
    /// Events loaded.
    pub events: usize,
    /// Blocks that failed their checksum or did not decode, and the footer if it was damaged.
    pub corrupt_blocks: u64,
}

/// Loads every intact block of the file at `path` (sealed at `rv`) into `sink`.
pub(crate) fn load(
    path: &Path,
    rv: u64,
    mut sink: impl FnMut(StoredEvent),
) -> Result<LoadReport, StoreError> {
    let io = |e| StoreError::io("reading a sealed checkpoint", e);
    let mut file = File::open(path).map_err(io)?;
    let len = file.metadata().map_err(io)?.len();
    let mut report = LoadReport::default();
    let index = match read_index(&mut file, len) {
        Ok(index) if index.rv == rv => Some(index.blocks),
        Ok(SealedIndex { rv: footer_rv, .. }) => {
            return Err(StoreError::Corrupt(format!(
                "{}: holds version {footer_rv}, named {rv}",
                path.display()
            )))
        }
        Err(why) => {
            tracing::error!(file = %path.display(), reason = why, "damaged block index; scanning the blocks in order");
            report.corrupt_blocks += 1;
            None
        }
    };
    let mut accept = |bytes: &[u8], which: String, report: &mut LoadReport| {
        let decoded =
            decompress(bytes).and_then(|raw| block::decode(&raw).map_err(|e| e.to_string()));
        match decoded {
            Ok(events) => {
                report.events += events.len();
                events.into_iter().for_each(&mut sink);
            }
            Err(why) => {
                tracing::error!(file = %path.display(), block = %which, reason = %why, "undecodable block skipped");
                report.corrupt_blocks += 1;
            }
        }
    };
    match index {
        Some(index) => {
            for (i, info) in index.iter().enumerate() {
                let until = index.get(i + 1).map(|next| &next.first_key);
                match read_block_at(&file, info) {
                    Ok(bytes) => accept(&bytes, format!("{i}"), &mut report),
                    Err(why) => {
                        tracing::error!(
                            file = %path.display(), block = i, events = info.count,
                            first_key = ?info.first_key, before_key = ?until, reason = why,
                            "damaged block skipped: its events as of this checkpoint are lost"
                        );
                        report.corrupt_blocks += 1;
                    }
                }
            }
        }
        None => {
            file.seek(SeekFrom::Start(MAGIC.len() as u64)).map_err(io)?;
            let mut frames = FrameReader::new(BufReader::new(file));
            let mut i = 0;
            // Without the index the end of the blocks is where frames stop decoding.
            while let Ok(FrameRead::Frame(bytes)) = frames.next_frame() {
                accept(&bytes, format!("{i} (by scan)"), &mut report);
                i += 1;
            }
        }
    }
    if report.corrupt_blocks > 0 {
        let aside = path.with_extension("blk.damaged");
        if std::fs::copy(path, &aside).is_ok() {
            tracing::warn!(file = %aside.display(), "kept the damaged checkpoint for inspection");
        }
    }
    Ok(report)
}

/// Opens a sealed file for reads of single blocks: its index must be intact.
pub(crate) fn open(path: &Path) -> Result<(File, SealedIndex), StoreError> {
    let mut file = File::open(path).map_err(|e| StoreError::io("opening a sealed file", e))?;
    let len = file
        .metadata()
        .map_err(|e| StoreError::io("opening a sealed file", e))?
        .len();
    let index = read_index(&mut file, len)
        .map_err(|why| StoreError::Corrupt(format!("{}: {why}", path.display())))?;
    Ok((file, index))
}

/// Reads and decodes one block of an opened sealed file.
pub(crate) fn read_events(file: &File, info: &BlockInfo) -> Result<Vec<StoredEvent>, String> {
    let bytes = read_block_at(file, info)?;
    decompress(&bytes).and_then(|raw| block::decode(&raw).map_err(|e| e.to_string()))
}

/// Reads one block and decodes the rows `keep` accepts, with their row numbers in the block.
pub(crate) fn read_events_where(
    file: &File,
    info: &BlockInfo,
    keep: impl FnMut(&block::RowView<'_>) -> bool,
) -> Result<Vec<(usize, StoredEvent)>, String> {
    let bytes = read_block_at(file, info)?;
    let raw = decompress(&bytes)?;
    block::decode_where(&raw, keep).map_err(|e| e.to_string())
}

fn read_index(file: &mut File, len: u64) -> Result<SealedIndex, &'static str> {
    if len < MAGIC.len() as u64 + TRAILER_BYTES {
        return Err("file too short");
    }
    let mut trailer = [0u8; TRAILER_BYTES as usize];
    file.seek(SeekFrom::Start(len - TRAILER_BYTES))
        .and_then(|_| file.read_exact(&mut trailer))
        .map_err(|_| "unreadable trailer")?;
    if &trailer[8..] != END_MAGIC {
        return Err("no end marker");
    }
    let footer_len = u64::from(u32::from_le_bytes([
        trailer[0], trailer[1], trailer[2], trailer[3],
    ]));
    let footer_crc = u32::from_le_bytes([trailer[4], trailer[5], trailer[6], trailer[7]]);
    let start = (len - TRAILER_BYTES)
        .checked_sub(footer_len)
        .ok_or("footer length out of range")?;
    let mut footer = vec![0u8; footer_len as usize];
    file.seek(SeekFrom::Start(start))
        .and_then(|_| file.read_exact(&mut footer))
        .map_err(|_| "unreadable footer")?;
    if crc32fast::hash(&footer) != footer_crc {
        return Err("footer checksum mismatch");
    }
    decode_footer(&footer).map_err(|_| "undecodable footer")
}

fn read_block_at(file: &File, info: &BlockInfo) -> Result<Vec<u8>, &'static str> {
    read_frame_at(file, info.offset, info.len, info.crc)
}

/// Reads the frame at `offset` that the footer says holds `len` bytes with checksum `crc`.
fn read_frame_at(file: &File, offset: u64, len: u32, crc: u32) -> Result<Vec<u8>, &'static str> {
    use std::os::unix::fs::FileExt;
    let mut frame = vec![0u8; 8 + len as usize];
    file.read_exact_at(&mut frame, offset)
        .map_err(|_| "frame beyond the end of the file")?;
    let header_len = u32::from_le_bytes([frame[0], frame[1], frame[2], frame[3]]);
    let header_crc = u32::from_le_bytes([frame[4], frame[5], frame[6], frame[7]]);
    let payload = frame.split_off(8);
    if header_len != len || header_crc != crc || crc32fast::hash(&payload) != crc {
        return Err("checksum mismatch");
    }
    Ok(payload)
}

/// Reads and decodes one chunk of an opened cold file's time index.
pub(crate) fn read_chunk(file: &File, time: &TimeIndex, info: &ChunkInfo) -> Result<Chunk, String> {
    let bytes = read_frame_at(file, info.offset, info.len, info.crc)?;
    let raw = decompress(&bytes)?;
    time_index::decode_chunk(&raw, time, info).map_err(|e| e.to_string())
}
