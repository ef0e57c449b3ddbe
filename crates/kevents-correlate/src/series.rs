//! Series: every stored event belongs to one, keyed by cluster, namespace, involved object,
//! type, reason, reporting source and message template. A [`SeriesTracker`] (one writer) is fed
//! the stored events, creates and updates alike, and keeps per series the first and last
//! occurrence, the exact total count, counts per minute and hour, the latest message, the
//! number of event objects and a version that grows with every change (for watches).

mod history;
mod key;
mod patterns;
#[cfg(test)]
mod tests;

pub use history::{History, MINUTES_KEPT};
pub use key::{ObjectIdentity, SeriesId, SeriesIdError, SeriesKey};
pub use patterns::{Pattern, PatternId};

use crate::key::{KeyBuffer, Prehashed};
use crate::template::template_into;
use crate::EventRef;
use history::minute_of;
use kevents_model::{EventRecord, Micros};
use key::KeyParts;
use std::collections::{BTreeSet, HashMap};

/// How long series live and how many there may be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SeriesConfig {
    /// A series not seen for this long (microseconds) is dropped by [`SeriesTracker::expire`].
    /// Default: 168 hours, the hub's default event TTL.
    pub ttl_micros: i64,
    /// Most series kept; a new one beyond this evicts the one seen longest ago. Default 50,000.
    pub max_series: usize,
    /// Hourly buckets kept per series, before the last hour kept per minute. Default 168.
    pub hours_kept: usize,
}

impl Default for SeriesConfig {
    fn default() -> SeriesConfig {
        SeriesConfig {
            ttl_micros: 168 * 3600 * 1_000_000,
            max_series: 50_000,
            hours_kept: 168,
        }
    }
}

/// One series and what is known about it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Series {
    /// The compact id.
    pub id: SeriesId,
    /// The readable key.
    pub key: SeriesKey,
    /// Earliest occurrence seen (the events' firstTimestamp/eventTime).
    pub first_seen: Micros,
    /// Latest occurrence seen (lastTimestamp/series.lastObservedTime).
    pub last_seen: Micros,
    /// Exact number of occurrences.
    pub count: u64,
    /// Event objects that joined the series (created in it, or updated into it).
    pub objects: u64,
    /// Message of the latest occurrence.
    pub latest_message: String,
    /// The event object of the latest occurrence (in [`SeriesKey::cluster`]).
    pub latest_event: EventRef,
    /// The tracker's version at this series' last change; grows with every change.
    pub version: u64,
    /// Occurrences per minute and hour.
    pub history: History,
}

/// What one [`SeriesTracker::observe`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Observation {
    /// The series the event belongs to.
    pub series: SeriesId,
    /// Occurrences the event added (0 for an update that did not raise its count).
    pub added: u64,
    /// True when the series is new.
    pub created: bool,
    /// True when the series changed (and got a new version).
    pub changed: bool,
    /// A series evicted to stay within [`SeriesConfig::max_series`].
    pub evicted: Option<Box<Series>>,
}

/// Counters of the tracker's own work, for metrics.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TrackerStats {
    /// Events observed.
    pub observed: u64,
    /// Series created.
    pub created: u64,
    /// Series dropped by [`SeriesTracker::expire`].
    pub expired: u64,
    /// Series evicted because [`SeriesConfig::max_series`] was reached.
    pub evicted: u64,
}

/// Keeps the series of the events it is fed. One writer: wrap it in a lock to share it.
#[derive(Debug)]
pub struct SeriesTracker {
    config: SeriesConfig,
    series: HashMap<SeriesId, Series, Prehashed>,
    /// (minute of last_seen, id): eviction order.
    by_last_seen: BTreeSet<(i64, SeriesId)>,
    version: u64,
    stats: TrackerStats,
    template: String,
    previous_template: String,
    buffer: KeyBuffer,
}

impl SeriesTracker {
    /// An empty tracker.
    pub fn new(config: SeriesConfig) -> SeriesTracker {
        SeriesTracker {
            config,
            series: HashMap::default(),
            by_last_seen: BTreeSet::new(),
            version: 0,
            stats: TrackerStats::default(),
            template: String::with_capacity(256),
            previous_template: String::with_capacity(256),
            buffer: KeyBuffer::default(),
        }
    }

