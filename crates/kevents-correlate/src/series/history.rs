//! Occurrence counts of one series over time: per minute for the last hour of the series'
//! activity, per hour before that, for as many hours as configured. Sparse: a series that was
//! active in three minutes holds three entries, and one active in a single minute allocates
//! nothing.

use kevents_model::Micros;
use std::collections::VecDeque;

const MINUTE: i64 = 60 * 1_000_000;

/// Minutes kept at minute resolution, counted back from the newest minute with occurrences.
pub const MINUTES_KEPT: i64 = 60;

/// The minute (since the epoch) an instant falls in.
pub(crate) fn minute_of(at: Micros) -> i64 {
    at.0.div_euclid(MINUTE)
}

/// Per-minute and per-hour occurrence counts of one series.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct History {
    /// (minute since the epoch, occurrences), oldest first, all within [`MINUTES_KEPT`] of the
    /// newest.
    minutes: Minutes,
    /// Hourly buckets of the minutes older than those.
    hours: Hours,
}

/// (minute or hour since the epoch, occurrences).
type Bucket = (i64, u64);

/// Most series only ever occur in one minute: that bucket is kept inline.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
enum Minutes {
    #[default]
    Empty,
    One((i64, u64)),
    Many(VecDeque<(i64, u64)>),
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Hours {
    /// (hour since the epoch, occurrences), oldest first.
    buckets: VecDeque<(i64, u64)>,
    /// Occurrences too old for the hours kept; still part of the series' total.
    dropped: u64,
}

impl Minutes {
    fn iter(&self) -> impl DoubleEndedIterator<Item = &(i64, u64)> + '_ {
        let (front, back): (&[Bucket], &[Bucket]) = match self {
            Minutes::Empty => (&[], &[]),
            Minutes::One(bucket) => (std::slice::from_ref(bucket), &[]),
            Minutes::Many(deque) => deque.as_slices(),
        };
        front.iter().chain(back)
    }

    fn deque(&mut self) -> &mut VecDeque<(i64, u64)> {
        if !matches!(self, Minutes::Many(_)) {
            let deque = self.iter().copied().collect();
            *self = Minutes::Many(deque);
        }
        match self {
            Minutes::Many(deque) => deque,
            Minutes::Empty | Minutes::One(_) => unreachable!("converted above"),
        }
    }
}

impl History {
    /// Records `count` occurrences at `at`, keeping at most `hours_kept` hourly buckets.
    pub(crate) fn add(&mut self, at: Micros, count: u64, hours_kept: usize) {
        let minute = minute_of(at);
        match &mut self.minutes {
            Minutes::Empty => {
                self.minutes = Minutes::One((minute, count));
                return;
            }
            Minutes::One((only, only_count)) if *only == minute => {
                *only_count += count;
                return;
            }
            Minutes::One(_) | Minutes::Many(_) => {}
        }
        let newest = self
            .minutes
            .iter()
            .next_back()
            .map_or(minute, |&(m, _)| m.max(minute));
        if minute <= newest - MINUTES_KEPT {
            self.hours
                .add(minute.div_euclid(60), count, newest, hours_kept);
            return;
        }
        let minutes = self.minutes.deque();
        while let Some(&(oldest, old_count)) = minutes.front() {
            if oldest > newest - MINUTES_KEPT {
                break;
            }
            minutes.pop_front();
            self.hours
                .add(oldest.div_euclid(60), old_count, newest, hours_kept);
        }
        add_sorted(minutes, minute, count);
    }

    /// Adds the occurrences of `other` (a series merged into this one).
    pub(crate) fn merge(&mut self, other: &History, hours_kept: usize) {
        for &(minute, count) in other.minutes.iter() {
            self.add(Micros(minute * MINUTE), count, hours_kept);
        }
        for &(hour, count) in &other.hours.buckets {
            self.add(Micros(hour * 60 * MINUTE), count, hours_kept);
        }
        self.hours.dropped += other.hours.dropped;
    }

    /// (start of the minute, occurrences) for the minutes kept, oldest first.
    pub fn per_minute(&self) -> impl Iterator<Item = (Micros, u64)> + '_ {
        self.minutes.iter().map(|&(m, c)| (Micros(m * MINUTE), c))
    }

    /// (start of the hour, occurrences) for the hours before the minutes kept, oldest first.
    pub fn per_hour(&self) -> impl Iterator<Item = (Micros, u64)> + '_ {
        self.hours
            .buckets
            .iter()
            .map(|&(h, c)| (Micros(h * 60 * MINUTE), c))
    }

    /// Occurrences too old to be kept per hour (part of the total, in no bucket).
    pub fn dropped(&self) -> u64 {
        self.hours.dropped
    }

    /// Occurrences in the `minutes` whole minutes up to and including the one `now` is in,
    /// e.g. for a RATE/MIN column; only the minutes kept count.
    pub fn recent(&self, now: Micros, minutes: i64) -> u64 {
        let last = minute_of(now);
        self.minutes
            .iter()
            .rev()
            .skip_while(|&&(m, _)| m > last)
            .take_while(|&&(m, _)| m > last - minutes)
            .map(|&(_, c)| c)
            .sum()
    }

    /// Occurrences in the minute `at` falls in, if that minute is kept per minute.
    pub fn in_minute(&self, at: Micros) -> u64 {
        let minute = minute_of(at);
        self.minutes
            .iter()
            .rev()
            .find(|&&(m, _)| m <= minute)
            .filter(|&&(m, _)| m == minute)
            .map_or(0, |&(_, c)| c)
    }

    /// Sum over every bucket plus what was dropped: equals the series' total.
    pub fn total(&self) -> u64 {
        let minutes: u64 = self.minutes.iter().map(|&(_, c)| c).sum();
        let hours: u64 = self.hours.buckets.iter().map(|&(_, c)| c).sum();
        minutes + hours + self.hours.dropped
    }
}

