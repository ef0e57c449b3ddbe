//! The events behind an alert: each group keeps references to the latest few distinct events
//! that counted in it (newest first), counted in the group's bytes, so that a listed alert
//! names the events that caused it.

use kevents_model::{EventRecord, Micros};
use serde::Serialize;
use std::collections::VecDeque;

/// Distinct events a group keeps references to (the latest ones).
pub const EVENTS_KEPT: usize = 10;

/// The object an event is about, as an [`EventRef`] names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ObjectRef {
    /// Its kind, e.g. `Pod`.
    pub kind: String,
    /// Its namespace (empty for cluster-scoped objects).
    pub namespace: String,
    /// Its name.
    pub name: String,
    /// Its uid, when the event gave one.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub uid: String,
}

/// A stored event that counted in an alert's group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EventRef {
    /// The collected cluster the event came from; empty for the hub's own events.
    pub cluster: String,
    /// The event's namespace.
    pub namespace: String,
    /// The event's name.
    pub name: String,
    /// The event's uid.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub uid: String,
    /// Its reason.
    pub reason: String,
    /// `Normal` or `Warning`.
    #[serde(rename = "type")]
    pub event_type: String,
    /// The object it is about.
    pub involved_object: ObjectRef,
    /// When it last counted in the group.
    #[serde(serialize_with = "crate::alert::rfc3339")]
    pub last_seen: Micros,
    /// Its occurrences (`count` or `series.count`) when it last counted.
    pub count: i32,
}

impl EventRef {
    fn of(event: &EventRecord, at: Micros) -> EventRef {
        let object = &event.involved_object;
        EventRef {
            cluster: event.cluster.clone(),
            namespace: event.namespace.clone(),
            name: event.name.clone(),
            uid: event.uid.clone(),
            reason: event.reason.clone(),
            event_type: event.event_type.clone(),
            involved_object: ObjectRef {
                kind: object.kind.clone(),
                namespace: object.namespace.clone(),
                name: object.name.clone(),
                uid: object.uid.clone(),
            },
            last_seen: at,
            count: event.occurrences(),
        }
    }

    /// Bytes the reference holds, inline and on the heap.
    pub(super) fn bytes(&self) -> usize {
        let object = &self.involved_object;
        Self::bytes_of([
            &self.cluster,
            &self.namespace,
            &self.name,
            &self.uid,
            &self.reason,
            &self.event_type,
            &object.kind,
            &object.namespace,
            &object.name,
            &object.uid,
        ])
    }

    /// Bytes a reference to `event` would hold, without making it.
    fn bytes_for(event: &EventRecord) -> usize {
        let object = &event.involved_object;
        Self::bytes_of([
            &event.cluster,
            &event.namespace,
            &event.name,
            &event.uid,
            &event.reason,
            &event.event_type,
            &object.kind,
            &object.namespace,
            &object.name,
            &object.uid,
        ])
    }

    fn bytes_of(texts: [&String; 10]) -> usize {
        std::mem::size_of::<EventRef>() + texts.iter().map(|t| t.len()).sum::<usize>()
    }

    /// Whether this refers to `event` (the same key; the name differs most often).
    fn is_of(&self, event: &EventRecord) -> bool {
        self.name == event.name
            && self.namespace == event.namespace
            && self.cluster == event.cluster
    }
}

/// The latest distinct events of a group, newest first, at most [`EVENTS_KEPT`].
#[derive(Debug, Clone, Default)]
pub(super) struct EventRefs {
    refs: VecDeque<EventRef>,
}

impl EventRefs {
    /// Notes that `event` counted at `at`, within `room` more bytes (an event already listed
    /// keeps its latest time; the list stays newest first whatever order events are noted in,
    /// and a new one pushes out the oldest past the bound). Returns false when it did not fit.
    pub(super) fn record(&mut self, event: &EventRecord, at: Micros, room: usize) -> bool {
        // Nothing is copied unless the reference is kept: most events noted in a storm or a
        // rebuild change nothing here.
        let listed = self.refs.iter().position(|r| r.is_of(event));
        if listed.is_some_and(|i| self.refs[i].last_seen > at) {
            return true; // listed already, at a later time
        }
        // Newest first; a listed reference is not before this point (it is not later than `at`).
        let index = self.refs.partition_point(|r| r.last_seen > at);
        let mut freed = 0;
        match listed {
            Some(i) => freed += self.refs[i].bytes(),
            // An event older than every one kept is not kept (nor was it lost).
            None if index >= EVENTS_KEPT => return true,
            None if self.refs.len() >= EVENTS_KEPT => {
                freed += self.refs.back().map_or(0, EventRef::bytes);
            }
            None => {}
        }
        if let Some(i) = listed {
            self.refs.remove(i);
        }
        if EventRef::bytes_for(event) > room.saturating_add(freed) {
            return false;
        }
        self.refs.insert(index, EventRef::of(event, at));
        self.refs.truncate(EVENTS_KEPT);
        true
    }

