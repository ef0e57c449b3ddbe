//! The simulated events the bench and its anchor load.

use kevents_model::Micros;

/// The simulated events, seeded: the anchor loads the same ones, one every `step` from `start`.
pub(crate) fn workload(start: Micros, step: i64) -> kevents_simulate::Workload {
    kevents_simulate::Workload::new(7, start).spaced(step)
}

pub(crate) const HOUR: i64 = 3_600_000_000;
pub(crate) const WEEK: i64 = 7 * 24 * HOUR;
