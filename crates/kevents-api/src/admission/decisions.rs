//! What write-time correlation did with each write, counted for the metrics endpoint.

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::registry::Registry;

/// Writes by decision (`rate_limited`, `deduplicated`, `combined`, `folded`,
/// `aggregate_written`).
#[derive(Default)]
pub(super) struct Decisions(Family<Vec<(&'static str, String)>, Counter>);

impl Decisions {
    /// Registers `kevents_correlation_decisions_total{decision}`.
    pub(super) fn register(&self, registry: &mut Registry) {
        registry.register(
            "kevents_correlation_decisions",
            "Event writes by what write-time correlation did with them (rate_limited, deduplicated, combined, folded, aggregate_written)",
            self.0.clone(),
        );
    }

    /// Counts one write that came to `decision`.
    pub(super) fn count(&self, decision: &str) {
        self.0
            .get_or_create(&vec![("decision", decision.to_string())])
            .inc();
    }

    /// Writes that came to `decision` so far.
    pub(super) fn get(&self, decision: &str) -> u64 {
        self.0
            .get_or_create(&vec![("decision", decision.to_string())])
            .get()
    }
}
