//! The in-memory head: the current version of every live event, the recent change history that
//! watches resume from, and the expiry index. One writer mutates it; readers share it.

use crate::cold::{cmp_records, Cold};
use crate::cold_scan::scan;
use crate::entry::{Change, ChangeType, StoredEvent};
use crate::fast_map::{FastMap, FastSet};
use crate::history::History;
use crate::hot_key::HotKey;
use crate::pushdown::Pushdown;
use crate::scope::Scope;
use kevents_model::{EventKey, Micros};
use std::collections::{BTreeMap, BTreeSet};
use std::ops::Bound;
use std::sync::Arc;

/// The live state and recent history.
#[derive(Default)]
pub struct Head {
    /// Live events by (cluster, namespace, name): storage key order, like the apiserver lists.
    pub(crate) events: BTreeMap<HotKey, Arc<StoredEvent>>,
    /// Recent changes, for watch resume and lists at older versions.
    pub(crate) history: History,
    /// The version of the last committed change.
    pub resource_version: u64,
    /// (expiry time, key) of every live event.
    pub(crate) expiry: BTreeSet<(Micros, HotKey)>,
    /// Keys of live events by the name of the object they are about.
    pub(crate) by_object: FastMap<String, BTreeSet<HotKey>>,
    /// Live events per cluster (`""`: the hub's own), in the head and the cold tier.
    pub clusters: BTreeMap<String, usize>,
    /// Events not written for a while, on disk.
    pub cold: Cold,
    /// Keys changed while a checkpoint is being written (it must not revive their old rows).
    pub touched: Option<FastSet<EventKey>>,
}

impl Head {
    /// Applies a committed change and records it in the history.
    pub fn apply(&mut self, change: Arc<Change>, ttl_micros: i64) {
        let record = &change.object.record;
        let hot = HotKey::of_record(record);
        // A create has no earlier version anywhere: no lookup.
        let in_head = change.previous.is_some() && self.events.contains_key(&hot);
        if let Some(previous) = change.previous.as_ref().filter(|_| in_head) {
            self.expiry
                .remove(&(expires_at(previous, ttl_micros), hot.clone()));
            self.unindex_object(&previous.record.involved_object.name, &hot);
        }
        // A change to an event that lives in the cold tier retires its row there (it is looked
        // up by its key; only changes to earlier versions build one).
        let key = change.previous.is_some().then(|| record.key());
        let from_cold = !in_head && key.as_ref().is_some_and(|key| self.cold.kill(key));
        match change.change_type {
            ChangeType::Deleted => {
                if self.events.remove(&hot).is_some() || from_cold {
                    self.uncount_cluster(&record.cluster);
                }
            }
            ChangeType::Added | ChangeType::Modified => {
                self.expiry
                    .insert((expires_at(&change.object, ttl_micros), hot.clone()));
                if from_cold {
                    self.index(hot.clone(), &change.object);
                    self.events.insert(hot, change.object.clone());
                } else {
                    self.insert(hot, change.object.clone());
                }
            }
        }
        if let Some(touched) = &mut self.touched {
            touched.insert(key.unwrap_or_else(|| record.key()));
        }
        self.resource_version = change.resource_version;
        self.history.push(change);
    }

    /// The live version of `key`, in the head or the cold tier.
    pub fn current(&self, key: &EventKey) -> Option<Arc<StoredEvent>> {
        match self.events.get(&HotKey::of(key)) {
            Some(event) => Some(event.clone()),
            None => self.cold.get(key),
        }
    }

    /// Live events, in the head and the cold tier.
    pub fn live(&self) -> usize {
        self.events.len() + self.cold.live() as usize
    }

    /// Makes `event` the live version of its key, with its index entries (not its expiry: see
    /// `load`).
    pub(crate) fn insert(&mut self, key: HotKey, event: Arc<StoredEvent>) {
        self.index(key.clone(), &event);
        let record = event.clone();
        if self.events.insert(key, event).is_none() {
            let cluster = record.record.cluster.as_str();
            match self.clusters.get_mut(cluster) {
                Some(count) => *count += 1,
                None => {
                    self.clusters.insert(cluster.to_owned(), 1);
                }
            }
        }
    }

