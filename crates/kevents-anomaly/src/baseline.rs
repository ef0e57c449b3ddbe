//! The baseline of one key (a pattern, or a cluster, namespace, reason and type): occurrences
//! per hour for the hours kept (dense, 4 bytes an hour), per minute for the last hour (sparse),
//! and each day's busiest five minutes; from these, what the current hour usually holds.
//!
//! Seasonality: the current hour is compared with the same hour of earlier days (and the hours
//! either side, so a job that runs at 10:05 one day and 9:55 the next is the same job) of the
//! same kind — weekdays with weekdays, weekend days with weekend days — once at least
//! [`BaselineConfig::min_days`] such days are known; before that with every earlier day; before
//! that the baseline is [`Expectation::Learning`].

use crate::stats::{median, median_and_mad};
use kevents_model::Micros;
use std::collections::VecDeque;

/// Microseconds in a minute.
pub const MINUTE: i64 = 60_000_000;
/// Microseconds in an hour.
pub const HOUR: i64 = 60 * MINUTE;
/// Microseconds in a day.
pub const DAY: i64 = 24 * HOUR;
/// Minutes summed for the current rate.
pub const WINDOW_MINUTES: i64 = 5;

/// How much history a baseline keeps and needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BaselineConfig {
    /// Hourly buckets kept. Default 336 (two weeks).
    pub hours_kept: usize,
    /// Earlier days of the same kind (weekday, weekend day) needed to compare with them only;
    /// below it every earlier day counts, and with fewer earlier days than this the baseline is
    /// learning. Default 2.
    pub min_days: usize,
}

impl Default for BaselineConfig {
    fn default() -> BaselineConfig {
        BaselineConfig {
            hours_kept: 336,
            min_days: 2,
        }
    }
}

/// What the current hour usually holds.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Expectation {
    /// Not enough history yet to say.
    Learning,
    /// Compared with earlier days.
    Known(Expected),
}

/// A known expectation for one hour.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Expected {
    /// Median occurrences in the comparable hours.
    pub per_hour: f64,
    /// Their median absolute deviation.
    pub mad_per_hour: f64,
    /// The busiest five minutes of a usual comparable day (the third quartile over the days,
    /// so an event that bursts on most days, like a rollout's, counts as usual).
    pub peak_window: f64,
    /// Median over the comparable days of each day's longest quiet between two occurrences,
    /// in minutes; `None` when fewer than [`BaselineConfig::min_days`] days had two.
    pub longest_gap_minutes: Option<f64>,
    /// Share of the comparable hours with at least one occurrence.
    pub active_share: f64,
    /// Which days were compared.
    pub basis: Basis,
    /// Hours compared.
    pub samples: usize,
}

/// Which earlier days an expectation compares with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Basis {
    /// Days of the same kind: weekdays, or weekend days (weekly seasonality).
    SameKindOfDay,
    /// Every earlier day (daily seasonality only).
    EveryDay,
}

impl Basis {
    /// The name shown in anomalies.
    pub fn as_str(self) -> &'static str {
        match self {
            Basis::SameKindOfDay => "weekly",
            Basis::EveryDay => "daily",
        }
    }
}

/// Occurrences of one key over time.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Baseline {
    /// Hour (since the epoch) of `hours[0]`.
    first_hour: i64,
    hours: VecDeque<u32>,
    /// (minute since the epoch, occurrences) of the last hour, oldest first.
    minutes: VecDeque<(i64, u32)>,
    /// (day since the epoch, most occurrences in five minutes), oldest first.
    peaks: VecDeque<(i64, u32)>,
    /// (day since the epoch, longest quiet between two occurrences in minutes), oldest first.
    gaps: VecDeque<(i64, u32)>,
    /// Latest occurrence.
    last_seen: Option<Micros>,
    /// Earliest occurrence.
    first_seen: Option<Micros>,
}

fn saturate(count: u64) -> u32 {
    u32::try_from(count).unwrap_or(u32::MAX)
}

/// Whether a day (since the epoch, which was a Thursday) is a Saturday or a Sunday.
pub fn is_weekend(day: i64) -> bool {
    (day + 3).rem_euclid(7) >= 5
}

