//! Counts split into equal buckets of last-seen time in one pass over the events (the
//! timeline of the web UI: Normal and Warning per hour over 30 days), from the same hot
//! events, time indexes and blocks as `Store::count`.

use crate::counts::{answer, tally, CountQuery, Counted, Totals};
use crate::head::Head;
use crate::TimeWindow;
use kevents_model::Micros;
use parking_lot::RwLock;

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
pub(crate) fn count(
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