impl Hours {
    fn add(&mut self, hour: i64, count: u64, newest_minute: i64, hours_kept: usize) {
        let newest_hour = newest_minute.div_euclid(60);
        let oldest_kept = newest_hour - i64::try_from(hours_kept).unwrap_or(i64::MAX);
        if hour <= oldest_kept {
            self.dropped += count;
            return;
        }
        add_sorted(&mut self.buckets, hour, count);
        while let Some(&(oldest, old_count)) = self.buckets.front() {
            if oldest > oldest_kept {
                break;
            }
            self.buckets.pop_front();
            self.dropped += old_count;
        }
    }
}

fn add_sorted(buckets: &mut VecDeque<(i64, u64)>, at: i64, count: u64) {
    // Occurrences mostly arrive in time order: check the newest bucket first.
    match buckets.back_mut() {
        Some((last, last_count)) if *last == at => *last_count += count,
        Some((last, _)) if *last < at => buckets.push_back((at, count)),
        None => buckets.push_back((at, count)),
        Some(_) => match buckets.binary_search_by_key(&at, |&(m, _)| m) {
            Ok(index) => buckets[index].1 += count,
            Err(index) => buckets.insert(index, (at, count)),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at_minute(minute: i64) -> Micros {
        Micros(minute * MINUTE + 17)
    }

    #[test]
    fn minutes_older_than_an_hour_roll_into_hours() {
        let mut history = History::default();
        history.add(at_minute(0), 2, 24);
        history.add(at_minute(59), 3, 24);
        history.add(at_minute(61), 4, 24);
        assert_eq!(
            history.per_minute().map(|(_, c)| c).collect::<Vec<_>>(),
            vec![3, 4],
            "minute 0 is more than 60 minutes before minute 61"
        );
        assert_eq!(history.per_hour().collect::<Vec<_>>(), vec![(Micros(0), 2)]);
        assert_eq!(history.total(), 9);
    }

    #[test]
    fn late_occurrences_land_in_their_own_bucket() {
        let mut history = History::default();
        history.add(at_minute(120), 1, 24);
        history.add(at_minute(100), 5, 24);
        history.add(at_minute(30), 7, 24);
        history.add(at_minute(100), 1, 24);
        assert_eq!(
            history
                .per_minute()
                .map(|(t, c)| (minute_of(t), c))
                .collect::<Vec<_>>(),
            vec![(100, 6), (120, 1)]
        );
        assert_eq!(history.per_hour().collect::<Vec<_>>(), vec![(Micros(0), 7)]);
    }

    #[test]
    fn hours_beyond_the_kept_ones_are_dropped_but_counted() {
        let mut history = History::default();
        history.add(at_minute(0), 1, 2);
        history.add(at_minute(60 * 5), 1, 2);
        assert_eq!(
            history.per_hour().count(),
            0,
            "hour 0 is more than 2 hours before hour 5"
        );
        assert_eq!(history.dropped(), 1);
        assert_eq!(history.total(), 2);
    }

    #[test]
    fn in_minute_counts_one_kept_minute() {
        let mut history = History::default();
        assert_eq!(history.in_minute(at_minute(5)), 0);
        history.add(at_minute(5), 3, 24);
        assert_eq!(
            history.in_minute(at_minute(5)),
            3,
            "the single inline bucket"
        );
        history.add(at_minute(7), 2, 24);
        assert_eq!(
            (
                history.in_minute(at_minute(5)),
                history.in_minute(at_minute(6)),
                history.in_minute(at_minute(7))
            ),
            (3, 0, 2)
        );
    }

    #[test]
    fn recent_counts_the_last_minutes() {
        let mut history = History::default();
        for minute in 0..10 {
            history.add(at_minute(minute), minute as u64, 24);
        }
        assert_eq!(history.recent(at_minute(9), 1), 9);
        assert_eq!(history.recent(at_minute(9), 3), 7 + 8 + 9);
        assert_eq!(history.recent(at_minute(20), 5), 0);
    }
}