    /// Loads `event` (from a checkpoint) as the live version of its key, with its expiry.
    pub(crate) fn load(&mut self, event: Arc<StoredEvent>, ttl_micros: i64) {
        let key = HotKey::of_record(&event.record);
        self.expiry
            .insert((expires_at(&event, ttl_micros), key.clone()));
        self.insert(key, event);
    }

    /// The hot version of `key`, if the head holds it.
    #[cfg(test)]
    pub(crate) fn hot(&self, key: &EventKey) -> Option<&Arc<StoredEvent>> {
        self.events.get(&HotKey::of(key))
    }

    fn index(&mut self, key: HotKey, event: &StoredEvent) {
        self.by_object
            .entry(event.record.involved_object.name.clone())
            .or_default()
            .insert(key);
    }

    /// Drops `key` from the head when its version is still `rv` (it now lives in a cold file);
    /// true when it did.
    pub fn demote(&mut self, key: &EventKey, rv: u64, ttl_micros: i64) -> bool {
        let key = HotKey::of(key);
        let Some(event) = self.events.remove(&key) else {
            return false;
        };
        if event.record.resource_version != rv {
            // Written again since the checkpoint's plan: it stays (rare, so no lookup first).
            self.events.insert(key, event);
            return false;
        }
        self.unindex_object(&event.record.involved_object.name, &key);
        self.expiry.remove(&(expires_at(&event, ttl_micros), key));
        true
    }

    fn uncount_cluster(&mut self, cluster: &str) {
        if let Some(count) = self.clusters.get_mut(cluster) {
            *count -= 1;
            if *count == 0 {
                self.clusters.remove(cluster);
            }
        }
    }

    fn unindex_object(&mut self, name: &str, key: &HotKey) {
        if let Some(keys) = self.by_object.get_mut(name) {
            keys.remove(key);
            if keys.is_empty() {
                self.by_object.remove(name);
            }
        }
    }

    /// Live events about objects named `name`, in key order after `start_after`; cold events
    /// that `narrow` refuses may be left out (hot ones are not checked).
    pub(crate) fn about_object<'a>(
        &'a self,
        name: &'a str,
        scope: Scope<'a>,
        start_after: Option<&'a EventKey>,
        narrow: Pushdown<'a>,
    ) -> impl Iterator<Item = Arc<StoredEvent>> + 'a {
        let pushdown = Pushdown {
            object: Some(name),
            ..narrow
        };
        let keys = self.by_object.get(name);
        self.spans(scope, start_after)
            .flat_map(move |(lower, span)| {
                let hot = keys
                    .into_iter()
                    .flat_map({
                        let lower = hot_bound(&lower);
                        move |keys| keys.range((lower.clone(), Bound::Unbounded))
                    })
                    .filter_map(|key| self.events.get(key))
                    .take_while(move |event| span.contains_record(&event.record))
                    .filter(move |event| scope.contains_record(&event.record))
                    .cloned();
                let cold = scan(&self.cold, lower, span, pushdown)
                    .filter(move |e| e.record.involved_object.name == name);
                merge_by_key(hot, cold)
            })
    }

    /// Live events in key order after `start_after`, within `scope`.
    pub fn range<'a>(
        &'a self,
        scope: Scope<'a>,
        start_after: Option<&'a EventKey>,
    ) -> impl Iterator<Item = Arc<StoredEvent>> + 'a {
        self.range_where(scope, start_after, Pushdown::default())
    }

    /// Like `range`; cold events that `pushdown` refuses may be left out (hot ones are not
    /// checked).
    pub(crate) fn range_where<'a>(
        &'a self,
        scope: Scope<'a>,
        start_after: Option<&'a EventKey>,
        pushdown: Pushdown<'a>,
    ) -> impl Iterator<Item = Arc<StoredEvent>> + 'a {
        self.spans(scope, start_after)
            .flat_map(move |(lower, span)| {
                let hot = self
                    .events
                    .range((hot_bound(&lower), Bound::Unbounded))
                    .map(|(_, event)| event)
                    .take_while(move |event| span.contains_record(&event.record))
                    .cloned();
                merge_by_key(hot, scan(&self.cold, lower, span, pushdown))
            })
    }

    /// The hot (in-memory) events within `scope`, in key order.
    pub(crate) fn hot_in<'a>(
        &'a self,
        scope: Scope<'a>,
    ) -> impl Iterator<Item = &'a Arc<StoredEvent>> + 'a {
        self.spans(scope, None).flat_map(move |(lower, span)| {
            self.events
                .range((hot_bound(&lower), Bound::Unbounded))
                .map(|(_, event)| event)
                .take_while(move |event| span.contains_record(&event.record))
        })
    }

    /// The contiguous key ranges a scope covers, in key order, each with where it starts: one per
    /// cluster when a namespace is asked for across clusters (keys order by cluster first).
    fn spans<'a>(
        &'a self,
        scope: Scope<'a>,
        start_after: Option<&'a EventKey>,
    ) -> impl Iterator<Item = (Bound<EventKey>, Scope<'a>)> + 'a {
        let clusters: Box<dyn Iterator<Item = Option<&'a str>> + 'a> =
            match (scope.cluster, scope.namespace) {
                (Some(cluster), _) => Box::new(std::iter::once(Some(cluster))),
                (None, None) => Box::new(std::iter::once(None)),
                (None, Some(_)) => Box::new(self.clusters.keys().map(|c| Some(c.as_str()))),
            };
        clusters
            .filter(move |cluster| {
                // Clusters wholly before the continue position have nothing left to list.
                match (cluster, start_after) {
                    (Some(c), Some(after)) => *c >= after.cluster.as_str(),
                    _ => true,
                }
            })
            .map(move |cluster| {
                let span = Scope {
                    cluster,
                    namespace: scope.namespace,
                };
                (lower_bound(span, start_after), span)
            })
    }

    /// Keys (with their versions) whose TTL has passed at `now`, in expiry order (then key
    /// order), at most `limit`, from the head and the cold tier.
    pub fn expired(&self, now: Micros, limit: usize, ttl_micros: i64) -> Vec<(EventKey, u64)> {
        let mut found = self.cold.expired(now, ttl_micros, limit);
        found.extend(
            self.expiry
                .iter()
                .take_while(|(at, _)| *at <= now)
                .take(limit)
                .filter_map(|(at, key)| {
                    self.events
                        .get(key)
                        .map(|e| (*at, e.record.key(), e.record.resource_version))
                }),
        );
        found.sort_unstable();
        found.truncate(limit);
        found.into_iter().map(|(_, key, rv)| (key, rv)).collect()
    }
}

