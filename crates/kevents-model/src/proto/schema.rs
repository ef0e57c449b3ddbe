//! The protobuf messages of an Event, as declared by the `generated.proto` files of k8s.io/api
//! v0.37 (core/v1, events/v1) and k8s.io/apimachinery (meta/v1): field numbers, JSON names,
//! and how each value maps between the two encodings. Fields are listed by number, the order
//! Go's generated marshallers write them in.

use crate::ApiGroup;

/// How one field's value is encoded.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Kind {
    /// `string`: UTF-8 bytes.
    String,
    /// `int32` varint.
    Int32,
    /// `int64` varint.
    Int64,
    /// `bool` varint.
    Bool,
    /// `meta/v1.Time`: `{1 seconds, 2 nanos}`; JSON RFC 3339 in whole seconds.
    Time,
    /// `meta/v1.MicroTime`: the same message; JSON RFC 3339 with six fractional digits.
    MicroTime,
    /// `map<string, string>`: repeated `{1 key, 2 value}` entries.
    StringMap,
    /// `meta/v1.FieldsV1`: `{1 raw}` holding JSON, which is the field's JSON value.
    FieldsV1,
    /// An embedded message.
    Message(&'static [Field]),
}

impl Kind {
    /// The wire type this kind is written with, for error messages.
    pub(crate) fn wire_name(self) -> &'static str {
        match self {
            Kind::Int32 | Kind::Int64 | Kind::Bool => "varint",
            _ => "length-delimited",
        }
    }
}

/// One field of a message.
#[derive(Debug)]
pub(crate) struct Field {
    pub number: u32,
    pub name: &'static str,
    pub kind: Kind,
    /// `repeated`.
    pub repeated: bool,
    /// A Go pointer: written only when set, and kept when zero. Other fields are always
    /// written by Go and their zero value means absent.
    pub pointer: bool,
}

const fn field(number: u32, name: &'static str, kind: Kind) -> Field {
    Field {
        number,
        name,
        kind,
        repeated: false,
        pointer: false,
    }
}

const fn pointer(number: u32, name: &'static str, kind: Kind) -> Field {
    Field {
        pointer: true,
        ..field(number, name, kind)
    }
}

const fn repeated(number: u32, name: &'static str, kind: Kind) -> Field {
    Field {
        repeated: true,
        ..field(number, name, kind)
    }
}

/// `runtime.TypeMeta` of the envelope.
pub(crate) const TYPE_META_API_VERSION: u32 = 1;
/// `runtime.TypeMeta` of the envelope.
pub(crate) const TYPE_META_KIND: u32 = 2;
/// `runtime.Unknown.typeMeta`.
pub(crate) const UNKNOWN_TYPE_META: u32 = 1;
/// `runtime.Unknown.raw`: the object's own message.
pub(crate) const UNKNOWN_RAW: u32 = 2;
/// `runtime.Unknown.contentEncoding`.
pub(crate) const UNKNOWN_CONTENT_ENCODING: u32 = 3;
/// `runtime.Unknown.contentType`.
pub(crate) const UNKNOWN_CONTENT_TYPE: u32 = 4;

const OWNER_REFERENCE: &[Field] = &[
    field(1, "kind", Kind::String),
    field(3, "name", Kind::String),
    field(4, "uid", Kind::String),
    field(5, "apiVersion", Kind::String),
    pointer(6, "controller", Kind::Bool),
    pointer(7, "blockOwnerDeletion", Kind::Bool),
];

const MANAGED_FIELDS_ENTRY: &[Field] = &[
    field(1, "manager", Kind::String),
    field(2, "operation", Kind::String),
    field(3, "apiVersion", Kind::String),
    pointer(4, "time", Kind::Time),
    field(6, "fieldsType", Kind::String),
    pointer(7, "fieldsV1", Kind::FieldsV1),
    field(8, "subresource", Kind::String),
];