impl Baseline {
    /// Records `count` occurrences at `at`.
    pub fn add(&mut self, at: Micros, count: u64, config: &BaselineConfig) {
        if count == 0 {
            return;
        }
        if let Some(last) = self.last_seen.filter(|l| at.0 > l.0) {
            let minutes = u32::try_from((at.0 - last.0) / MINUTE).unwrap_or(u32::MAX);
            record_max(&mut self.gaps, at.0.div_euclid(DAY), minutes);
        }
        self.last_seen = Some(self.last_seen.map_or(at, |l| l.max(at)));
        self.first_seen = Some(self.first_seen.map_or(at, |f| f.min(at)));
        self.add_hour(
            at.0.div_euclid(HOUR),
            saturate(count),
            config.hours_kept.max(1),
        );
        self.add_minute(at.0.div_euclid(MINUTE), saturate(count));
    }

    fn add_hour(&mut self, hour: i64, count: u32, kept: usize) {
        if self.hours.is_empty() {
            self.first_hour = hour;
            self.hours.push_back(0);
        }
        let last_hour = self.first_hour + self.hours.len() as i64 - 1;
        if hour < self.first_hour {
            if last_hour - hour >= kept as i64 {
                return;
            }
            for _ in hour..self.first_hour {
                self.hours.push_front(0);
            }
            self.first_hour = hour;
        }
        while self.first_hour + (self.hours.len() as i64) <= hour {
            self.hours.push_back(0);
        }
        let index = (hour - self.first_hour) as usize;
        self.hours[index] = self.hours[index].saturating_add(count);
        while self.hours.len() > kept {
            self.hours.pop_front();
            self.first_hour += 1;
        }
    }

    fn add_minute(&mut self, minute: i64, count: u32) {
        let newest = self.minutes.back().map_or(minute, |&(m, _)| m.max(minute));
        if minute <= newest - 60 {
            return;
        }
        match self.minutes.binary_search_by_key(&minute, |&(m, _)| m) {
            Ok(index) => self.minutes[index].1 = self.minutes[index].1.saturating_add(count),
            Err(index) => self.minutes.insert(index, (minute, count)),
        }
        while self.minutes.front().is_some_and(|&(m, _)| m <= newest - 60) {
            self.minutes.pop_front();
        }
        let window = self.in_window(minute);
        record_max(&mut self.peaks, (minute * MINUTE).div_euclid(DAY), window);
    }

    /// Occurrences in the [`WINDOW_MINUTES`] minutes ending with `minute`.
    fn in_window(&self, minute: i64) -> u32 {
        self.minutes
            .iter()
            .filter(|&&(m, _)| m > minute - WINDOW_MINUTES && m <= minute)
            .map(|&(_, c)| c)
            .sum()
    }

    /// Occurrences in the [`WINDOW_MINUTES`] minutes up to and including the one `now` is in.
    pub fn current_window(&self, now: Micros) -> u32 {
        self.in_window(now.0.div_euclid(MINUTE))
    }

    /// The first minute with occurrences in the [`WINDOW_MINUTES`] minutes up to `now`.
    pub fn window_start(&self, now: Micros) -> Option<Micros> {
        let minute = now.0.div_euclid(MINUTE);
        self.minutes
            .iter()
            .find(|&&(m, _)| m > minute - WINDOW_MINUTES && m <= minute)
            .map(|&(m, _)| Micros(m * MINUTE))
    }

    /// Occurrences in one hour (0 outside the hours kept).
    pub fn in_hour(&self, hour: i64) -> u32 {
        usize::try_from(hour - self.first_hour)
            .ok()
            .and_then(|i| self.hours.get(i).copied())
            .unwrap_or(0)
    }

    /// Latest occurrence.
    pub fn last_seen(&self) -> Option<Micros> {
        self.last_seen
    }

    /// Earliest occurrence.
    pub fn first_seen(&self) -> Option<Micros> {
        self.first_seen
    }

