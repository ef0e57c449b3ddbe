//! Series: every stored event belongs to one, keyed by cluster, namespace, involved object,
//! type, reason, reporting source and learned message template (the masked message through the
//! [`crate::miner`]). A [`SeriesTracker`] (one writer) is fed
//! the stored events, creates and updates alike, and keeps per series the first and last
//! occurrence, the exact total count, counts per minute and hour, the latest message, the
//! number of event objects and a version that grows with every change (for watches).

mod generalize;
mod history;
mod key;
#[cfg(test)]
mod learned_tests;
mod patterns;
#[cfg(test)]
mod properties;
mod record;
mod slab;
#[cfg(test)]
mod tests;

pub use history::{History, MINUTES_KEPT};
pub use key::{ObjectIdentity, SeriesId, SeriesIdError, SeriesKey};
pub use patterns::{Pattern, PatternId};
pub use record::Series;

use crate::key::KeyBuffer;
use crate::miner::{Miner, MinerConfig, MinerStats};
use crate::template::template_into;
use history::minute_of;
use kevents_model::{EventRecord, Micros};
use key::KeyParts;
use slab::Slab;
use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// Default bound of [`SeriesConfig::max_bytes`]: 50,000 series of about 1.3 KB of text each.
pub const DEFAULT_MAX_BYTES: usize = 64 << 20;

/// How long series live, and how many and how large they may be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SeriesConfig {
    /// A series not seen for this long (microseconds) is dropped by [`SeriesTracker::expire`].
    /// Default: 168 hours, the hub's default event TTL.
    pub ttl_micros: i64,
    /// Most series kept; a new one beyond this evicts the one seen longest ago. Default 50,000.
    pub max_series: usize,
    /// Hourly buckets kept per series, before the last hour kept per minute. Default 168.
    pub hours_kept: usize,
    /// Most bytes of series text (key fields, template, latest event name and message) over
    /// all series; past it the series seen longest ago are evicted. Default 64 MiB.
    pub max_bytes: usize,
    /// The template miner's parameters.
    pub miner: MinerConfig,
}

impl Default for SeriesConfig {
    fn default() -> SeriesConfig {
        SeriesConfig {
            ttl_micros: 168 * 3600 * 1_000_000,
            max_series: 50_000,
            hours_kept: 168,
            max_bytes: DEFAULT_MAX_BYTES,
            miner: MinerConfig::default(),
        }
    }
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
    /// Series evicted to stay within [`SeriesConfig::max_series`] and
    /// [`SeriesConfig::max_bytes`].
    pub evicted: Vec<Series>,
    /// Series this event's message ended: its pattern gained a wildcard, and each series of
    /// the pattern's previous template was merged into the series (id given) of the new one.
    pub merged: Vec<(Series, SeriesId)>,
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
    /// Series evicted because [`SeriesConfig::max_series`] or [`SeriesConfig::max_bytes`] was
    /// reached.
    pub evicted: u64,
    /// Series merged into another when their template gained a wildcard.
    pub merged: u64,
}

/// Keeps the series of the events it is fed. One writer: wrap it in a lock to share it.
#[derive(Debug)]
pub struct SeriesTracker {
    config: SeriesConfig,
    series: Slab,
    /// (minute of last_seen, id), least first: eviction order. Entries go stale when a series
    /// is seen in a later minute (a new entry is pushed; the old one is skipped when popped),
    /// which keeps a push O(1) for events arriving in time order.
    /// Entries name slots, not ids, to stay 16 bytes: an entry whose slot holds a series with
    /// the same minute is as good as the original (it is as old).
    by_last_seen: BinaryHeap<Reverse<(i64, u32)>>,
    version: u64,
    stats: TrackerStats,
    /// Bytes of the series' text, as [`SeriesText::bytes`] counts them.
    text_bytes: usize,
    miner: Miner,
    /// The learned template of the message being observed.
    template: String,
    /// The masked template of `templated_message`.
    masked: String,
    /// The message `masked` was made from: the write path asks for a series id before
    /// storing an event and observes it after, and masks once.
    templated_message: String,
    previous_template: String,
    previous_masked: String,
    buffer: KeyBuffer,
}

