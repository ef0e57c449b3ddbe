//! Tuning of the store's two parts on disk: the log (segments and checkpoints) and the cold
//! tier (which events leave memory, and the files they go to).

/// The default bound of the cold block cache, in bytes of decoded events
/// (`EventRecord::approximate_bytes`).
pub const DEFAULT_BLOCK_CACHE_BYTES: usize = 64 * 1024 * 1024;

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
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            segment_bytes: 64 * 1024 * 1024,
            checkpoint_min_bytes: 128 * 1024 * 1024,
            block_events: 4096,
        }
    }
}

/// Tuning of the cold tier: when events leave memory, and the files they are written to.
#[derive(Clone, Debug)]
pub struct TierConfig {
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
    /// A checkpoint merges a cold file into its new one for size only while the new file holds
    /// at most this many events: a merge rewrites every live row it takes, and a feed that
    /// fills the head to twice `hot_events` meanwhile waits for it (unbounded, a checkpoint of
    /// a 10,000,000-event store merged six files for 51 s and writes stalled past 30 s).
    pub cold_merge_max_events: u64,
    /// Bytes of decoded cold events kept in memory for later reads (the block cache).
    pub block_cache_bytes: usize,
}

impl Default for TierConfig {
    fn default() -> Self {
        TierConfig {
            cold_after_micros: 30 * 60 * 1_000_000,
            hot_events: 100_000,
            cold_block_events: 128,
            cold_file_span_micros: 24 * 3600 * 1_000_000,
            cold_merge_max_events: 1_000_000,
            block_cache_bytes: DEFAULT_BLOCK_CACHE_BYTES,
        }
    }
}