    /// Adds another baseline's occurrences (a pattern that was merged into this one).
    pub fn merge(&mut self, other: &Baseline, config: &BaselineConfig) {
        for (offset, &count) in other.hours.iter().enumerate() {
            if count > 0 {
                self.add_hour(
                    other.first_hour + offset as i64,
                    count,
                    config.hours_kept.max(1),
                );
            }
        }
        for &(minute, count) in &other.minutes {
            self.add_minute(minute, count);
        }
        for &(day, peak) in &other.peaks {
            record_max(&mut self.peaks, day, peak);
        }
        for &(day, gap) in &other.gaps {
            record_max(&mut self.gaps, day, gap);
        }
        self.last_seen = self.last_seen.max(other.last_seen);
        self.first_seen = match (self.first_seen, other.first_seen) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
    }

    /// What the hour `now` is in usually holds, comparing with the days since `known_since`
    /// (the earliest occurrence the hub knows of, of any key: before the key's first
    /// occurrence and after that, the key's hours count as zero).
    pub fn expected(
        &self,
        now: Micros,
        known_since: Micros,
        config: &BaselineConfig,
    ) -> Expectation {
        let hour = now.0.div_euclid(HOUR);
        let today = now.0.div_euclid(DAY);
        let oldest = known_since
            .0
            .div_euclid(HOUR)
            .max(hour - config.hours_kept as i64);
        let earlier_days: Vec<i64> = (1..=(config.hours_kept as i64 / 24))
            .filter(|days| hour - 24 * days > oldest)
            .collect();
        let same_kind: Vec<i64> = earlier_days
            .iter()
            .copied()
            .filter(|days| is_weekend(today - days) == is_weekend(today))
            .collect();
        let (days, basis) = if same_kind.len() >= config.min_days {
            (same_kind, Basis::SameKindOfDay)
        } else if earlier_days.len() >= config.min_days {
            (earlier_days, Basis::EveryDay)
        } else {
            return Expectation::Learning;
        };
        let mut counts: Vec<f64> = days
            .iter()
            .flat_map(|days| [-1, 0, 1].map(|side| hour - 24 * days + side))
            .map(|h| f64::from(self.in_hour(h)))
            .collect();
        let active = counts.iter().filter(|&&c| c > 0.0).count();
        let samples = counts.len();
        let (per_hour, mad_per_hour) = median_and_mad(&mut counts);
        let mut peaks: Vec<f64> = days
            .iter()
            .map(|days| f64::from(day_value(&self.peaks, today - days).unwrap_or(0)))
            .collect();
        let mut gaps: Vec<f64> = days
            .iter()
            .filter_map(|days| day_value(&self.gaps, today - days).map(f64::from))
            .collect();
        let longest_gap_minutes = (gaps.len() >= config.min_days).then(|| median(&mut gaps));
        Expectation::Known(Expected {
            per_hour,
            mad_per_hour,
            peak_window: upper_quartile(&mut peaks),
            longest_gap_minutes,
            active_share: active as f64 / samples as f64,
            basis,
            samples,
        })
    }

    /// Bytes this baseline holds on the heap.
    pub fn heap_bytes(&self) -> usize {
        self.hours.capacity() * 4
            + self.minutes.capacity() * 16
            + (self.peaks.capacity() + self.gaps.capacity()) * 16
    }
}

/// Keeps the largest `value` per day, for the last 31 days.
fn record_max(days: &mut VecDeque<(i64, u32)>, day: i64, value: u32) {
    match days.binary_search_by_key(&day, |&(d, _)| d) {
        Ok(index) => days[index].1 = days[index].1.max(value),
        Err(index) => days.insert(index, (day, value)),
    }
    while days.len() > 31 {
        days.pop_front();
    }
}

fn day_value(days: &VecDeque<(i64, u32)>, day: i64) -> Option<u32> {
    days.binary_search_by_key(&day, |&(d, _)| d)
        .ok()
        .map(|index| days[index].1)
}

/// The third quartile (nearest rank) of `values` (reordered in place); 0 for none.
fn upper_quartile(values: &mut [f64]) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    values.sort_by(f64::total_cmp);
    values[(values.len() * 3).div_ceil(4) - 1]
}

#[cfg(test)]
mod tests;
