//! The two Kubernetes wire forms of an event: decoding request bodies (through k8s-openapi's
//! types) into an [`EventRecord`], and encoding records as core/v1 or events.k8s.io/v1 JSON.

use crate::record::{EventRecord, ObjectRef, Series};
use crate::time::Micros;
use crate::ApiGroup;
use k8s_openapi::api::core::v1 as core;
use k8s_openapi::api::events::v1 as events;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use known_fields::unknown_fields;
use serde::ser::{SerializeMap, Serializer};
use serde::Serialize;
use serde_json::{Map, Value};

/// Why a request body could not be turned into an event.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DecodeError {
    /// The body is not a JSON object, or a field has the wrong type.
    #[error("{0}")]
    Malformed(String),
    /// The body names another kind or API version than the endpoint serves.
    #[error("{0}")]
    WrongType(String),
}

/// A decoded request body: the record plus the metadata a request may carry as preconditions.
#[derive(Debug, Clone, PartialEq)]
pub struct DecodedEvent {
    /// The event as the client sent it (server-owned fields not yet assigned).
    pub record: EventRecord,
    /// `metadata.resourceVersion` as sent, for optimistic concurrency.
    pub resource_version: Option<String>,
    /// `metadata.uid` as sent.
    pub uid: Option<String>,
    /// Fields the schema does not know, as dotted paths (for `fieldValidation`).
    pub unknown_fields: Vec<String>,
    /// `metadata.creationTimestamp` as sent (server-owned: only a collected event keeps it).
    pub creation_timestamp: Option<Micros>,
}

/// Decodes a JSON value as an Event of `group`.
pub fn decode_event(group: ApiGroup, mut value: Value) -> Result<DecodedEvent, DecodeError> {
    let cannot_handle = |err: String| {
        DecodeError::Malformed(format!(
            "Event in version \"{}\" cannot be handled as a Event: {err}",
            group.api_version()
        ))
    };
    let Value::Object(object) = &mut value else {
        return Err(DecodeError::Malformed(unrecognized(&format!(
            "json: cannot unmarshal {} into Go value of type struct {{ APIVersion string \"json:\\\"apiVersion,omitempty\\\"\"; Kind string \"json:\\\"kind,omitempty\\\"\" }}",
            json_type_name(&value)
        ))));
    };
    check_type_meta(group, object)?;
    let unknown_fields = unknown_fields(group, object);
    // Go decodes a missing struct as its zero value; k8s-openapi requires these, so supply them.
    for required in ["metadata", group.involved_object_field()] {
        match object.get(required) {
            None | Some(Value::Null) => {
                object.insert(required.to_string(), Value::Object(Map::new()));
            }
            _ => {}
        }
    }
    // events.k8s.io series fields are required by k8s-openapi but must reach validation.
    let raw_series = match group {
        ApiGroup::Events => object.remove("series"),
        ApiGroup::Core => None,
    };
    let decoded = match group {
        ApiGroup::Core => {
            let event: core::Event =
                serde_json::from_value(value).map_err(|e| cannot_handle(e.to_string()))?;
            from_core(event)
        }
        ApiGroup::Events => {
            let event: events::Event =
                serde_json::from_value(value).map_err(|e| cannot_handle(e.to_string()))?;
            let mut decoded = from_events(event);
            decoded.record.series = decode_loose_series(raw_series).map_err(cannot_handle)?;
            decoded
        }
    };
    Ok(DecodedEvent {
        unknown_fields,
        ..decoded
    })
}

/// Decodes an Event of `group` from JSON text, without listing unknown fields (they are
/// ignored): a core/v1 event goes straight into k8s-openapi's type, skipping the JSON tree;
/// anything that path refuses (and every events.k8s.io event) takes [`decode_event`]'s, which
/// gives the same record or the same error.
pub fn decode_event_text(group: ApiGroup, text: &str) -> Result<DecodedEvent, DecodeError> {
    if let Some(decoded) = decode_core_text(group, text, false) {
        return Ok(decoded);
    }
    let value: Value = serde_json::from_str(text)
        .map_err(|e| DecodeError::Malformed(unrecognized(&e.to_string())))?;
    decode_event(group, value)
}

