//! client-go's EventCorrelator merging (`tools/record/events_cache.go`), done once on the
//! server for every client. Pure decisions: the caller performs the store writes and reports
//! back what it created.
//!
//! - `identical`: a create whose dedup key (client-go's `getEventKey`) matches an event created
//!   within the window becomes "add its occurrences to that event" (count, lastTimestamp).
//! - `similar`: first client-go's aggregation (`EventAggregatorByReasonFunc`): once
//!   `aggregate_max_events` different messages share source, object, type and reason with no
//!   gap longer than `aggregate_interval`, the event is replaced by one whose message is
//!   `(combined from similar events): <message>`, and repeats of that combined event are then
//!   counted on it like identical events.

#[cfg(test)]
mod tests;

use crate::key::KeyBuffer;
use crate::EventRef;
use hashlink::LruCache;
use kevents_model::{EventRecord, Micros, Series};
use std::collections::VecDeque;
use std::str::FromStr;

/// client-go's prefix of a combined message.
pub const COMBINED_PREFIX: &str = "(combined from similar events): ";

/// Which merging is on (`--dedupe=off|identical|similar`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum DedupeMode {
    /// Every create is stored as sent.
    #[default]
    Off,
    /// Identical events are counted on the first one.
    Identical,
    /// Similar events are combined, then identical ones counted.
    Similar,
}

/// A `--dedupe` value other than `off`, `identical`, `similar`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid dedupe mode {0:?}: want off, identical or similar")]
pub struct DedupeModeError(pub String);

impl FromStr for DedupeMode {
    type Err = DedupeModeError;

    fn from_str(text: &str) -> Result<DedupeMode, DedupeModeError> {
        match text {
            "off" => Ok(DedupeMode::Off),
            "identical" => Ok(DedupeMode::Identical),
            "similar" => Ok(DedupeMode::Similar),
            other => Err(DedupeModeError(other.to_string())),
        }
    }
}

/// Dedup settings; the defaults are client-go's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DedupeConfig {
    /// The mode.
    pub mode: DedupeMode,
    /// Entries of each LRU cache (client-go: 4096).
    pub cache_size: usize,
    /// A repeat counts on the earlier event only if that event's last occurrence is at most
    /// this old (microseconds). client-go has no such limit within a process; default 10 minutes.
    pub window_micros: i64,
    /// Different messages that make events "similar" (client-go: 10).
    pub aggregate_max_events: usize,
    /// Largest gap between similar events before counting starts over (client-go: 600 s).
    pub aggregate_interval_micros: i64,
}

impl Default for DedupeConfig {
    fn default() -> DedupeConfig {
        DedupeConfig {
            mode: DedupeMode::Off,
            cache_size: 4096,
            window_micros: 600 * 1_000_000,
            aggregate_max_events: 10,
            aggregate_interval_micros: 600 * 1_000_000,
        }
    }
}

/// Identifies a cache entry between [`Deduplicator::decide`] and [`Deduplicator::created`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct DedupeKey(u128);

/// What to do with a create.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DedupeDecision {
    /// Store the event as sent, then call [`Deduplicator::created`].
    Create {
        /// Pass to `created`.
        key: DedupeKey,
    },
    /// Store the event with `message` instead of its own (a combined event), then call
    /// [`Deduplicator::created`].
    CreateCombined {
        /// Pass to `created`.
        key: DedupeKey,
        /// `(combined from similar events): <message>`.
        message: String,
    },
    /// Do not create: add `add` occurrences to the existing event `target` (see
    /// [`apply_increment`]); if it no longer exists, call [`Deduplicator::forget`] and create.
    Increment {
        /// Pass to `forget` if `target` is gone.
        key: DedupeKey,
        /// The event to count on.
        target: EventRef,
        /// Occurrences to add: the incoming event's count (at least 1).
        add: i32,
        /// A new message for the target (combined events carry the latest message).
        message: Option<String>,
    },
}

