//! Where an event's occurrences fall in time: a record only knows its first and last time and a
//! count, so its occurrences are spread evenly over that window (all at once for a single one).

use crate::filter::{first_seen, last_seen};
use kevents_model::{EventRecord, Micros};

/// How many of `record`'s occurrences fall in the window `(start, end]`.
pub fn occurrences_in(record: &EventRecord, start: Micros, end: Micros) -> f64 {
    let count = f64::from(record.occurrences().max(1));
    let (first, last) = (first_seen(record), last_seen(record));
    if last <= first {
        return if start < last && last <= end {
            count
        } else {
            0.0
        };
    }
    let overlap = (end.0.min(last.0) - start.0.max(first.0)).max(0);
    count * overlap as f64 / (last.0 - first.0) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(first: i64, last: i64, count: i32) -> EventRecord {
        EventRecord {
            first_timestamp: Some(Micros(first)),
            last_timestamp: Some(Micros(last)),
            count,
            ..EventRecord::default()
        }
    }

    #[test]
    fn single_occurrences_land_in_one_window() {
        let r = record(50, 50, 1);
        assert_eq!(occurrences_in(&r, Micros(0), Micros(50)), 1.0);
        assert_eq!(occurrences_in(&r, Micros(50), Micros(100)), 0.0);
    }

    #[test]
    fn repeats_spread_evenly_and_add_up() {
        let r = record(0, 100, 10);
        let halves = occurrences_in(&r, Micros(-1), Micros(50))
            + occurrences_in(&r, Micros(50), Micros(100));
        assert_eq!(occurrences_in(&r, Micros(0), Micros(25)), 2.5);
        assert!((halves - 10.0).abs() < 1e-9);
    }
}