/// The typed shortcut alone: a core/v1 event decoded from its text straight into k8s-openapi's
/// type, which gives the record [`decode_event`] gives. `None` when the group is not core/v1,
/// the type refuses the text or, when `unknown_fields_matter`, the text holds a field the schema
/// does not know: [`decode_event`]'s path then answers, lists them, or gives the error.
pub fn decode_core_text(
    group: ApiGroup,
    text: &str,
    unknown_fields_matter: bool,
) -> Option<DecodedEvent> {
    let unknown = || known_fields::text_has_unknown_fields(group, text);
    if group != ApiGroup::Core || (unknown_fields_matter && unknown()) {
        return None;
    }
    serde_json::from_str::<core::Event>(text)
        .ok()
        .map(from_core)
}

/// The apiserver's message for a body that is not a JSON object at all.
pub fn unrecognized(parse_error: &str) -> String {
    format!(
        "the object provided is unrecognized (must be of type Event): couldn't get version/kind; \
         json parse error: {parse_error}"
    )
}

fn json_type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Refuses a body whose `kind` or `apiVersion` is not this endpoint's.
pub(crate) fn check_type_meta(
    group: ApiGroup,
    object: &Map<String, Value>,
) -> Result<(), DecodeError> {
    if let Some(kind) = object.get("kind") {
        match kind.as_str() {
            Some("Event") | Some("") => {}
            Some(other) => {
                return Err(DecodeError::WrongType(format!(
                    "{other} in version \"{}\" cannot be handled as a Event: the kind in the body \
                     ({other}) does not match the kind of this endpoint (Event)",
                    group.api_version()
                )))
            }
            None => {
                return Err(DecodeError::Malformed(
                    "kind: expected a string".to_string(),
                ))
            }
        }
    }
    if let Some(api_version) = object.get("apiVersion") {
        match api_version.as_str() {
            Some(v) if v.is_empty() || v == group.api_version() => {}
            Some(other) => {
                return Err(DecodeError::WrongType(format!(
                    "Event in version {other:?} cannot be handled as a Event: no kind \"Event\" is \
                     registered for version {other:?}; this endpoint serves {}",
                    group.api_version()
                )))
            }
            None => {
                return Err(DecodeError::Malformed(
                    "apiVersion: expected a string".to_string(),
                ))
            }
        }
    }
    Ok(())
}

fn decode_loose_series(raw: Option<Value>) -> Result<Option<Series>, String> {
    let Some(raw) = raw else { return Ok(None) };
    if raw.is_null() {
        return Ok(None);
    }
    let series: core::EventSeries = serde_json::from_value(raw).map_err(|e| e.to_string())?;
    Ok(Some(Series {
        count: series.count.unwrap_or(0),
        last_observed: series.last_observed_time.map(|t| Micros::from_jiff(t.0)),
    }))
}

fn object_ref(reference: core::ObjectReference) -> ObjectRef {
    ObjectRef {
        kind: reference.kind.unwrap_or_default(),
        namespace: reference.namespace.unwrap_or_default(),
        name: reference.name.unwrap_or_default(),
        uid: reference.uid.unwrap_or_default(),
        api_version: reference.api_version.unwrap_or_default(),
        resource_version: reference.resource_version.unwrap_or_default(),
        field_path: reference.field_path.unwrap_or_default(),
    }
}

fn record_with_metadata(mut metadata: ObjectMeta) -> DecodedEvent {
    let creation_timestamp = metadata
        .creation_timestamp
        .as_ref()
        .map(|t| Micros::from_jiff(t.0));
    let record = EventRecord {
        namespace: metadata.namespace.take().unwrap_or_default(),
        name: metadata.name.take().unwrap_or_default(),
        generate_name: metadata.generate_name.take().unwrap_or_default(),
        labels: metadata.labels.take().unwrap_or_default(),
        annotations: metadata.annotations.take().unwrap_or_default(),
        ..Default::default()
    };
    let resource_version = metadata.resource_version.take().filter(|v| !v.is_empty());
    let uid = metadata.uid.take().filter(|v| !v.is_empty());
    // Server-owned fields are dropped; the rest of metadata is kept as sent.
    metadata.creation_timestamp = None;
    metadata.deletion_timestamp = None;
    metadata.deletion_grace_period_seconds = None;
    metadata.generation = None;
    metadata.managed_fields = None;
    metadata.self_link = None;
    let extra_metadata = match serde_json::to_value(&metadata) {
        Ok(Value::Object(map)) => map,
        _ => Map::new(),
    };
    DecodedEvent {
        record: EventRecord {
            extra_metadata,
            ..record
        },
        resource_version,
        uid,
        unknown_fields: Vec::new(),
        creation_timestamp,
    }
}