/// Counters for metrics.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DedupeStats {
    /// Creates stored as sent.
    pub created: u64,
    /// Creates turned into combined events.
    pub combined: u64,
    /// Creates counted on an existing event.
    pub incremented: u64,
}

#[derive(Clone, Debug)]
struct Logged {
    target: EventRef,
    last_seen: Micros,
}

#[derive(Clone, Debug)]
struct SimilarGroup {
    /// Hashes of the distinct messages seen, oldest first.
    messages: VecDeque<u64>,
    last_seen: Micros,
}

/// The merging state. One writer: wrap it in a lock.
pub struct Deduplicator {
    config: DedupeConfig,
    logged: LruCache<u128, Logged>,
    similar: LruCache<u128, SimilarGroup>,
    buffer: KeyBuffer,
    stats: DedupeStats,
}

impl std::fmt::Debug for Deduplicator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Deduplicator")
            .field("config", &self.config)
            .field("logged", &self.logged.len())
            .field("similar", &self.similar.len())
            .field("stats", &self.stats)
            .finish()
    }
}

impl Deduplicator {
    /// Empty caches.
    pub fn new(config: DedupeConfig) -> Deduplicator {
        let size = config.cache_size.max(1);
        Deduplicator {
            config,
            logged: LruCache::new(size),
            similar: LruCache::new(size),
            buffer: KeyBuffer::default(),
            stats: DedupeStats::default(),
        }
    }

    /// The settings.
    pub fn config(&self) -> &DedupeConfig {
        &self.config
    }

    /// Counters of decisions.
    pub fn stats(&self) -> DedupeStats {
        self.stats
    }

    /// Decides what a create of `event` in `cluster` at server time `now` becomes.
    pub fn decide(&mut self, cluster: &str, event: &EventRecord, now: Micros) -> DedupeDecision {
        let mut combined = None;
        let key = match self.config.mode {
            DedupeMode::Off => {
                self.stats.created += 1;
                return DedupeDecision::Create { key: DedupeKey(0) };
            }
            DedupeMode::Identical => self.identical_key(cluster, event),
            DedupeMode::Similar => {
                let (group, message) = self.similar_keys(cluster, event);
                if self.is_similar(group, message, now) {
                    combined = Some(format!("{COMBINED_PREFIX}{}", event.message));
                    group
                } else {
                    self.identical_key(cluster, event)
                }
            }
        };
        let window = self.config.window_micros;
        if let Some(logged) = self.logged.get_mut(&key) {
            if now.0.saturating_sub(logged.last_seen.0) <= window {
                logged.last_seen = logged.last_seen.max(now);
                self.stats.incremented += 1;
                return DedupeDecision::Increment {
                    key: DedupeKey(key),
                    target: logged.target.clone(),
                    add: event.occurrences().max(1),
                    message: combined,
                };
            }
        }
        let key = DedupeKey(key);
        match combined {
            Some(message) => {
                self.stats.combined += 1;
                DedupeDecision::CreateCombined { key, message }
            }
            None => {
                self.stats.created += 1;
                DedupeDecision::Create { key }
            }
        }
    }

    /// Records that the event of a `Create`/`CreateCombined` decision was stored as `stored`:
    /// later identical creates count on it.
    pub fn created(&mut self, key: DedupeKey, stored: EventRef, now: Micros) {
        if self.config.mode != DedupeMode::Off {
            self.logged.insert(
                key.0,
                Logged {
                    target: stored,
                    last_seen: now,
                },
            );
        }
    }

    /// Forgets an `Increment` target that no longer exists (deleted or expired).
    pub fn forget(&mut self, key: DedupeKey) {
        self.logged.remove(&key.0);
    }

