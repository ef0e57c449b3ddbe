//! What identifies a series, readable and as a compact hashed id.

use crate::key::KeyBuffer;
use kevents_model::EventRecord;
use std::fmt;
use std::str::FromStr;

/// Compact id of a series: a 128-bit XXH3 hash of its [`SeriesKey`], shown as 32 hex digits.
/// The same key gives the same id in every process and version, so ids survive restarts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SeriesId(pub u128);

impl fmt::Display for SeriesId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:032x}", self.0)
    }
}

/// A series id that is not 32 hex digits.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid series id {0:?}: want 32 hex digits")]
pub struct SeriesIdError(pub String);

impl FromStr for SeriesId {
    type Err = SeriesIdError;

    fn from_str(text: &str) -> Result<SeriesId, SeriesIdError> {
        if text.len() != 32 {
            return Err(SeriesIdError(text.to_string()));
        }
        u128::from_str_radix(text, 16)
            .map(SeriesId)
            .map_err(|_| SeriesIdError(text.to_string()))
    }
}

/// The object a series is about: its uid when the event names one, else kind, namespace and
/// name (all four are kept for display; only the identifying ones are hashed).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct ObjectIdentity<'a> {
    /// `involvedObject.kind`.
    pub kind: &'a str,
    /// `involvedObject.namespace`.
    pub namespace: &'a str,
    /// `involvedObject.name`.
    pub name: &'a str,
    /// `involvedObject.uid`; when set, it alone identifies the object.
    pub uid: &'a str,
}

const CLUSTER: usize = 0;
const NAMESPACE: usize = 1;
const KIND: usize = 2;
const OBJECT_NAMESPACE: usize = 3;
const NAME: usize = 4;
const UID: usize = 5;
const TYPE: usize = 6;
const REASON: usize = 7;
const SOURCE: usize = 8;
const INSTANCE: usize = 9;
const TEMPLATE: usize = 10;
const KEY_FIELDS: usize = 11;
const LATEST_EVENT: usize = 11;
const LATEST_MESSAGE: usize = 12;
const FIELDS: usize = 13;

/// The text of a series: its key fields, then the latest event's name and message, in one
/// allocation (a series is created for most new events, so allocations count).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct SeriesText {
    text: String,
    /// End offset in `text` of each field, in the order of the constants above.
    ends: [u32; FIELDS],
}

impl SeriesText {
    fn field(&self, index: usize) -> &str {
        let start = if index == 0 {
            0
        } else {
            self.ends[index - 1] as usize
        };
        &self.text[start..self.ends[index] as usize]
    }

    /// The key part.
    pub(crate) fn key(&self) -> SeriesKey<'_> {
        SeriesKey {
            cluster: self.field(CLUSTER),
            namespace: self.field(NAMESPACE),
            object: ObjectIdentity {
                kind: self.field(KIND),
                namespace: self.field(OBJECT_NAMESPACE),
                name: self.field(NAME),
                uid: self.field(UID),
            },
            event_type: self.field(TYPE),
            reason: self.field(REASON),
            source: self.field(SOURCE),
            instance: self.field(INSTANCE),
            template: self.field(TEMPLATE),
        }
    }

    pub(crate) fn latest_event(&self) -> &str {
        self.field(LATEST_EVENT)
    }

    pub(crate) fn latest_message(&self) -> &str {
        self.field(LATEST_MESSAGE)
    }

    /// Replaces the latest event's name and message, reusing the allocation when they fit
    /// and giving most of it back when they are much shorter than an earlier one.
    pub(crate) fn set_latest(&mut self, name: &str, message: &str) {
        if self.latest_event() == name && self.latest_message() == message {
            return;
        }
        self.text.truncate(self.ends[KEY_FIELDS - 1] as usize);
        self.text.push_str(name);
        self.ends[LATEST_EVENT] = offset(&self.text);
        self.text.push_str(message);
        self.ends[LATEST_MESSAGE] = offset(&self.text);
        if self.text.capacity() > 2 * self.text.len() + 1024 {
            self.text.shrink_to(rounded_capacity(self.text.len()));
        }
    }

    /// Heap bytes the text takes (its allocation).
    pub(crate) fn bytes(&self) -> usize {
        self.text.capacity()
    }
}

/// Room for `len` bytes and a somewhat longer latest message, in a multiple of 128 bytes.
fn rounded_capacity(len: usize) -> usize {
    (len + 16).div_ceil(128) * 128
}

fn offset(text: &str) -> u32 {
    // Events are at most a few MiB (the request body limit), far below 4 GiB.
    u32::try_from(text.len()).unwrap_or(u32::MAX)
}

