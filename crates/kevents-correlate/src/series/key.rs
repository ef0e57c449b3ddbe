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
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct ObjectIdentity {
    /// `involvedObject.kind`.
    pub kind: String,
    /// `involvedObject.namespace`.
    pub namespace: String,
    /// `involvedObject.name`.
    pub name: String,
    /// `involvedObject.uid`; when set, it alone identifies the object.
    pub uid: String,
}

/// The readable parts of a series key: every stored event belongs to exactly one series.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct SeriesKey {
    /// The cluster the events came from; empty for the hub's own events.
    pub cluster: String,
    /// The events' namespace.
    pub namespace: String,
    /// The involved object.
    pub object: ObjectIdentity,
    /// `type` (`Normal`, `Warning`).
    pub event_type: String,
    /// `reason`.
    pub reason: String,
    /// The reporting source: `source.component`, else `reportingController`.
    pub source: String,
    /// Where it reported from: `source.host`, else `reportingInstance`.
    pub instance: String,
    /// The message template (see [`crate::template`]).
    pub template: String,
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

    /// The owned key.
    pub(crate) fn to_key(self, template: &str) -> SeriesKey {
        SeriesKey {
            cluster: self.cluster.to_string(),
            namespace: self.namespace.to_string(),
            object: ObjectIdentity {
                kind: self.kind.to_string(),
                namespace: self.object_namespace.to_string(),
                name: self.name.to_string(),
                uid: self.uid.to_string(),
            },
            event_type: self.event_type.to_string(),
            reason: self.reason.to_string(),
            source: self.source.to_string(),
            instance: self.instance.to_string(),
            template: template.to_string(),
        }
    }
}

impl SeriesKey {
    /// The borrowed form, for hashing.
    pub(crate) fn parts(&self) -> KeyParts<'_> {
        KeyParts {
            cluster: &self.cluster,
            namespace: &self.namespace,
            kind: &self.object.kind,
            object_namespace: &self.object.namespace,
            name: &self.object.name,
            uid: &self.object.uid,
            event_type: &self.event_type,
            reason: &self.reason,
            source: &self.source,
            instance: &self.instance,
        }
    }
}
