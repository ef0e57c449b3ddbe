//! Equal buckets of last-seen time that a count is split into (the timeline of the web UI:
//! Normal and Warning per hour over 30 days); `counts::count_buckets` fills them in one pass.

use crate::TimeWindow;
use kevents_model::Micros;

/// Equal spans of last-seen time a count is split into (`Store::count_buckets`): bucket `i`
/// holds the events last seen from `start + i × width` to just before the next bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Buckets {
    /// Where the first bucket starts.
    pub start: Micros,
    /// Microseconds per bucket (at least 1).
    pub width: i64,
    /// How many buckets.
    pub count: u32,
}

impl Buckets {
    /// The bucket `at` falls in, if any.
    pub fn of(&self, at: Micros) -> Option<u32> {
        let offset = at.0.checked_sub(self.start.0)?;
        if offset < 0 {
            return None;
        }
        u32::try_from(offset / self.width.max(1))
            .ok()
            .filter(|i| *i < self.count)
    }

    /// The window of last-seen times the buckets cover.
    pub fn window(&self) -> TimeWindow {
        let end = self
            .start
            .0
            .saturating_add(self.width.max(1).saturating_mul(i64::from(self.count)));
        TimeWindow {
            from: Some(self.start),
            to: Some(Micros(end.saturating_sub(1))),
        }
    }
}
