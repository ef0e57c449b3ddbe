//! Storm folding: once a series has had `threshold` occurrences in the current minute, its
//! further new events of that minute are not stored one record each but folded into one
//! aggregate record per series and minute, whose `count` is exact. The aggregate is written
//! when it is created and then at most once per `write_interval`, so a storm costs a bounded
//! number of writes (and watch events) however fast it arrives; [`Folder::due_writes`] hands
//! out what is pending and must be called periodically.
//!
//! The folder counts the occurrences it is offered per series and minute of arrival itself, so
//! it needs nothing else; only series that fold hold an aggregate.
//!
//! Counts stay exact: every occurrence offered is either stored in its own record or counted
//! in exactly one aggregate write (provided every write handed out is applied).

#[cfg(test)]
mod tests;

use crate::key::Prehashed;
use crate::series::SeriesId;
use crate::EventRef;
use kevents_model::Micros;
use std::collections::{HashMap, HashSet};

const MINUTE: i64 = 60 * 1_000_000;

/// Folding settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FoldConfig {
    /// Occurrences of one series per minute stored as their own records; the rest of the
    /// minute is folded. Default 100.
    pub threshold_per_minute: u64,
    /// Least time between two writes of one aggregate (microseconds). Default one second.
    pub write_interval_micros: i64,
    /// Most series counted at once (those with occurrences in the current or last minute);
    /// beyond it, new series are stored unfolded. Default 100,000.
    pub max_tracked: usize,
}

impl Default for FoldConfig {
    fn default() -> FoldConfig {
        FoldConfig {
            threshold_per_minute: 100,
            write_interval_micros: 1_000_000,
            max_tracked: 100_000,
        }
    }
}

/// A write of an aggregate record the caller must perform.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AggregateWrite {
    /// The series folded.
    pub series: SeriesId,
    /// The aggregate record.
    pub target: EventRef,
    /// True for the first write: create `target` (from the folded event, with the fields
    /// below); false: update its count and lastTimestamp.
    pub create: bool,
    /// The aggregate's count: every occurrence folded into it so far.
    pub count: u64,
    /// firstTimestamp: the first folded occurrence.
    pub first_seen: Micros,
    /// lastTimestamp: the latest folded occurrence.
    pub last_seen: Micros,
}

/// What to do with one new event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FoldDecision {
    /// Store the event as its own record.
    Store,
    /// The event is folded into `aggregate`, which now counts `count` occurrences; `write` is
    /// what to write now, if anything (otherwise [`Folder::due_writes`] hands it out later).
    Folded {
        /// The aggregate record of this series and minute.
        aggregate: EventRef,
        /// Its count including this event.
        count: u64,
        /// The write to perform now.
        write: Option<AggregateWrite>,
    },
}

/// Counters for metrics.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FoldStats {
    /// Events stored as their own record.
    pub stored: u64,
    /// Events folded into an aggregate.
    pub folded: u64,
    /// Aggregate writes handed out.
    pub writes: u64,
    /// Events stored unfolded because `max_tracked` series were already counted.
    pub untracked: u64,
}

#[derive(Clone, Debug)]
struct Aggregate {
    /// The minute (since the epoch) this aggregate folds.
    minute: i64,
    target: EventRef,
    count: u64,
    written_count: u64,
    created: bool,
    first_seen: Micros,
    last_seen: Micros,
    last_write: Micros,
}

/// Occurrences of one series in one minute of arrival.
#[derive(Clone, Copy, Debug)]
struct MinuteCount {
    minute: i64,
    occurrences: u64,
}

