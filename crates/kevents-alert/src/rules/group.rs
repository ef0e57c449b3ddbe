//! What the engine keeps per rule and group: a window of occurrences (coalesced per second, so
//! it is bounded by the window's length, not by the event rate), the latest event, a short list
//! of the objects involved, references to the latest events, and the alert's state machine. Each group counts the bytes it holds,
//! so that the engine can bound them all.
//!
//! Occurrences may be recorded in any time order (a rebuild from the store counts them in key
//! order) and give the same group: the window stays ordered by second, the latest event is the
//! one seen last, the listed objects are those seen most recently.

use super::refs::EventRefs;
use super::rule::Rule;
use kevents_model::{EventRecord, Micros};
use std::collections::{BTreeMap, VecDeque};

/// How many objects a group lists (most recent first); more are summarised as "and others".
pub(super) const OBJECTS_LISTED: usize = 10;

const SECOND: i64 = 1_000_000;
/// What a `String` takes besides its text.
const STRING_BYTES: usize = std::mem::size_of::<String>();
/// What a listed object takes besides its text (its string and when it was seen).
const OBJECT_BYTES: usize = STRING_BYTES + std::mem::size_of::<Micros>();
/// What a label's map entry takes besides its text (two strings and the node's share).
const MAP_ENTRY_BYTES: usize = 2 * STRING_BYTES + 16;

/// The latest event of a group, for annotations.
#[derive(Debug, Clone, Default)]
pub(super) struct Latest {
    pub(super) kind: String,
    pub(super) name: String,
    pub(super) namespace: String,
    pub(super) reason: String,
    pub(super) message: String,
    pub(super) event_type: String,
    pub(super) source: String,
    pub(super) cluster: String,
}

impl Latest {
    /// Bytes the latest event of `event` would hold, without copying it.
    fn bytes_of(event: &EventRecord) -> usize {
        event.involved_object.kind.len()
            + event.involved_object.name.len()
            + event.namespace.len()
            + event.reason.len()
            + event.message.len()
            + event.event_type.len()
            + event.source_name().len()
            + event.cluster.len()
    }

    fn bytes(&self) -> usize {
        self.kind.len()
            + self.name.len()
            + self.namespace.len()
            + self.reason.len()
            + self.message.len()
            + self.event_type.len()
            + self.source.len()
            + self.cluster.len()
    }

    pub(super) fn of(event: &EventRecord) -> Latest {
        Latest {
            kind: event.involved_object.kind.clone(),
            name: event.involved_object.name.clone(),
            namespace: event.namespace.clone(),
            reason: event.reason.clone(),
            message: event.message.clone(),
            event_type: event.event_type.clone(),
            source: event.source_name().to_string(),
            cluster: event.cluster.clone(),
        }
    }

    /// `Kind/name`, or the kind alone for an unnamed object.
    pub(super) fn object(&self) -> String {
        object_text(&self.kind, &self.name)
    }
}

fn object_text(kind: &str, name: &str) -> String {
    if name.is_empty() {
        kind.to_string()
    } else {
        format!("{kind}/{name}")
    }
}

/// One rule's group: the alert it may raise.
#[derive(Debug, Clone)]
pub(super) struct Group {
    pub(super) labels: BTreeMap<String, String>,
    /// Occurrences by second (the second's first occurrence time, count), oldest first.
    pub(super) window: VecDeque<(Micros, u64)>,
    pub(super) first_seen: Micros,
    pub(super) last_seen: Micros,
    pub(super) total: u64,
    pub(super) latest: Latest,
    /// The most recent distinct objects with when each was last seen, newest first, at most
    /// [`OBJECTS_LISTED`].
    pub(super) objects: VecDeque<(Micros, String)>,
    /// True once more objects were seen than are listed.
    pub(super) more_objects: bool,
    /// The latest distinct events that counted, for the alert list.
    pub(super) events: EventRefs,
    pub(super) pending_since: Option<Micros>,
    pub(super) firing_since: Option<Micros>,
}

impl Group {
    pub(super) fn new(labels: BTreeMap<String, String>, at: Micros) -> Group {
        Group {
            labels,
            window: VecDeque::new(),
            first_seen: at,
            last_seen: at,
            total: 0,
            latest: Latest::default(),
            objects: VecDeque::new(),
            more_objects: false,
            events: EventRefs::default(),
            pending_since: None,
            firing_since: None,
        }
    }

    /// Heap and inline bytes the group holds: labels, window, latest event, listed objects,
    /// event references.
    pub(super) fn bytes(&self) -> usize {
        let labels: usize = self
            .labels
            .iter()
            .map(|(k, v)| k.len() + v.len() + MAP_ENTRY_BYTES)
            .sum();
        let objects: usize = self
            .objects
            .iter()
            .map(|(_, o)| o.len() + OBJECT_BYTES)
            .sum();
        std::mem::size_of::<Group>()
            + labels
            + self.window.capacity() * std::mem::size_of::<(Micros, u64)>()
            + self.latest.bytes()
            + objects
            + self.events.bytes()
    }

    /// Bytes `event` would add to a new group (latest event, listed object, reference).
    pub(super) fn event_bytes(event: &EventRecord) -> usize {
        let object = event.involved_object.kind.len() + 1 + event.involved_object.name.len();
        let involved = &event.involved_object;
        let reference = std::mem::size_of::<super::refs::EventRef>()
            + event.cluster.len()
            + event.namespace.len()
            + event.name.len()
            + event.uid.len()
            + event.reason.len()
            + event.event_type.len()
            + involved.kind.len()
            + involved.namespace.len()
            + involved.name.len()
            + involved.uid.len();
        Latest::bytes_of(event) + object + OBJECT_BYTES + reference
    }