    /// client-go's `getEventKey` (source, involved object with fieldPath, type, reason,
    /// message), plus what makes it safe across clients and namespaces: cluster, the event's
    /// namespace, reportingController/Instance, action and related. Extra fields only split.
    fn identical_key(&mut self, cluster: &str, event: &EventRecord) -> u128 {
        let object = &event.involved_object;
        let buffer = self.buffer.start();
        buffer
            .field("identical")
            .field(cluster)
            .field(&event.namespace)
            .field(&event.source_component)
            .field(&event.source_host)
            .field(&object.kind)
            .field(&object.namespace)
            .field(&object.name)
            .field(&object.field_path)
            .field(&object.uid)
            .field(&object.api_version)
            .field(&event.event_type)
            .field(&event.reason)
            .field(&event.message)
            .field(&event.reporting_controller)
            .field(&event.reporting_instance)
            .field(&event.action);
        if let Some(related) = &event.related {
            buffer
                .field(&related.kind)
                .field(&related.namespace)
                .field(&related.name)
                .field(&related.uid);
        }
        buffer.hash128()
    }

    /// client-go's `EventAggregatorByReasonFunc`: the group key (source, involved object
    /// without fieldPath, type, reason, reportingController/Instance; plus cluster and
    /// namespace) and the message as the key within the group.
    fn similar_keys(&mut self, cluster: &str, event: &EventRecord) -> (u128, u64) {
        let object = &event.involved_object;
        let group = self
            .buffer
            .start()
            .field("similar")
            .field(cluster)
            .field(&event.namespace)
            .field(&event.source_component)
            .field(&event.source_host)
            .field(&object.kind)
            .field(&object.namespace)
            .field(&object.name)
            .field(&object.uid)
            .field(&object.api_version)
            .field(&event.event_type)
            .field(&event.reason)
            .field(&event.reporting_controller)
            .field(&event.reporting_instance)
            .hash128();
        let message = self.buffer.start().field(&event.message).hash64();
        (group, message)
    }

    /// client-go's `EventAggregate`: records `message` in its group and says whether the group
    /// now holds `aggregate_max_events` distinct messages. A gap longer than the interval
    /// starts the group over. At the limit one message is dropped so the set stays bounded;
    /// Go drops an arbitrary one, this drops the oldest.
    fn is_similar(&mut self, group: u128, message: u64, now: Micros) -> bool {
        let interval = self.config.aggregate_interval_micros;
        let fresh = || SimilarGroup {
            messages: VecDeque::new(),
            last_seen: now,
        };
        let mut record = self.similar.remove(&group).unwrap_or_else(fresh);
        if now.0.saturating_sub(record.last_seen.0) > interval {
            record = fresh();
        }
        if !record.messages.contains(&message) {
            record.messages.push_back(message);
        }
        record.last_seen = now;
        let similar = record.messages.len() >= self.config.aggregate_max_events.max(1);
        if similar {
            record.messages.pop_front();
        }
        self.similar.insert(group, record);
        similar
    }
}

/// Adds `add` occurrences at `at` to a stored event, the way its clients count: a new-style
/// event (with `eventTime`) counts in its events.k8s.io `series` (count, lastObservedTime),
/// started at its current occurrences when it has none; a legacy event in `count` and
/// `lastTimestamp` (second precision). A combined event also takes the latest `message`.
pub fn apply_increment(record: &mut EventRecord, add: i32, at: Micros, message: Option<&str>) {
    let occurrences = record.occurrences();
    if record.series.is_none() && record.event_time.is_some() {
        record.series = Some(Series {
            count: occurrences,
            last_observed: None,
        });
    }
    match &mut record.series {
        Some(series) => {
            series.count = series.count.saturating_add(add);
            series.last_observed = Some(series.last_observed.map_or(at, |last| last.max(at)));
        }
        None => {
            let at = at.truncate_to_seconds();
            record.count = occurrences.saturating_add(add);
            record.last_timestamp = Some(record.last_timestamp.map_or(at, |last| last.max(at)));
        }
    }
    if let Some(message) = message {
        record.message.clear();
        record.message.push_str(message);
    }
}