/// The readable parts of a series key, borrowed from the series: every stored event belongs
/// to exactly one series.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SeriesKey<'a> {
    /// The cluster the events came from; empty for the hub's own events.
    pub cluster: &'a str,
    /// The events' namespace.
    pub namespace: &'a str,
    /// The involved object.
    pub object: ObjectIdentity<'a>,
    /// `type` (`Normal`, `Warning`).
    pub event_type: &'a str,
    /// `reason`.
    pub reason: &'a str,
    /// The reporting source: `source.component`, else `reportingController`.
    pub source: &'a str,
    /// Where it reported from: `source.host`, else `reportingInstance`.
    pub instance: &'a str,
    /// The message template (see [`crate::template()`]).
    pub template: &'a str,
}

impl<'a> SeriesKey<'a> {
    /// The borrowed form, for hashing and comparing.
    pub(crate) fn parts(&self) -> KeyParts<'a> {
        KeyParts {
            cluster: self.cluster,
            namespace: self.namespace,
            kind: self.object.kind,
            object_namespace: self.object.namespace,
            name: self.object.name,
            uid: self.object.uid,
            event_type: self.event_type,
            reason: self.reason,
            source: self.source,
            instance: self.instance,
        }
    }
}

/// The key fields of one event, borrowed: hashed and compared without allocating.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct KeyParts<'a> {
    pub(crate) cluster: &'a str,
    pub(crate) namespace: &'a str,
    pub(crate) kind: &'a str,
    pub(crate) object_namespace: &'a str,
    pub(crate) name: &'a str,
    pub(crate) uid: &'a str,
    pub(crate) event_type: &'a str,
    pub(crate) reason: &'a str,
    pub(crate) source: &'a str,
    pub(crate) instance: &'a str,
}

impl<'a> KeyParts<'a> {
    /// The key fields of `event` in `cluster`, except the template.
    pub(crate) fn of(cluster: &'a str, event: &'a EventRecord) -> KeyParts<'a> {
        let object = &event.involved_object;
        let instance = if event.source_host.is_empty() {
            &event.reporting_instance
        } else {
            &event.source_host
        };
        KeyParts {
            cluster,
            namespace: &event.namespace,
            kind: &object.kind,
            object_namespace: &object.namespace,
            name: &object.name,
            uid: &object.uid,
            event_type: &event.event_type,
            reason: &event.reason,
            source: event.source_name(),
            instance,
        }
    }

    /// The series id of these parts with `template`.
    pub(crate) fn id(&self, template: &str, buffer: &mut KeyBuffer) -> SeriesId {
        let buffer = buffer.start().field(self.cluster).field(self.namespace);
        if self.uid.is_empty() {
            buffer
                .field("object")
                .field(self.kind)
                .field(self.object_namespace)
                .field(self.name);
        } else {
            buffer.field("uid").field(self.uid);
        }
        let id = buffer
            .field(self.event_type)
            .field(self.reason)
            .field(self.source)
            .field(self.instance)
            .field(template)
            .hash128();
        SeriesId(id)
    }

    /// A 64-bit id of the involved object alone, for counting distinct objects.
    pub(crate) fn object_id(&self, buffer: &mut KeyBuffer) -> u64 {
        let buffer = buffer.start().field(self.cluster);
        if self.uid.is_empty() {
            buffer
                .field(self.kind)
                .field(self.object_namespace)
                .field(self.name)
                .hash64()
        } else {
            buffer.field(self.uid).hash64()
        }
    }

    /// The text of a new series with these parts, `template`, and its first event.
    pub(crate) fn to_text(self, template: &str, name: &str, message: &str) -> SeriesText {
        let fields: [&str; FIELDS] = [
            self.cluster,
            self.namespace,
            self.kind,
            self.object_namespace,
            self.name,
            self.uid,
            self.event_type,
            self.reason,
            self.source,
            self.instance,
            template,
            name,
            message,
        ];
        // Room for a somewhat longer latest message without reallocating, rounded up to a
        // multiple of 128 bytes: series come and go all the time, and blocks of few distinct
        // sizes are reused by the allocator instead of being split and merged.
        let needed = fields.iter().map(|f| f.len()).sum::<usize>();
        let mut text = String::with_capacity(rounded_capacity(needed));
        let mut ends = [0u32; FIELDS];
        for (end, field) in ends.iter_mut().zip(fields) {
            text.push_str(field);
            *end = offset(&text);
        }
        SeriesText { text, ends }
    }
}