fn from_core(event: core::Event) -> DecodedEvent {
    let mut decoded = record_with_metadata(event.metadata);
    let source = event.source.unwrap_or_default();
    let record = &mut decoded.record;
    record.involved_object = object_ref(event.involved_object);
    record.related = event.related.map(object_ref);
    record.reason = event.reason.unwrap_or_default();
    record.message = event.message.unwrap_or_default();
    record.event_type = event.type_.unwrap_or_default();
    record.action = event.action.unwrap_or_default();
    record.reporting_controller = event.reporting_component.unwrap_or_default();
    record.reporting_instance = event.reporting_instance.unwrap_or_default();
    record.event_time = event.event_time.map(|t| Micros::from_jiff(t.0));
    record.series = event.series.map(|s| Series {
        count: s.count.unwrap_or(0),
        last_observed: s.last_observed_time.map(|t| Micros::from_jiff(t.0)),
    });
    record.source_component = source.component.unwrap_or_default();
    record.source_host = source.host.unwrap_or_default();
    record.first_timestamp = event
        .first_timestamp
        .map(|t| Micros::from_jiff(t.0).truncate_to_seconds());
    record.last_timestamp = event
        .last_timestamp
        .map(|t| Micros::from_jiff(t.0).truncate_to_seconds());
    record.count = event.count.unwrap_or(0);
    decoded
}

fn from_events(event: events::Event) -> DecodedEvent {
    let mut decoded = record_with_metadata(event.metadata);
    let source = event.deprecated_source.unwrap_or_default();
    let record = &mut decoded.record;
    record.involved_object = event.regarding.map(object_ref).unwrap_or_default();
    record.related = event.related.map(object_ref);
    record.reason = event.reason.unwrap_or_default();
    record.message = event.note.unwrap_or_default();
    record.event_type = event.type_.unwrap_or_default();
    record.action = event.action.unwrap_or_default();
    record.reporting_controller = event.reporting_controller.unwrap_or_default();
    record.reporting_instance = event.reporting_instance.unwrap_or_default();
    record.event_time = event.event_time.map(|t| Micros::from_jiff(t.0));
    record.source_component = source.component.unwrap_or_default();
    record.source_host = source.host.unwrap_or_default();
    record.first_timestamp = event
        .deprecated_first_timestamp
        .map(|t| Micros::from_jiff(t.0).truncate_to_seconds());
    record.last_timestamp = event
        .deprecated_last_timestamp
        .map(|t| Micros::from_jiff(t.0).truncate_to_seconds());
    record.count = event.deprecated_count.unwrap_or(0);
    decoded
}

/// A record rendered in one API version's JSON shape, field for field as the apiserver emits it.
pub struct EventView<'a> {
    record: &'a EventRecord,
    group: ApiGroup,
}

impl<'a> EventView<'a> {
    /// A full object with `kind` and `apiVersion` (list items carry them too).
    pub fn new(record: &'a EventRecord, group: ApiGroup) -> EventView<'a> {
        EventView { record, group }
    }
}

/// `metadata` of a record, as `ObjectMeta` JSON.
pub struct MetadataView<'a>(pub &'a EventRecord);

impl Serialize for MetadataView<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let record = self.0;
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("name", &record.name)?;
        if !record.generate_name.is_empty() {
            map.serialize_entry("generateName", &record.generate_name)?;
        }
        map.serialize_entry("namespace", &record.namespace)?;
        if !record.uid.is_empty() {
            map.serialize_entry("uid", &record.uid)?;
        }
        if record.resource_version != 0 {
            map.serialize_entry("resourceVersion", &record.resource_version.to_string())?;
        }
        map.serialize_entry(
            "creationTimestamp",
            &record.creation_timestamp.map(Micros::to_time_string),
        )?;
        if !record.labels.is_empty() {
            map.serialize_entry("labels", &record.labels)?;
        }
        if !record.annotations.is_empty() {
            map.serialize_entry("annotations", &record.annotations)?;
        }
        for (key, value) in &record.extra_metadata {
            map.serialize_entry(key, value)?;
        }
        map.end()
    }
}

struct ObjectRefView<'a>(&'a ObjectRef);

impl Serialize for ObjectRefView<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let r = self.0;
        let mut map = serializer.serialize_map(None)?;
        for (key, value) in [
            ("kind", &r.kind),
            ("namespace", &r.namespace),
            ("name", &r.name),
            ("uid", &r.uid),
            ("apiVersion", &r.api_version),
            ("resourceVersion", &r.resource_version),
            ("fieldPath", &r.field_path),
        ] {
            if !value.is_empty() {
                map.serialize_entry(key, value)?;
            }
        }
        map.end()
    }
}