    /// Records a stored event of `cluster`: `previous` is its state before this write (`None`
    /// for a create, or when rebuilding from a scan of the store). A new event adds its
    /// count; an update adds how much it raised the count. `now` is the server time: it
    /// stands in for missing timestamps and caps ones in the future.
    pub fn observe(
        &mut self,
        cluster: &str,
        event: &EventRecord,
        previous: Option<&EventRecord>,
        now: Micros,
    ) -> Observation {
        self.stats.observed += 1;
        let occurrences = i64::from(event.occurrences().max(1));
        let added = match previous {
            Some(before) => (occurrences - i64::from(before.occurrences().max(1))).max(0),
            None => occurrences,
        };
        let added = u64::try_from(added).unwrap_or(0);
        let parts = KeyParts::of(cluster, event);
        template_into(&event.message, &mut self.template);
        let id = parts.id(&self.template, &mut self.buffer);
        let joined = match previous {
            None => true,
            Some(before) => self.series_of(cluster, before, event, id) != id,
        };
        let last_seen = event_time(event.last_seen(), event, now);
        let first_seen = event_time(event.first_seen(), event, now).min(last_seen);

        let mut evicted = None;
        let created = !self.series.contains_key(&id);
        if created {
            if self.series.len() >= self.config.max_series.max(1) {
                evicted = self.evict_oldest().map(Box::new);
                self.stats.evicted += 1;
            }
            self.stats.created += 1;
            self.series.insert(
                id,
                Series {
                    id,
                    key: parts.to_key(&self.template),
                    first_seen,
                    last_seen,
                    count: 0,
                    objects: 0,
                    latest_message: event.message.clone(),
                    latest_event: EventRef::of(event),
                    version: 0,
                    history: History::default(),
                },
            );
            self.by_last_seen.insert((minute_of(last_seen), id));
        }
        let series = self
            .series
            .get_mut(&id)
            .expect("inserted above when missing");
        let old_minute = minute_of(series.last_seen);
        let mut changed = created;
        if added > 0 || joined {
            series.count += added;
            series.objects += u64::from(joined);
            if added > 0 {
                series.history.add(last_seen, added, self.config.hours_kept);
            }
            series.first_seen = series.first_seen.min(first_seen);
            if last_seen >= series.last_seen {
                series.last_seen = last_seen;
                if series.latest_message != event.message {
                    series.latest_message.clear();
                    series.latest_message.push_str(&event.message);
                }
                if series.latest_event.name != event.name
                    || series.latest_event.namespace != event.namespace
                {
                    series.latest_event = EventRef::of(event);
                }
            }
            changed = true;
        }
        if changed {
            self.version += 1;
            series.version = self.version;
        }
        let new_minute = minute_of(series.last_seen);
        if !created && new_minute != old_minute {
            self.by_last_seen.remove(&(old_minute, id));
            self.by_last_seen.insert((new_minute, id));
        }
        Observation {
            series: id,
            added,
            created,
            changed,
            evicted,
        }
    }

    /// The series id `event` of `cluster` belongs to.
    pub fn series_id(&mut self, cluster: &str, event: &EventRecord) -> SeriesId {
        template_into(&event.message, &mut self.previous_template);
        KeyParts::of(cluster, event).id(&self.previous_template, &mut self.buffer)
    }

    fn series_of(
        &mut self,
        cluster: &str,
        before: &EventRecord,
        event: &EventRecord,
        id: SeriesId,
    ) -> SeriesId {
        // Most updates (count, lastTimestamp) keep the message and the key fields: they stay in
        // their series without templating the old message again.
        if before.message == event.message
            && KeyParts::of(cluster, before) == KeyParts::of(cluster, event)
        {
            return id;
        }
        self.series_id(cluster, before)
    }

    fn evict_oldest(&mut self) -> Option<Series> {
        let (_, id) = self.by_last_seen.pop_first()?;
        self.series.remove(&id)
    }

    /// Drops the series not seen for longer than the TTL; returns them (for watch `DELETED`).
    pub fn expire(&mut self, now: Micros) -> Vec<Series> {
        let horizon = minute_of(Micros(now.0.saturating_sub(self.config.ttl_micros)));
        let mut expired = Vec::new();
        while let Some(&(minute, id)) = self.by_last_seen.first() {
            if minute >= horizon {
                break;
            }
            self.by_last_seen.pop_first();
            if let Some(series) = self.series.remove(&id) {
                expired.push(series);
            }
        }
        self.stats.expired += expired.len() as u64;
        expired
    }

    /// One series.
    pub fn get(&self, id: &SeriesId) -> Option<&Series> {
        self.series.get(id)
    }

    /// Every series, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = &Series> + '_ {
        self.series.values()
    }

    /// The series changed after `version` (for a watch resuming from it), in no particular order.
    pub fn changed_since(&self, version: u64) -> impl Iterator<Item = &Series> + '_ {
        self.series.values().filter(move |s| s.version > version)
    }

    /// Number of series.
    pub fn len(&self) -> usize {
        self.series.len()
    }

    /// True when there are no series.
    pub fn is_empty(&self) -> bool {
        self.series.is_empty()
    }

    /// The version of the latest change (0 before any).
    pub fn version(&self) -> u64 {
        self.version
    }

    /// Counters of the tracker's work.
    pub fn stats(&self) -> TrackerStats {
        self.stats
    }

    /// The settings.
    pub fn config(&self) -> &SeriesConfig {
        &self.config
    }
}

/// An event timestamp, else its creationTimestamp, else `now`; never after `now`.
fn event_time(at: Option<Micros>, event: &EventRecord, now: Micros) -> Micros {
    at.or(event.creation_timestamp).unwrap_or(now).min(now)
}
