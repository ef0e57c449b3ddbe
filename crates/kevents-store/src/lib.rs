//! Durable event storage for kevents.
//!
//! Writes go through one writer thread that group-commits them to a CRC-framed write-ahead log
//! (`log`), then applies them to the in-memory head (`head`) and publishes them on a change
//! feed that watches follow. Reads are served from the head under a shared lock.
//!
//! `EventStore` is the contract the rest of kevents relies on; `Store` (on disk) and
//! `MemoryStore` implement it, and `EventStore::follow` reads every change after a version.
#![warn(missing_docs)]

mod block;
mod bloom;
mod buckets;
mod change;
mod check;
mod checkpoint;
mod codec;
mod cold;
mod cold_scan;
mod columns;
mod commit;
mod config;
mod contract;
mod counts;
mod disk_usage;
mod entry;
mod error;
mod fast_map;
mod feed;
mod files;
mod frame;
mod head;
mod history;
mod hot_key;
mod log;
mod log_sync;
mod manifest;
mod memory;
mod object_index;
mod pages;
mod pushdown;
mod recover;
mod request;
mod retention;
mod row_view;
mod scope;
mod sealed;
mod shared;
mod snapshot;
mod store;
mod string_column;
mod tiering;
mod time_index;
mod types;
mod writer;

pub use buckets::Buckets;
pub use config::{LogConfig, TierConfig};
pub use contract::{EventStore, Follow};
pub use counts::{BucketCounts, CountQuery, Counted, Counts};
pub use entry::{Change, ChangeType, StoredEvent};
pub use error::StoreError;
pub use feed::{Live, PIECE as FEED_PIECE};
pub use memory::MemoryStore;
pub use pages::ReadPages;
pub use retention::parse_size;
pub use scope::Scope;
pub use store::Store;
pub use types::{
    Committed, ListPage, ListQuery, Mutation, StoreConfig, StoreStats, Subscription, TimeWindow,
    TooOld, WatchFrom, DEFAULT_HISTORY_BYTES, DEFAULT_RETENTION_BYTES,
};

/// Entry points for fuzzing the on-disk decoders directly; not a stable API.
#[doc(hidden)]
pub mod fuzzing {
    use crate::frame::{FrameRead, FrameReader};

    /// Reads frames from `bytes` and decodes each as a log entry, as recovery does; returns how
    /// many decoded.
    pub fn decode_log(bytes: &[u8]) -> usize {
        let mut reader = FrameReader::new(bytes);
        let mut decoded = 0;
        while let Ok(FrameRead::Frame(payload)) = reader.next_frame() {
            if serde_json::from_slice::<crate::entry::LogEntry>(&payload).is_ok() {
                decoded += 1;
            }
        }
        decoded
    }

    /// Decodes `bytes` as one sealed block's columns, and as a block frame's payload (codec
    /// byte, compressed columns); returns how many events decoded.
    pub fn decode_block(bytes: &[u8]) -> usize {
        let columns = crate::block::decode(bytes).map_or(0, |events| events.len());
        let framed = crate::codec::decompress(bytes)
            .ok()
            .and_then(|raw| crate::block::decode(&raw).ok())
            .map_or(0, |events| events.len());
        columns.max(framed).max(decode_index(bytes))
    }

    /// Decodes `bytes` as a sealed file's footer and as a time index chunk; returns how many
    /// blocks or rows decoded.
    fn decode_index(bytes: &[u8]) -> usize {
        let footer = crate::sealed::decode_footer(bytes).map_or(0, |f| f.blocks.len());
        let index = crate::time_index::TimeIndex {
            dictionaries: vec![vec!["a".into(), "b".into(), "c".into()]; 6],
            chunks: Vec::new(),
        };
        let entries = crate::columns::ColumnReader::new(bytes)
            .count()
            .ok()
            .and_then(|n| u32::try_from(n).ok())
            .unwrap_or(0);
        let info = crate::time_index::ChunkInfo {
            offset: 0,
            len: 0,
            crc: 0,
            entries,
            first: 0,
            last: 0,
        };
        let chunk = crate::time_index::decode_chunk(bytes, &index, &info)
            .map_or(0, |chunk| chunk.rows.len());
        footer.max(chunk)
    }
}