/// Decides, per new event, whether to store or fold it. One writer: wrap it in a lock.
#[derive(Debug)]
pub struct Folder {
    config: FoldConfig,
    /// Occurrences per series in its latest minute.
    counts: HashMap<SeriesId, MinuteCount, Prehashed>,
    /// The current aggregate of each folding series.
    aggregates: HashMap<SeriesId, Aggregate, Prehashed>,
    /// Series whose aggregate has occurrences not written yet.
    pending: HashSet<SeriesId, Prehashed>,
    /// Final writes of aggregates whose minute ended.
    finished: Vec<AggregateWrite>,
    /// When `offer` last swept finished aggregates to make room.
    swept_minute: Option<i64>,
    stats: FoldStats,
}

impl Folder {
    /// A folder with nothing folding.
    pub fn new(config: FoldConfig) -> Folder {
        Folder {
            config,
            counts: HashMap::default(),
            aggregates: HashMap::default(),
            pending: HashSet::default(),
            finished: Vec::new(),
            swept_minute: None,
            stats: FoldStats::default(),
        }
    }

    /// Decides for a new event of `series` with `occurrences` (its count, at least 1) arriving
    /// at `now`; an aggregate is created in `namespace`, named after `object_name`.
    pub fn offer(
        &mut self,
        series: SeriesId,
        namespace: &str,
        object_name: &str,
        occurrences: u64,
        now: Micros,
    ) -> FoldDecision {
        let occurrences = occurrences.max(1);
        let minute = now.0.div_euclid(MINUTE);
        if !self.counts.contains_key(&series) && self.counts.len() >= self.config.max_tracked {
            // Sweeping is O(series counted): at most once a minute from here.
            if self.swept_minute != Some(minute) {
                self.swept_minute = Some(minute);
                self.forget_finished(minute);
            }
            if self.counts.len() >= self.config.max_tracked {
                self.stats.untracked += 1;
                self.stats.stored += 1;
                return FoldDecision::Store;
            }
        }
        let count = self.counts.entry(series).or_insert(MinuteCount {
            minute,
            occurrences: 0,
        });
        // A late event (of an earlier minute) counts in the series' latest minute.
        if count.minute < minute {
            *count = MinuteCount {
                minute,
                occurrences: 0,
            };
        }
        let before = count.occurrences;
        count.occurrences += occurrences;
        if before < self.config.threshold_per_minute {
            self.stats.stored += 1;
            return FoldDecision::Store;
        }
        if let Some(previous) = self.aggregates.get(&series) {
            if previous.minute < minute {
                let ended = self.aggregates.remove(&series);
                if let Some(last) = ended.and_then(|a| final_write(series, a)) {
                    self.finished.push(last);
                }
                self.pending.remove(&series);
            }
        }
        self.stats.folded += 1;
        let aggregate = self.aggregates.entry(series).or_insert_with(|| Aggregate {
            minute,
            target: EventRef {
                namespace: namespace.to_string(),
                name: aggregate_name(object_name, series, minute),
            },
            count: 0,
            written_count: 0,
            created: false,
            first_seen: now,
            last_seen: now,
            last_write: now,
        });
        aggregate.count += occurrences;
        aggregate.last_seen = aggregate.last_seen.max(now);
        let due = !aggregate.created
            || now.0.saturating_sub(aggregate.last_write.0) >= self.config.write_interval_micros;
        let write = if due {
            self.pending.remove(&series);
            self.stats.writes += 1;
            Some(take_write(series, aggregate, now))
        } else {
            self.pending.insert(series);
            None
        };
        FoldDecision::Folded {
            aggregate: aggregate.target.clone(),
            count: aggregate.count,
            write,
        }
    }

    /// The aggregate writes due at `now`: final counts of minutes that ended, and aggregates
    /// whose last write is `write_interval` old. Call it about once per `write_interval`.
    pub fn due_writes(&mut self, now: Micros) -> Vec<AggregateWrite> {
        let mut writes = std::mem::take(&mut self.finished);
        let interval = self.config.write_interval_micros;
        let minute = now.0.div_euclid(MINUTE);
        let aggregates = &mut self.aggregates;
        self.pending.retain(|series| {
            let Some(aggregate) = aggregates.get_mut(series) else {
                return false;
            };
            let minute_ended = aggregate.minute < minute;
            if now.0.saturating_sub(aggregate.last_write.0) < interval && !minute_ended {
                return true;
            }
            writes.push(take_write(*series, aggregate, now));
            false
        });
        if self.swept_minute != Some(minute) {
            self.swept_minute = Some(minute);
            self.forget_finished(minute);
            writes.append(&mut self.finished);
        }
        self.stats.writes += writes.len() as u64;
        writes
    }

