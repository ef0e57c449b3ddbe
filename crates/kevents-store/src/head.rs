//! The in-memory head: the current version of every live event, the recent change history that
//! watches resume from, and the expiry index. One writer mutates it; readers share it.

use crate::entry::{Change, ChangeType, StoredEvent};
use kevents_model::{EventKey, Micros};
use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::ops::Bound;
use std::sync::Arc;

/// The live state and recent history.
#[derive(Default)]
pub struct Head {
    /// Live events by (namespace, name): storage key order, like the apiserver lists.
    pub events: BTreeMap<EventKey, Arc<StoredEvent>>,
    /// Recent changes in resourceVersion order, for watch resume.
    pub history: VecDeque<Arc<Change>>,
    /// Changes at or below this version are no longer in `history`.
    pub compacted_rv: u64,
    /// The version of the last committed change.
    pub resource_version: u64,
    /// (expiry time, key) of every live event.
    pub expiry: BTreeSet<(Micros, EventKey)>,
    /// Keys of live events by the name of the object they are about.
    pub by_object: HashMap<String, BTreeSet<EventKey>>,
}

impl Head {
    /// Applies a committed change and records it in the history.
    pub fn apply(&mut self, change: Arc<Change>, ttl_micros: i64) {
        let key = change.object.record.key();
        if let Some(previous) = &change.previous {
            self.expiry
                .remove(&(expires_at(previous, ttl_micros), key.clone()));
            self.unindex_object(&previous.record.involved_object.name, &key);
        }
        match change.change_type {
            ChangeType::Deleted => {
                self.events.remove(&key);
            }
            ChangeType::Added | ChangeType::Modified => {
                self.expiry
                    .insert((expires_at(&change.object, ttl_micros), key.clone()));
                self.index_object(&change.object, key.clone());
                self.events.insert(key, change.object.clone());
            }
        }
        self.resource_version = change.resource_version;
        self.history.push_back(change);
    }

    /// Adds a live event to the object-name index.
    pub fn index_object(&mut self, event: &StoredEvent, key: EventKey) {
        self.by_object
            .entry(event.record.involved_object.name.clone())
            .or_default()
            .insert(key);
    }

    fn unindex_object(&mut self, name: &str, key: &EventKey) {
        if let Some(keys) = self.by_object.get_mut(name) {
            keys.remove(key);
            if keys.is_empty() {
                self.by_object.remove(name);
            }
        }
    }

    /// Live events about objects named `name`, in key order after `start_after`.
    pub fn about_object<'a>(
        &'a self,
        name: &str,
        namespace: Option<&'a str>,
        start_after: Option<&'a EventKey>,
    ) -> impl Iterator<Item = &'a Arc<StoredEvent>> + 'a {
        let lower = lower_bound(namespace, start_after);
        self.by_object
            .get(name)
            .into_iter()
            .flat_map(move |keys| keys.range((lower.clone(), Bound::Unbounded)))
            .take_while(move |key| namespace.is_none_or(|ns| key.namespace == ns))
            .filter_map(|key| self.events.get(key))
    }

    /// Drops history beyond `limit` entries or committed before `oldest`.
    pub fn trim_history(&mut self, limit: usize, oldest: Micros) {
        while let Some(front) = self.history.front() {
            if self.history.len() <= limit && front.committed_at >= oldest {
                break;
            }
            self.compacted_rv = front.resource_version;
            self.history.pop_front();
        }
    }

    /// Changes after `rv`, or `None` when some of them are no longer retained.
    pub fn changes_after(&self, rv: u64) -> Option<Vec<Arc<Change>>> {
        if rv < self.compacted_rv {
            return None;
        }
        let start = self
            .history
            .partition_point(|change| change.resource_version <= rv);
        Some(self.history.range(start..).cloned().collect())
    }

    /// Live events in key order after `start_after`, within `namespace` when given.
    pub fn range<'a>(
        &'a self,
        namespace: Option<&'a str>,
        start_after: Option<&'a EventKey>,
    ) -> impl Iterator<Item = &'a Arc<StoredEvent>> + 'a {
        let lower = lower_bound(namespace, start_after);
        self.events
            .range((lower, Bound::Unbounded))
            .take_while(move |(key, _)| namespace.is_none_or(|ns| key.namespace == ns))
            .map(|(_, event)| event)
    }

    /// Keys (with their versions) whose TTL has passed at `now`, oldest first, at most `limit`.
    pub fn expired(&self, now: Micros, limit: usize) -> Vec<(EventKey, u64)> {
        self.expiry
            .iter()
            .take_while(|(at, _)| *at <= now)
            .take(limit)
            .filter_map(|(_, key)| {
                self.events
                    .get(key)
                    .map(|e| (key.clone(), e.record.resource_version))
            })
            .collect()
    }
}