struct SourceView<'a>(&'a EventRecord);

impl Serialize for SourceView<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        if !self.0.source_component.is_empty() {
            map.serialize_entry("component", &self.0.source_component)?;
        }
        if !self.0.source_host.is_empty() {
            map.serialize_entry("host", &self.0.source_host)?;
        }
        map.end()
    }
}

struct SeriesView<'a>(&'a Series);

impl Serialize for SeriesView<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(2))?;
        map.serialize_entry("count", &self.0.count)?;
        map.serialize_entry(
            "lastObservedTime",
            &self.0.last_observed.map(Micros::to_micro_time_string),
        )?;
        map.end()
    }
}

/// The `eventTime` shown through events.k8s.io/v1 for a legacy event that has none.
///
/// Upstream emits `null`, which the Python client cannot deserialize; kevents shows the
/// first timestamp (or creation time) instead, and treats it as unset when it comes back.
pub fn synthesized_event_time(record: &EventRecord) -> Option<Micros> {
    record.first_timestamp.or(record.creation_timestamp)
}

impl Serialize for EventView<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let r = self.record;
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("kind", "Event")?;
        map.serialize_entry("apiVersion", self.group.api_version())?;
        map.serialize_entry("metadata", &MetadataView(r))?;
        let micro = |t: Option<Micros>| t.map(Micros::to_micro_time_string);
        let time = |t: Option<Micros>| t.map(Micros::to_time_string);
        match self.group {
            ApiGroup::Core => {
                map.serialize_entry("involvedObject", &ObjectRefView(&r.involved_object))?;
                if !r.reason.is_empty() {
                    map.serialize_entry("reason", &r.reason)?;
                }
                if !r.message.is_empty() {
                    map.serialize_entry("message", &r.message)?;
                }
                map.serialize_entry("source", &SourceView(r))?;
                map.serialize_entry("firstTimestamp", &time(r.first_timestamp))?;
                map.serialize_entry("lastTimestamp", &time(r.last_timestamp))?;
                if r.count != 0 {
                    map.serialize_entry("count", &r.count)?;
                }
                if !r.event_type.is_empty() {
                    map.serialize_entry("type", &r.event_type)?;
                }
                map.serialize_entry("eventTime", &micro(r.event_time))?;
                if let Some(series) = &r.series {
                    map.serialize_entry("series", &SeriesView(series))?;
                }
                if !r.action.is_empty() {
                    map.serialize_entry("action", &r.action)?;
                }
                if let Some(related) = &r.related {
                    map.serialize_entry("related", &ObjectRefView(related))?;
                }
                map.serialize_entry("reportingComponent", &r.reporting_controller)?;
                map.serialize_entry("reportingInstance", &r.reporting_instance)?;
            }
            ApiGroup::Events => {
                let event_time = r.event_time.or_else(|| synthesized_event_time(r));
                map.serialize_entry("eventTime", &micro(event_time))?;
                if let Some(series) = &r.series {
                    map.serialize_entry("series", &SeriesView(series))?;
                }
                for (key, value) in [
                    ("reportingController", &r.reporting_controller),
                    ("reportingInstance", &r.reporting_instance),
                    ("action", &r.action),
                    ("reason", &r.reason),
                ] {
                    if !value.is_empty() {
                        map.serialize_entry(key, value)?;
                    }
                }
                map.serialize_entry("regarding", &ObjectRefView(&r.involved_object))?;
                if let Some(related) = &r.related {
                    map.serialize_entry("related", &ObjectRefView(related))?;
                }
                if !r.message.is_empty() {
                    map.serialize_entry("note", &r.message)?;
                }
                if !r.event_type.is_empty() {
                    map.serialize_entry("type", &r.event_type)?;
                }
                map.serialize_entry("deprecatedSource", &SourceView(r))?;
                map.serialize_entry("deprecatedFirstTimestamp", &time(r.first_timestamp))?;
                map.serialize_entry("deprecatedLastTimestamp", &time(r.last_timestamp))?;
                if r.count != 0 {
                    map.serialize_entry("deprecatedCount", &r.count)?;
                }
            }
        }
        map.end()
    }
}

mod known_fields;
mod version;

pub use version::kubernetes_minor;

#[cfg(test)]
mod tests;