    /// Every write still owed, whatever its interval (for shutdown).
    pub fn drain(&mut self) -> Vec<AggregateWrite> {
        let mut writes = std::mem::take(&mut self.finished);
        for series in self.pending.drain() {
            if let Some(aggregate) = self.aggregates.get_mut(&series) {
                let now = aggregate.last_seen;
                writes.push(take_write(series, aggregate, now));
            }
        }
        self.stats.writes += writes.len() as u64;
        writes
    }

    /// Hands back a write that failed, so its occurrences are written again later (a failed
    /// create is retried as a create).
    pub fn requeue(&mut self, write: AggregateWrite) {
        match self.aggregates.get_mut(&write.series) {
            Some(aggregate) if aggregate.target == write.target => {
                aggregate.created &= !write.create;
                aggregate.written_count = 0;
                aggregate.last_write = Micros(i64::MIN / 2);
                self.pending.insert(write.series);
            }
            // The minute is over and forgotten: the write is final, send it again as it was.
            _ => self.finished.push(write),
        }
    }

    /// Counters of decisions and writes.
    pub fn stats(&self) -> FoldStats {
        self.stats
    }

    /// Series currently counted (with occurrences in the current or a recent minute).
    pub fn tracked(&self) -> usize {
        self.counts.len()
    }

    /// Drops the counts and aggregates of minutes before `minute`; what an aggregate still
    /// owes is queued as its final write.
    fn forget_finished(&mut self, minute: i64) {
        self.counts.retain(|_, count| count.minute >= minute);
        let pending = &self.pending;
        let finished = &mut self.finished;
        self.aggregates.retain(|series, aggregate| {
            if aggregate.minute >= minute || pending.contains(series) {
                return true;
            }
            if let Some(last) = final_write(*series, aggregate.clone()) {
                finished.push(last);
            }
            false
        });
    }
}

fn take_write(series: SeriesId, aggregate: &mut Aggregate, now: Micros) -> AggregateWrite {
    let create = !aggregate.created;
    aggregate.created = true;
    aggregate.written_count = aggregate.count;
    aggregate.last_write = now;
    AggregateWrite {
        series,
        target: aggregate.target.clone(),
        create,
        count: aggregate.count,
        first_seen: aggregate.first_seen,
        last_seen: aggregate.last_seen,
    }
}

fn final_write(series: SeriesId, mut aggregate: Aggregate) -> Option<AggregateWrite> {
    let owed = !aggregate.created || aggregate.count > aggregate.written_count;
    let now = aggregate.last_seen;
    owed.then(|| take_write(series, &mut aggregate, now))
}

/// Name of the aggregate record of `series` for `minute`: `<object>.<series>-<minute>` in hex,
/// a valid DNS subdomain like client-go's `<object>.<hex>` names.
pub fn aggregate_name(object_name: &str, series: SeriesId, minute: i64) -> String {
    let cleaned: String = object_name
        .chars()
        .take(200)
        .map(|c| match c.to_ascii_lowercase() {
            c @ ('a'..='z' | '0'..='9' | '-' | '.') => c,
            _ => '-',
        })
        .collect();
    let trimmed = cleaned.trim_matches(|c: char| !c.is_ascii_alphanumeric());
    let base = if trimmed.is_empty() { "event" } else { trimmed };
    format!(
        "{base}.{:016x}-{:x}",
        (series.0 >> 64) as u64,
        minute.max(0)
    )
}