    /// The references, newest first.
    pub(super) fn to_vec(&self) -> Vec<EventRef> {
        self.refs.iter().cloned().collect()
    }

    /// Bytes the references hold.
    pub(super) fn bytes(&self) -> usize {
        self.refs.iter().map(EventRef::bytes).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(name: &str, count: i32) -> EventRecord {
        let mut e = EventRecord {
            namespace: "prod".into(),
            name: name.into(),
            uid: format!("uid-{name}"),
            reason: "BackOff".into(),
            count,
            ..Default::default()
        };
        e.involved_object.kind = "Pod".into();
        e.involved_object.name = name.into();
        e
    }

    #[test]
    fn keeps_the_latest_distinct_events_newest_first_and_bounded() {
        let mut refs = EventRefs::default();
        for i in 0..(EVENTS_KEPT + 5) {
            assert!(refs.record(&event(&format!("e{i}"), 1), Micros(i as i64), usize::MAX));
        }
        // A repeat of a kept event moves it to the front with its new count.
        assert!(refs.record(&event("e7", 4), Micros(100), usize::MAX));
        let kept = refs.to_vec();
        assert_eq!(kept.len(), EVENTS_KEPT);
        assert_eq!(kept[0].name, "e7");
        assert_eq!(kept[0].count, 4);
        assert_eq!(kept[1].name, format!("e{}", EVENTS_KEPT + 4));
        assert_eq!(kept.iter().filter(|r| r.name == "e7").count(), 1);
        assert!(
            !kept.iter().any(|r| r.name == "e4"),
            "the oldest were pushed out"
        );
    }

    #[test]
    fn an_event_that_does_not_fit_the_room_is_not_kept() {
        let mut refs = EventRefs::default();
        assert!(!refs.record(&event("big", 1), Micros(0), 10));
        assert_eq!(refs.bytes(), 0);
        assert!(refs.record(&event("small", 1), Micros(0), 4096));
        assert_eq!(refs.bytes(), refs.to_vec()[0].bytes());
    }

    #[test]
    fn whatever_order_events_are_noted_in_the_latest_distinct_ones_are_kept() {
        // A model: every event's latest time, the EVENTS_KEPT latest of them, newest first.
        let mut seed = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = move |bound: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % bound
        };
        for _ in 0..200 {
            let mut refs = EventRefs::default();
            let mut latest = std::collections::HashMap::new();
            let mut used_times = std::collections::HashSet::new();
            for _ in 0..60 {
                let name = format!("e{}", next(25));
                let at = loop {
                    let at = next(1_000_000) as i64;
                    if used_times.insert(at) {
                        break at;
                    }
                };
                let count = next(9) as i32 + 1;
                assert!(refs.record(&event(&name, count), Micros(at), usize::MAX));
                let entry = latest.entry(name).or_insert((at, count));
                if at > entry.0 {
                    *entry = (at, count);
                }
            }
            let mut expected: Vec<(i64, String, i32)> = latest
                .into_iter()
                .map(|(name, (at, count))| (at, name, count))
                .collect();
            expected.sort_by_key(|e| std::cmp::Reverse(e.0));
            expected.truncate(EVENTS_KEPT);
            let kept: Vec<(i64, String, i32)> = refs
                .to_vec()
                .into_iter()
                .map(|r| (r.last_seen.0, r.name, r.count))
                .collect();
            assert_eq!(kept, expected);
            assert_eq!(
                refs.bytes(),
                refs.to_vec().iter().map(EventRef::bytes).sum::<usize>()
            );
        }
    }
}