const OBJECT_META: &[Field] = &[
    field(1, "name", Kind::String),
    field(2, "generateName", Kind::String),
    field(3, "namespace", Kind::String),
    field(4, "selfLink", Kind::String),
    field(5, "uid", Kind::String),
    field(6, "resourceVersion", Kind::String),
    field(7, "generation", Kind::Int64),
    field(8, "creationTimestamp", Kind::Time),
    pointer(9, "deletionTimestamp", Kind::Time),
    pointer(10, "deletionGracePeriodSeconds", Kind::Int64),
    field(11, "labels", Kind::StringMap),
    field(12, "annotations", Kind::StringMap),
    repeated(13, "ownerReferences", Kind::Message(OWNER_REFERENCE)),
    repeated(14, "finalizers", Kind::String),
    repeated(17, "managedFields", Kind::Message(MANAGED_FIELDS_ENTRY)),
];

const OBJECT_REFERENCE: &[Field] = &[
    field(1, "kind", Kind::String),
    field(2, "namespace", Kind::String),
    field(3, "name", Kind::String),
    field(4, "uid", Kind::String),
    field(5, "apiVersion", Kind::String),
    field(6, "resourceVersion", Kind::String),
    field(7, "fieldPath", Kind::String),
];

const EVENT_SOURCE: &[Field] = &[
    field(1, "component", Kind::String),
    field(2, "host", Kind::String),
];

/// core/v1 and events/v1 `EventSeries` have the same fields.
const EVENT_SERIES: &[Field] = &[
    field(1, "count", Kind::Int32),
    field(2, "lastObservedTime", Kind::MicroTime),
];

const CORE_EVENT: &[Field] = &[
    field(1, "metadata", Kind::Message(OBJECT_META)),
    field(2, "involvedObject", Kind::Message(OBJECT_REFERENCE)),
    field(3, "reason", Kind::String),
    field(4, "message", Kind::String),
    field(5, "source", Kind::Message(EVENT_SOURCE)),
    field(6, "firstTimestamp", Kind::Time),
    field(7, "lastTimestamp", Kind::Time),
    field(8, "count", Kind::Int32),
    field(9, "type", Kind::String),
    field(10, "eventTime", Kind::MicroTime),
    pointer(11, "series", Kind::Message(EVENT_SERIES)),
    field(12, "action", Kind::String),
    pointer(13, "related", Kind::Message(OBJECT_REFERENCE)),
    field(14, "reportingComponent", Kind::String),
    field(15, "reportingInstance", Kind::String),
];

const EVENTS_EVENT: &[Field] = &[
    field(1, "metadata", Kind::Message(OBJECT_META)),
    field(2, "eventTime", Kind::MicroTime),
    pointer(3, "series", Kind::Message(EVENT_SERIES)),
    field(4, "reportingController", Kind::String),
    field(5, "reportingInstance", Kind::String),
    field(6, "action", Kind::String),
    field(7, "reason", Kind::String),
    field(8, "regarding", Kind::Message(OBJECT_REFERENCE)),
    pointer(9, "related", Kind::Message(OBJECT_REFERENCE)),
    field(10, "note", Kind::String),
    field(11, "type", Kind::String),
    field(12, "deprecatedSource", Kind::Message(EVENT_SOURCE)),
    field(13, "deprecatedFirstTimestamp", Kind::Time),
    field(14, "deprecatedLastTimestamp", Kind::Time),
    field(15, "deprecatedCount", Kind::Int32),
];

const PRECONDITIONS: &[Field] = &[
    pointer(1, "uid", Kind::String),
    pointer(2, "resourceVersion", Kind::String),
];

/// `meta/v1.DeleteOptions`, the body of a DELETE.
pub(crate) const DELETE_OPTIONS: &[Field] = &[
    pointer(1, "gracePeriodSeconds", Kind::Int64),
    pointer(2, "preconditions", Kind::Message(PRECONDITIONS)),
    pointer(3, "orphanDependents", Kind::Bool),
    pointer(4, "propagationPolicy", Kind::String),
    repeated(5, "dryRun", Kind::String),
    pointer(
        6,
        "ignoreStoreReadErrorWithClusterBreakingPotential",
        Kind::Bool,
    ),
];

/// The Event message of `group`.
pub(crate) fn event(group: ApiGroup) -> &'static [Field] {
    match group {
        ApiGroup::Core => CORE_EVENT,
        ApiGroup::Events => EVENTS_EVENT,
    }
}
