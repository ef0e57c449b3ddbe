//! `eventcounts?step=1h`: the same count split into equal buckets of last-seen time, counted
//! by the store in one pass (`Store::count_buckets`), so a timeline of 30 days by type is one
//! request. The window must have a start (`since` or `from`); it ends at `to` or now.

use crate::error::ApiError;
use kevents_model::{parse_go_duration, Micros};
use kevents_store::{BucketCounts, Buckets, Counted, TimeWindow};
use serde_json::{json, Value};

/// Most buckets one answer holds.
pub(crate) const MAX_BUCKETS: i64 = 10_000;

/// The buckets a `step` asks for over `seen`, or `None` when no `step` is given.
pub(crate) fn buckets_of(
    step: Option<&str>,
    seen: TimeWindow,
    now: Micros,
) -> Result<Option<Buckets>, ApiError> {
    let Some(step) = step.filter(|s| !s.is_empty()) else {
        return Ok(None);
    };
    let width = parse_go_duration(step)
        .ok()
        .filter(|w| *w >= 1_000_000)
        .ok_or_else(|| {
            ApiError::bad_request(format!(
                "step: {step:?} is not a bucket width of at least one second (1m, 1h)"
            ))
        })?;
    let start = seen.from.ok_or_else(|| {
        ApiError::bad_request("step: buckets need the window's start (since or from)")
    })?;
    let end = seen.to.unwrap_or(now);
    let span = end.0.saturating_sub(start.0).max(0);
    let count = span / width + 1;
    if count > MAX_BUCKETS {
        return Err(ApiError::bad_request(format!(
            "step: {step:?} makes {count} buckets of this window; at most {MAX_BUCKETS}"
        )));
    }
    Ok(Some(Buckets {
        start,
        width,
        count: u32::try_from(count).expect("at most MAX_BUCKETS"),
    }))
}

/// The `buckets` of the answer: per bucket its start, its totals and its values (at most
/// `limit` per bucket, 0 for all), with `display` naming each value.
pub(crate) fn buckets_body(
    counts: &BucketCounts,
    buckets: &Buckets,
    limit: usize,
    display: impl Fn(&Counted) -> String,
) -> Value {
    let list: Vec<Value> = counts
        .buckets
        .iter()
        .enumerate()
        .map(|(i, items)| {
            let (events, occurrences) = items
                .iter()
                .fold((0, 0), |(e, o), c| (e + c.events, o + c.occurrences));
            let shown = if limit == 0 {
                items.len()
            } else {
                limit.min(items.len())
            };
            let start = Micros(buckets.start.0 + i as i64 * buckets.width);
            json!({
                "from": start.to_micro_time_string(),
                "total": {"events": events, "occurrences": occurrences},
                "items": items[..shown].iter().map(|c| json!({
                    "value": display(c),
                    "events": c.events,
                    "occurrences": c.occurrences,
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    json!(list)
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: i64 = 3_600_000_000;

    fn window(from: Option<i64>, to: Option<i64>) -> TimeWindow {
        TimeWindow {
            from: from.map(Micros),
            to: to.map(Micros),
        }
    }

    #[test]
    fn a_step_splits_the_window_into_buckets_ending_at_now_or_to() {
        let now = Micros(100 * HOUR);
        let b = buckets_of(Some("1h"), window(Some(76 * HOUR), None), now)
            .unwrap()
            .unwrap();
        assert_eq!((b.start, b.width, b.count), (Micros(76 * HOUR), HOUR, 25));
        assert_eq!(b.of(now), Some(24));
        let b = buckets_of(Some("30m"), window(Some(0), Some(HOUR - 1)), now)
            .unwrap()
            .unwrap();
        assert_eq!(b.count, 2);
        assert_eq!(buckets_of(None, window(None, None), now).unwrap(), None);
    }

    #[test]
    fn a_step_without_a_start_too_small_or_too_many_buckets_is_refused() {
        let now = Micros(100 * HOUR);
        for (step, seen) in [
            ("1h", window(None, Some(HOUR))),
            ("10ms", window(Some(0), None)),
            ("soon", window(Some(0), None)),
            ("1s", window(Some(0), None)),
        ] {
            let refused = buckets_of(Some(step), seen, now).unwrap_err();
            assert_eq!(refused.code.as_u16(), 400, "{step}");
        }
    }
}