    /// Accounts for `added` occurrences of `event` at `at`. The occurrences
    /// always count; the event's text (latest event, object listed, reference) is kept only
    /// within `room` more bytes. Returns false when some of it was not kept for lack of room.
    pub(super) fn record(
        &mut self,
        rule: &Rule,
        event: &EventRecord,
        at: Micros,
        added: u64,
        room: usize,
    ) -> bool {
        let mut room = room;
        let mut kept = true;
        // Only windowed conditions need the occurrences over time.
        if rule.condition.window() > 0 {
            self.count_in_window(at, added);
        }
        self.total += added;
        self.first_seen = self.first_seen.min(at);
        if at >= self.last_seen {
            self.last_seen = at;
            let (before, after) = (self.latest.bytes(), Latest::bytes_of(event));
            if after <= before + room {
                self.latest = Latest::of(event);
                room = (room + before) - after;
            } else {
                kept = false;
            }
        }
        let object = object_text(&event.involved_object.kind, &event.involved_object.name);
        let listed = match self.objects.iter().position(|(_, o)| *o == object) {
            Some(i) => self.objects.remove(i).map(|(seen, o)| (seen.max(at), o)),
            None if object.len() + OBJECT_BYTES <= room => {
                room -= object.len() + OBJECT_BYTES;
                Some((at, object))
            }
            None => {
                kept = false;
                None
            }
        };
        match listed {
            Some((seen, object)) => {
                // Newest first; an object seen at the same time as a listed one goes first.
                let i = self.objects.partition_point(|(s, _)| *s > seen);
                self.objects.insert(i, (seen, object));
                if self.objects.len() > OBJECTS_LISTED {
                    self.objects.pop_back();
                    self.more_objects = true;
                }
            }
            None => self.more_objects = true,
        }
        self.events.record(event, at, room) && kept
    }

    /// Adds `added` occurrences at `at` to the window, in order of their second.
    fn count_in_window(&mut self, at: Micros, added: u64) {
        let second = at.0.div_euclid(SECOND);
        let of = |entry: &(Micros, u64)| entry.0 .0.div_euclid(SECOND);
        match self.window.back_mut() {
            Some(back) if of(back) == second => {
                back.0 = back.0.min(at);
                back.1 += added;
            }
            Some(back) if of(back) > second => {
                let i = self.window.partition_point(|e| of(e) < second);
                match self.window.get_mut(i).filter(|e| of(e) == second) {
                    Some(entry) => {
                        entry.0 = entry.0.min(at);
                        entry.1 += added;
                    }
                    None => self.window.insert(i, (at, added)),
                }
            }
            _ => self.window.push_back((at, added)),
        }
    }

    /// The listed objects, e.g. `Pod/a, Pod/b and others`.
    pub(super) fn objects_text(&self) -> String {
        let listed = Vec::from_iter(self.objects.iter().map(|(_, o)| o.as_str())).join(", ");
        if self.more_objects {
            format!("{listed} and others")
        } else {
            listed
        }
    }

    /// Occurrences within the `window` microseconds before `now`.
    pub(super) fn in_window(&self, now: Micros, window: i64) -> u64 {
        self.window
            .iter()
            .filter(|(at, _)| at.0 > now.0 - window)
            .map(|(_, n)| n)
            .sum()
    }

    /// The occurrences per second that a least-squares line through the rates of ten equal
    /// slices of the last `window` predicts `horizon` after `now` (Prometheus' `predict_linear`
    /// over a `rate` subquery); never below zero.
    pub(super) fn forecast(&self, now: Micros, window: i64, horizon: i64) -> f64 {
        const SLICES: usize = 10;
        let slice = (window / SLICES as i64).max(1);
        let mut counts = [0u64; SLICES];
        for (at, n) in &self.window {
            let age = now.0 - at.0;
            if (0..slice * SLICES as i64).contains(&age) {
                counts[SLICES - 1 - (age / slice) as usize] += n;
            }
        }
        let seconds = slice as f64 / 1e6;
        // x: the middle of each slice, in seconds before now (negative); y: its rate.
        let points: Vec<(f64, f64)> = (0..SLICES)
            .map(|i| {
                let middle = -((SLICES - i) as f64 - 0.5) * seconds;
                (middle, counts[i] as f64 / seconds)
            })
            .collect();
        let n = SLICES as f64;
        let mean_x = points.iter().map(|p| p.0).sum::<f64>() / n;
        let mean_y = points.iter().map(|p| p.1).sum::<f64>() / n;
        let covariance: f64 = points.iter().map(|p| (p.0 - mean_x) * (p.1 - mean_y)).sum();
        let variance: f64 = points.iter().map(|p| (p.0 - mean_x).powi(2)).sum();
        let slope = covariance / variance;
        (mean_y + slope * (horizon as f64 / 1e6 - mean_x)).max(0.0)
    }

    /// The earliest time after `now` at which evaluating this group could give another answer
    /// without a new occurrence: an occurrence leaves the window, the quiet time runs out, or
    /// `for` has been held long enough.
    pub(super) fn next_change(&self, rule: &Rule, now: Micros) -> Option<Micros> {
        let mut due: Option<Micros> = None;
        let mut consider = |at: Micros| {
            if at > now {
                due = Some(due.map_or(at, |d| d.min(at)));
            }
        };
        let window = rule.condition.window();
        if window > 0 {
            if let Some((front, _)) = self.window.front() {
                consider(Micros(front.0 + window));
            }
        }
        consider(Micros(self.last_seen.0 + rule.resolve_after));
        if let (Some(pending), None) = (self.pending_since, self.firing_since) {
            consider(Micros(pending.0 + rule.hold));
        }
        due
    }
}
