//! Metrics of the learned patterns: how many the miner holds and their bytes, how often one
//! gained a wildcard, and how many messages went to the `<other>` bucket because a cap was reached.

use kevents_correlate::MinerStats;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

/// The pattern metrics, updated with every observed event.
#[derive(Clone, Default)]
pub(crate) struct PatternMetrics {
    patterns: Gauge,
    bytes: Gauge,
    generalized: Counter,
    other: Counter,
}

impl PatternMetrics {
    pub(crate) fn register(&self, registry: &mut Registry) {
        registry.register(
            "kevents_patterns",
            "Message patterns the template miner holds",
            self.patterns.clone(),
        );
        registry.register(
            "kevents_pattern_bytes",
            "Bytes of text the learned patterns hold, bounded by --pattern-max-bytes",
            self.bytes.clone(),
        );
        registry.register(
            "kevents_pattern_generalizations",
            "Times a pattern gained a wildcard (its series merged into the new template's)",
            self.generalized.clone(),
        );
        registry.register(
            "kevents_pattern_other",
            "Messages counted in a reason's <other> pattern because a pattern cap was reached",
            self.other.clone(),
        );
    }

    /// Accounts for the miner's work between `before` and `after`.
    pub(crate) fn update(&self, before: MinerStats, after: MinerStats) {
        self.patterns
            .set(i64::try_from(after.patterns).unwrap_or(i64::MAX));
        self.bytes
            .set(i64::try_from(after.bytes).unwrap_or(i64::MAX));
        self.generalized
            .inc_by(after.generalized.saturating_sub(before.generalized));
        self.other.inc_by(after.other.saturating_sub(before.other));
    }
}
