//! `kevents serve`'s memory bounds: every in-memory structure that holds event content has a
//! flag here, bounded in bytes (docs/security.md#memory lists them with their defaults).

use clap::Args;
use kevents_store::{parse_size, StoreConfig};

/// Flags bounding the hub's memory; each also reads `KEVENTS_<NAME>` from the environment.
#[derive(Args, Debug)]
pub struct MemoryArgs {
    /// Events not written for this long leave memory for the cold tier (sealed files read on
    /// demand) at the next checkpoint (Go duration).
    #[arg(long, env = "KEVENTS_COLD_AFTER", default_value = "30m", value_parser = crate::duration_flag::duration_micros)]
    pub cold_after: i64,
    /// Most events kept in memory; past 125% of it the ones written longest ago move to the
    /// cold tier, and at twice it writes wait for them to move.
    #[arg(long, env = "KEVENTS_HOT_EVENTS", default_value_t = 100_000)]
    pub hot_events: usize,
    /// How many recent changes are kept for watches to resume from; a watch or list at an
    /// older resourceVersion gets `410 Expired` and relists.
    #[arg(long, env = "KEVENTS_WATCH_HISTORY", default_value_t = 200_000, value_parser = clap::value_parser!(u64).range(1..))]
    pub watch_history: u64,
    /// Most memory the watch history may take, counted by the events its changes hold; the
    /// oldest changes are dropped past it (a watch from before them gets `410 Expired`).
    /// Bytes, or with a unit: `64MiB`, `1GiB`.
    #[arg(long, env = "KEVENTS_WATCH_HISTORY_BYTES", default_value = "256MiB", value_parser = parse_size)]
    pub watch_history_bytes: u64,
    /// Most memory decoded cold blocks may take for later reads (counted by their events);
    /// the blocks used longest ago are dropped past it. Bytes, or with a unit: `64MiB`.
    #[arg(long, env = "KEVENTS_BLOCK_CACHE_BYTES", default_value = "64MiB", value_parser = parse_size)]
    pub block_cache_bytes: u64,
    /// Most memory the series' text may take (key fields, template, latest event name and
    /// message); past it the series seen longest ago are evicted. Bytes, or with a unit.
    #[arg(long, env = "KEVENTS_SERIES_MAX_BYTES", default_value = "64MiB", value_parser = parse_size)]
    pub series_max_bytes: u64,
    /// Most memory the learned message patterns may take (templates, tokens, reasons); past
    /// it new patterns go to their reason's `<other>` pattern (counted in
    /// `kevents_pattern_other_total`). Bytes, or with a unit.
    #[arg(long, env = "KEVENTS_PATTERN_MAX_BYTES", default_value = "32MiB", value_parser = parse_size)]
    pub pattern_max_bytes: u64,
    /// Most alert groups the rule engine holds, over all rules; occurrences that would open
    /// more are counted in `kevents_alert_group_overflow_total`.
    #[arg(long, env = "KEVENTS_ALERT_MAX_GROUPS", default_value_t = kevents_alert::rules::DEFAULT_MAX_GROUPS)]
    pub alert_max_groups: usize,
    /// Most memory the rule engine's alert groups may take (windows, labels, latest events,
    /// listed objects, event references, the resolved alerts kept for listing); past it no group opens and none takes a larger latest event (counted
    /// in `kevents_alert_group_overflow_total`). Bytes, or with a unit.
    #[arg(long, env = "KEVENTS_ALERT_MAX_BYTES", default_value = "32MiB", value_parser = parse_size)]
    pub alert_max_bytes: u64,
}

impl MemoryArgs {
    /// Sets the store's memory bounds.
    pub fn apply(&self, config: &mut StoreConfig) {
        config.history_limit = bytes(self.watch_history);
        config.history_bytes_limit = bytes(self.watch_history_bytes);
        config.tiers.hot_events = self.hot_events.max(1);
        config.tiers.cold_after_micros = self.cold_after;
        config.tiers.block_cache_bytes = bytes(self.block_cache_bytes);
    }
}

/// A flag's value as a size in memory (saturating on 32-bit targets).
pub fn bytes(value: u64) -> usize {
    usize::try_from(value).unwrap_or(usize::MAX)
}
