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
    /// Live events per cluster (`""`: the hub's own).
    pub clusters: BTreeMap<String, usize>,
}

/// Which part of the key space a read covers: one cluster or all, one namespace or all.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Scope<'a> {
    /// Only this cluster (`""`: the hub's own events), when set.
    pub cluster: Option<&'a str>,
    /// Only this namespace, when set.
    pub namespace: Option<&'a str>,
}

impl Scope<'_> {
    /// Everything.
    pub const ALL: Scope<'static> = Scope {
        cluster: None,
        namespace: None,
    };

    /// True when `key` is inside the scope.
    pub fn contains(&self, key: &EventKey) -> bool {
        self.cluster.is_none_or(|c| key.cluster == c)
            && self.namespace.is_none_or(|ns| key.namespace == ns)
    }
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
                if self.events.remove(&key).is_some() {
                    self.uncount_cluster(&key.cluster);
                }
            }
            ChangeType::Added | ChangeType::Modified => {
                self.expiry
                    .insert((expires_at(&change.object, ttl_micros), key.clone()));
                self.insert(key, change.object.clone());
            }
        }
        self.resource_version = change.resource_version;
        self.history.push_back(change);
    }

    /// Makes `event` the live version of `key`, with its index entries.
    pub fn insert(&mut self, key: EventKey, event: Arc<StoredEvent>) {
        self.by_object
            .entry(event.record.involved_object.name.clone())
            .or_default()
            .insert(key.clone());
        let cluster = key.cluster.clone();
        if self.events.insert(key, event).is_none() {
            *self.clusters.entry(cluster).or_default() += 1;
        }
    }

    fn uncount_cluster(&mut self, cluster: &str) {
        if let Some(count) = self.clusters.get_mut(cluster) {
            *count -= 1;
            if *count == 0 {
                self.clusters.remove(cluster);
            }
        }
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
        scope: Scope<'a>,
        start_after: Option<&'a EventKey>,
    ) -> impl Iterator<Item = &'a Arc<StoredEvent>> + 'a {
        let keys = self.by_object.get(name);
        self.spans(scope, start_after)
            .flat_map(move |(lower, span)| {
                keys.into_iter()
                    .flat_map(move |keys| keys.range((lower.clone(), Bound::Unbounded)))
                    .take_while(move |key| span.contains(key))
                    .filter(move |key| scope.contains(key))
                    .filter_map(|key| self.events.get(key))
            })
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

    /// Live events in key order after `start_after`, within `scope`.
    pub fn range<'a>(
        &'a self,
        scope: Scope<'a>,
        start_after: Option<&'a EventKey>,
    ) -> impl Iterator<Item = &'a Arc<StoredEvent>> + 'a {
        self.spans(scope, start_after)
            .flat_map(move |(lower, span)| {
                self.events
                    .range((lower, Bound::Unbounded))
                    .take_while(move |(key, _)| span.contains(key))
                    .map(|(_, event)| event)
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
        let ns = |namespace| Scope {
            cluster: None,
            namespace: Some(namespace),
        };
        assert_eq!(names(head.range(ns("b"), None).collect()), ["b/x", "b/y"]);
        let cursor = EventKey::new("b", "x");
        assert_eq!(names(head.range(ns("b"), Some(&cursor)).collect()), ["b/y"]);
        assert_eq!(
            names(head.range(Scope::ALL, Some(&cursor)).collect()),
            ["b/y", "c/z"]
        );
    }

    fn clustered(rv: u64, cluster: &str, ns: &str, name: &str) -> Arc<Change> {
        let mut change = (*change(rv, ns, name, ChangeType::Added, 0)).clone();
        let mut object = (*change.object).clone();
        object.record.cluster = cluster.into();
        object.record.involved_object.name = "web-0".into();
        change.object = Arc::new(object);
        Arc::new(change)
    }

    #[test]
    fn range_of_a_namespace_across_clusters_resumes_inside_any_cluster() {
        let mut head = Head::default();
        let layout = [
            ("", "a", "1"),
            ("", "b", "2"),
            ("p", "a", "3"),
            ("p", "b", "4"),
        ];
        for (rv, (cluster, ns, name)) in layout.into_iter().enumerate() {
            head.apply(clustered(rv as u64 + 1, cluster, ns, name), 100);
        }
        head.apply(clustered(5, "q", "a", "5"), 100);
        let names = |it: Vec<&Arc<StoredEvent>>| {
            it.iter().map(|e| e.record.name.clone()).collect::<Vec<_>>()
        };
        let ns_a = Scope {
            cluster: None,
            namespace: Some("a"),
        };
        assert_eq!(names(head.range(ns_a, None).collect()), ["1", "3", "5"]);
        let after_local = EventKey::in_cluster("", "a", "1");
        assert_eq!(
            names(head.range(ns_a, Some(&after_local)).collect()),
            ["3", "5"]
        );
        let after_p = EventKey::in_cluster("p", "a", "3");
        assert_eq!(names(head.range(ns_a, Some(&after_p)).collect()), ["5"]);
        let only_p = Scope {
            cluster: Some("p"),
            namespace: None,
        };
        assert_eq!(names(head.range(only_p, None).collect()), ["3", "4"]);
        assert_eq!(
            names(
                head.about_object("web-0", ns_a, Some(&after_local))
                    .collect()
            ),
            ["3", "5"]
        );
        assert_eq!(
            names(head.about_object("web-0", only_p, None).collect()),
            ["3", "4"]
        );
        assert_eq!(head.clusters.get("p"), Some(&2));
        let mut delete = (*clustered(6, "p", "a", "3")).clone();
        delete.change_type = ChangeType::Deleted;
        head.apply(Arc::new(delete), 100);
        assert_eq!(head.clusters.get("p"), Some(&1));
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