/// Where a key-ordered scan starts: after a continue key, else at the namespace's first key.
fn lower_bound(namespace: Option<&str>, start_after: Option<&EventKey>) -> Bound<EventKey> {
    match (start_after, namespace) {
        (Some(key), _) => Bound::Excluded(key.clone()),
        (None, Some(ns)) => Bound::Included(EventKey::new(ns, "")),
        (None, None) => Bound::Unbounded,
    }
}

/// When an event's TTL runs out: TTL after its last write.
pub fn expires_at(event: &StoredEvent, ttl_micros: i64) -> Micros {
    Micros(event.updated_at.0.saturating_add(ttl_micros))
}

#[cfg(test)]
mod tests {
    use super::*;
    use kevents_model::EventRecord;

    fn change(rv: u64, ns: &str, name: &str, change_type: ChangeType, at: i64) -> Arc<Change> {
        let record = EventRecord {
            namespace: ns.into(),
            name: name.into(),
            resource_version: rv,
            ..Default::default()
        };
        Arc::new(Change {
            resource_version: rv,
            change_type,
            object: Arc::new(StoredEvent {
                record,
                updated_at: Micros(at),
            }),
            previous: None,
            committed_at: Micros(at),
        })
    }

    #[test]
    fn range_respects_namespace_and_cursor() {
        let mut head = Head::default();
        for (rv, ns, name) in [(1, "a", "x"), (2, "b", "x"), (3, "b", "y"), (4, "c", "z")] {
            head.apply(change(rv, ns, name, ChangeType::Added, 0), 100);
        }
        let names = |it: Vec<&Arc<StoredEvent>>| {
            it.iter()
                .map(|e| format!("{}/{}", e.record.namespace, e.record.name))
                .collect::<Vec<_>>()
        };
        assert_eq!(names(head.range(Some("b"), None).collect()), ["b/x", "b/y"]);
        let cursor = EventKey::new("b", "x");
        assert_eq!(
            names(head.range(Some("b"), Some(&cursor)).collect()),
            ["b/y"]
        );
        assert_eq!(
            names(head.range(None, Some(&cursor)).collect()),
            ["b/y", "c/z"]
        );
    }

    #[test]
    fn history_trim_makes_old_versions_unwatchable() {
        let mut head = Head::default();
        for rv in 1..=5 {
            head.apply(
                change(rv, "a", &format!("e{rv}"), ChangeType::Added, rv as i64),
                100,
            );
        }
        assert_eq!(head.changes_after(0).unwrap().len(), 5);
        head.trim_history(3, Micros(0));
        assert_eq!(head.compacted_rv, 2);
        assert!(head.changes_after(1).is_none());
        assert_eq!(head.changes_after(2).unwrap().len(), 3);
        assert_eq!(head.changes_after(4).unwrap().len(), 1);
        head.trim_history(10, Micros(5));
        assert_eq!(head.compacted_rv, 4);
    }

    #[test]
    fn expiry_follows_last_write() {
        let mut head = Head::default();
        head.apply(change(1, "a", "x", ChangeType::Added, 0), 10);
        assert_eq!(head.expired(Micros(10), 10).len(), 1);
        let mut update = (*change(2, "a", "x", ChangeType::Modified, 5)).clone();
        update.previous = head.events.get(&EventKey::new("a", "x")).cloned();
        head.apply(Arc::new(update), 10);
        assert!(head.expired(Micros(10), 10).is_empty());
        assert_eq!(
            head.expired(Micros(15), 10),
            vec![(EventKey::new("a", "x"), 2)]
        );
    }
}