/// Two key-ordered streams of distinct keys as one.
fn merge_by_key(
    a: impl Iterator<Item = Arc<StoredEvent>>,
    b: impl Iterator<Item = Arc<StoredEvent>>,
) -> impl Iterator<Item = Arc<StoredEvent>> {
    let (mut a, mut b) = (a.peekable(), b.peekable());
    std::iter::from_fn(move || match (a.peek(), b.peek()) {
        (Some(x), Some(y)) => {
            if cmp_records(&x.record, &y.record) == std::cmp::Ordering::Less {
                a.next()
            } else {
                b.next()
            }
        }
        (Some(_), None) => a.next(),
        (None, _) => b.next(),
    })
}

/// Where a key-ordered scan of one span starts: at the span's first key, or after the continue
/// key when that lies inside or beyond the span's start.
fn lower_bound(span: Scope<'_>, start_after: Option<&EventKey>) -> Bound<EventKey> {
    let first = span
        .cluster
        .map(|cluster| EventKey::in_cluster(cluster, span.namespace.unwrap_or(""), ""));
    match (first, start_after) {
        (Some(first), Some(after)) if *after < first => Bound::Included(first),
        (_, Some(after)) => Bound::Excluded(after.clone()),
        (Some(first), None) => Bound::Included(first),
        (None, None) => Bound::Unbounded,
    }
}

/// A bound on event keys as a bound on the head's keys.
fn hot_bound(bound: &Bound<EventKey>) -> Bound<HotKey> {
    match bound {
        Bound::Included(key) => Bound::Included(HotKey::of(key)),
        Bound::Excluded(key) => Bound::Excluded(HotKey::of(key)),
        Bound::Unbounded => Bound::Unbounded,
    }
}

/// When an event's TTL runs out: TTL after its last write.
pub fn expires_at(event: &StoredEvent, ttl_micros: i64) -> Micros {
    Micros(event.updated_at.0.saturating_add(ttl_micros))
}

#[cfg(test)]
#[path = "head_tests.rs"]
mod tests;