impl SeriesTracker {
    /// An empty tracker.
    pub fn new(config: SeriesConfig) -> SeriesTracker {
        SeriesTracker {
            config,
            series: Slab::default(),
            by_last_seen: BinaryHeap::new(),
            version: 0,
            stats: TrackerStats::default(),
            text_bytes: 0,
            miner: Miner::new(config.miner),
            template: String::with_capacity(256),
            masked: String::with_capacity(256),
            templated_message: String::with_capacity(256),
            previous_template: String::with_capacity(256),
            previous_masked: String::with_capacity(256),
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
        self.mask_message(&event.message);
        let generalized = self
            .miner
            .learn(&event.reason, &self.masked, &mut self.template);
        let merged = match generalized {
            Some(previous) => {
                let merged = self.merge_generalized(&event.reason, &previous);
                // Rare (once per wildcard a pattern gains) and already a pass over every series.
                self.text_bytes = self.series.values().map(|s| s.text.bytes()).sum();
                merged
            }
            None => Vec::new(),
        };
        let id = parts.id(&self.template, &mut self.buffer);
        let joined = match previous {
            None => true,
            Some(before) => self.series_of(cluster, before, event, id) != id,
        };
        let last_seen = event_time(event.last_seen(), event, now);
        let first_seen = event_time(event.first_seen(), event, now).min(last_seen);

        let mut evicted = Vec::new();
        let created = !self.series.contains_key(&id);
        if created {
            if self.series.len() >= self.config.max_series.max(1) {
                evicted.extend(self.evict_oldest());
            }
            self.stats.created += 1;
            let text = parts.to_text(&self.template, &event.name, &event.message);
            self.text_bytes += text.bytes();
            let slot = self.series.insert(Series {
                id,
                text,
                first_seen,
                last_seen,
                count: 0,
                objects: 0,
                version: 0,
                history: History::default(),
            });
            self.by_last_seen
                .push(Reverse((minute_of(last_seen), slot)));
        }
        let (slot, series) = self
            .series
            .get_mut(&id)
            .expect("inserted above when missing");
        let old_minute = minute_of(series.last_seen);
        let old_bytes = series.text.bytes();
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
                series.text.set_latest(&event.name, &event.message);
            }
            changed = true;
        }
        if changed {
            self.version += 1;
            series.version = self.version;
        }
        self.text_bytes = self.text_bytes - old_bytes + series.text.bytes();
        let new_minute = minute_of(series.last_seen);
        if !created && new_minute != old_minute {
            self.by_last_seen.push(Reverse((new_minute, slot)));
            if self.by_last_seen.len() > 2 * self.series.len() + 1024 {
                self.compact_index();
            }
        }
        self.evict_past_max_bytes(id, &mut evicted);
        Observation {
            series: id,
            added,
            created,
            changed,
            evicted,
            merged,
        }
    }

    /// The series id `event` of `cluster` belongs to.
    /// Does not learn the message: an event that generalises a pattern gets the id of the
    /// series it will join once [`SeriesTracker::observe`]d.
    pub fn series_id(&mut self, cluster: &str, event: &EventRecord) -> SeriesId {
        self.mask_message(&event.message);
        self.miner
            .lookup(&event.reason, &self.masked, &mut self.template);
        KeyParts::of(cluster, event).id(&self.template, &mut self.buffer)
    }

    fn mask_message(&mut self, message: &str) {
        if self.templated_message != message {
            template_into(message, &mut self.masked);
            self.templated_message.clear();
            self.templated_message.push_str(message);
        }
    }

    fn previous_series_id(&mut self, cluster: &str, before: &EventRecord) -> SeriesId {
        template_into(&before.message, &mut self.previous_masked);
        self.miner.lookup(
            &before.reason,
            &self.previous_masked,
            &mut self.previous_template,
        );
        KeyParts::of(cluster, before).id(&self.previous_template, &mut self.buffer)
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
        self.previous_series_id(cluster, before)
    }

    /// Pops the index entry of the series seen longest ago, skipping stale entries.
    fn pop_oldest(&mut self) -> Option<(i64, u32, SeriesId)> {
        while let Some(Reverse((minute, slot))) = self.by_last_seen.pop() {
            match self.series.in_slot(slot) {
                Some(series) if minute_of(series.last_seen) == minute => {
                    return Some((minute, slot, series.id));
                }
                _ => {}
            }
        }
        None
    }

    fn evict_oldest(&mut self) -> Option<Series> {
        let (_, _, id) = self.pop_oldest()?;
        let series = self.remove(&id)?;
        self.stats.evicted += 1;
        Some(series)
    }

    /// Evicts the series seen longest ago while the text of all exceeds the bound; never
    /// `kept`, the series just observed (one event's text is within the request limit).
    fn evict_past_max_bytes(&mut self, kept: SeriesId, evicted: &mut Vec<Series>) {
        let mut kept_entry = None;
        while self.text_bytes > self.config.max_bytes {
            let Some((minute, slot, id)) = self.pop_oldest() else {
                break;
            };
            if id == kept {
                kept_entry = Some(Reverse((minute, slot)));
                continue;
            }
            evicted.extend(self.remove(&id));
            self.stats.evicted += 1;
        }
        self.by_last_seen.extend(kept_entry);
    }

    fn remove(&mut self, id: &SeriesId) -> Option<Series> {
        let series = self.series.remove(id)?;
        self.text_bytes -= series.text.bytes();
        Some(series)
    }

    /// Rebuilds the eviction index without stale entries.
    fn compact_index(&mut self) {
        let entries: Vec<_> = self
            .series
            .slots()
            .map(|(slot, s)| Reverse((minute_of(s.last_seen), slot)))
            .collect();
        self.by_last_seen = BinaryHeap::from(entries);
    }

    /// Drops the series not seen for longer than the TTL; returns them (for watch `DELETED`).
    pub fn expire(&mut self, now: Micros) -> Vec<Series> {
        let horizon = minute_of(Micros(now.0.saturating_sub(self.config.ttl_micros)));
        let mut expired = Vec::new();
        while let Some(&Reverse((minute, _))) = self.by_last_seen.peek() {
            if minute >= horizon {
                break;
            }
            // The head may be stale; the oldest live entry decides.
            let Some((minute, slot, id)) = self.pop_oldest() else {
                break;
            };
            if minute >= horizon {
                self.by_last_seen.push(Reverse((minute, slot)));
                break;
            }
            expired.extend(self.remove(&id));
        }
        self.stats.expired += expired.len() as u64;
        expired
    }

    /// Occurrences of series `id` recorded in the minute of `at` (0 for an unknown series or a
    /// minute no longer kept): the input of a [`crate::fold::Folder`] decision.
    pub fn minute_occurrences(&self, id: &SeriesId, at: Micros) -> u64 {
        self.series.get(id).map_or(0, |s| s.history.in_minute(at))
    }

    /// One series.
    pub fn get(&self, id: &SeriesId) -> Option<&Series> {
        self.series.get(id)
    }

    /// The patterns of the series `include` accepts (e.g. those of one namespace), most
    /// occurrences first; ties by reason, then template.
    pub fn patterns(&self, include: impl Fn(&Series) -> bool) -> Vec<Pattern> {
        patterns::group(self.iter().filter(|s| include(s)))
    }

    /// Every series, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = &Series> + '_ {
        self.series.values()
    }

    /// The series changed after `version` (for a watch resuming from it), in no particular order.
    pub fn changed_since(&self, version: u64) -> impl Iterator<Item = &Series> + '_ {
        self.series.values().filter(move |s| s.version > version)
    }

    /// Bytes of the series' text (key fields, template, latest event name and message), the
    /// part [`SeriesConfig::max_bytes`] bounds.
    pub fn text_bytes(&self) -> usize {
        self.text_bytes
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

    /// Counters of the template miner's work.
    pub fn miner_stats(&self) -> MinerStats {
        self.miner.stats()
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
