//! Component schemas of the OpenAPI documents: Event of both groups and the meta/v1 types.

use super::layout::{Layout, CORE, EVENTS, META, VERSION};
use kevents_model::ApiGroup;
use serde_json::{json, Map, Value};

pub(super) fn meta(kind: &str) -> String {
    format!("{META}.{kind}")
}

fn core(kind: &str) -> String {
    format!("{CORE}.{kind}")
}

pub(super) fn reference(name: &str) -> Value {
    json!({ "$ref": format!("#/components/schemas/{name}") })
}

/// A property holding a struct value: upstream's `allOf` wrapper with `default: {}`.
fn embedded(name: &str, description: &str) -> Value {
    json!({ "description": description, "default": {}, "allOf": [reference(name)] })
}

/// A property holding an optional struct or a time (a string), wrapped in `allOf`.
fn optional(name: &str, description: &str) -> Value {
    json!({ "description": description, "allOf": [reference(name)] })
}

fn typed(ty: &str, description: &str) -> Value {
    json!({ "type": ty, "description": description })
}

fn string(description: &str) -> Value {
    typed("string", description)
}

fn integer(format: &str, description: &str) -> Value {
    json!({ "type": "integer", "format": format, "description": description })
}

/// An array property whose items are the named struct.
fn array_of(name: &str, description: &str) -> Value {
    let items = json!({ "default": {}, "allOf": [reference(name)] });
    json!({ "type": "array", "description": description, "items": items })
}

/// An array property of strings.
fn strings(description: &str) -> Value {
    let items = json!({ "type": "string", "default": "" });
    json!({ "type": "array", "description": description, "items": items })
}

/// An object schema with `properties`, plus the `extra` keys (required, extensions).
fn object(description: &str, properties: Value, extra: Value) -> Value {
    let mut schema = json!({ "type": "object", "description": description });
    schema["properties"] = properties;
    if let (Value::Object(schema), Value::Object(extra)) = (&mut schema, extra) {
        schema.extend(extra);
    }
    schema
}

/// The `x-kubernetes-group-version-kind` of a top-level schema.
fn gvk(group: &str, kind: &str) -> Value {
    let gvk = json!({ "group": group, "kind": kind, "version": VERSION });
    json!({ "x-kubernetes-group-version-kind": [gvk] })
}

fn api_version() -> Value {
    string("APIVersion defines the versioned schema of this representation of an object.")
}

fn kind() -> Value {
    string("Kind is a string value representing the REST resource this object represents.")
}

pub(super) fn schemas(layout: Layout) -> Map<String, Value> {
    let mut schemas = meta_schemas();
    schemas.insert(core("ObjectReference"), object_reference());
    schemas.insert(core("EventSource"), event_source());
    schemas.insert(layout.schema("EventSeries"), event_series(layout));
    schemas.insert(layout.schema("EventList"), event_list(layout));
    let event = match layout.group {
        ApiGroup::Core => core_event(),
        ApiGroup::Events => events_event(),
    };
    schemas.insert(layout.schema("Event"), event);
    schemas
}

fn core_event() -> Value {
    let properties = json!({
        "apiVersion": api_version(),
        "kind": kind(),
        "metadata": embedded(&meta("ObjectMeta"), "Standard object's metadata."),
        "involvedObject": embedded(&core("ObjectReference"), "The object this event is about."),
        "reason": string("Short, machine understandable reason for the object's status."),
        "message": string("A human-readable description of the status of this operation."),
        "source": embedded(&core("EventSource"), "The component reporting this event."),
        "firstTimestamp": optional(&meta("Time"), "When the event was first recorded."),
        "lastTimestamp": optional(&meta("Time"), "When the most recent occurrence was recorded."),
        "count": integer("int32", "The number of times this event has occurred."),
        "type": string("Type of this event (Normal, Warning)."),
        "eventTime": optional(&meta("MicroTime"), "Time when this Event was first observed."),
        "series": optional(&core("EventSeries"), "Data about the series this event represents."),
        "action": string("What action was taken/failed regarding the involved object."),
        "related": optional(&core("ObjectReference"), "Optional secondary object."),
        "reportingComponent": string("Name of the controller that emitted this Event."),
        "reportingInstance": string("ID of the controller instance."),
    });
    let mut extra = gvk("", "Event");
    extra["required"] = json!(["metadata", "involvedObject"]);
    object(
        "Event is a report of an event somewhere in the cluster.",
        properties,
        extra,
    )
}

fn events_event() -> Value {
    let properties = json!({
        "apiVersion": api_version(),
        "kind": kind(),
        "metadata": embedded(&meta("ObjectMeta"), "Standard object's metadata."),
        "eventTime": optional(&meta("MicroTime"), "The time when this Event was first observed."),
        "series": optional(&format!("{EVENTS}.EventSeries"), "Data about the Event series."),
        "reportingController": string("The name of the controller that emitted this Event."),
        "reportingInstance": string("The ID of the controller instance."),
        "action": string("What action was taken/failed regarding the regarding object."),
        "reason": string("Why the action was taken, in a machine understandable form."),
        "regarding": embedded(&core("ObjectReference"), "The object this Event is about."),
        "related": optional(&core("ObjectReference"), "Optional secondary object."),
        "note": string("A human-readable description of the status of this operation."),
        "type": string("The type of this event (Normal, Warning)."),
        "deprecatedSource": embedded(&core("EventSource"), "The core/v1 source field."),
        "deprecatedFirstTimestamp": optional(&meta("Time"), "The core/v1 firstTimestamp field."),
        "deprecatedLastTimestamp": optional(&meta("Time"), "The core/v1 lastTimestamp field."),
        "deprecatedCount": integer("int32", "The core/v1 count field."),
    });
    let mut extra = gvk("events.k8s.io", "Event");
    extra["required"] = json!(["eventTime"]);
    object(
        "Event is a report of an event somewhere in the cluster.",
        properties,
        extra,
    )
}

fn event_list(layout: Layout) -> Value {
    let properties = json!({
        "apiVersion": api_version(),
        "kind": kind(),
        "metadata": embedded(&meta("ListMeta"), "Standard list metadata."),
        "items": array_of(&layout.schema("Event"), "A list of events."),
    });
    let mut extra = gvk(layout.group.group_name(), "EventList");
    extra["required"] = json!(["items"]);
    object("EventList is a list of Event objects.", properties, extra)
}

fn event_series(layout: Layout) -> Value {
    let properties = json!({
        "count": integer("int32", "Number of occurrences in this series up to the last heartbeat."),
        "lastObservedTime": optional(&meta("MicroTime"), "Time of the last occurrence observed."),
    });
    let extra = match layout.group {
        ApiGroup::Core => json!({}),
        ApiGroup::Events => json!({ "required": ["count", "lastObservedTime"] }),
    };
    object(
        "EventSeries describes a series of occurrences of an event.",
        properties,
        extra,
    )
}

fn event_source() -> Value {
    let properties = json!({
        "component": string("Component from which the event is generated."),
        "host": string("Node name on which the event is generated."),
    });
    object(
        "EventSource contains information for an event.",
        properties,
        json!({}),
    )
}

fn object_reference() -> Value {
    let properties = json!({
        "kind": string("Kind of the referent."),
        "namespace": string("Namespace of the referent."),
        "name": string("Name of the referent."),
        "uid": string("UID of the referent."),
        "apiVersion": string("API version of the referent."),
        "resourceVersion": string("Specific resourceVersion to which this reference is made."),
        "fieldPath": string("The path to the referred piece of the object, if not all of it."),
    });
    let extra = json!({ "x-kubernetes-map-type": "atomic" });
    object(
        "ObjectReference identifies a referred object.",
        properties,
        extra,
    )
}

fn meta_schemas() -> Map<String, Value> {
    let time = |description| {
        let mut time = string(description);
        time["format"] = json!("date-time");
        time
    };
    let watch_event = json!({
        "type": string("The kind of change: ADDED, MODIFIED, DELETED, BOOKMARK or ERROR."),
        "object": typed("object", "The object after the change, or a Status for ERROR."),
    });
    let required = json!({ "required": ["type", "object"] });
    let mut schemas = Map::new();
    schemas.insert(meta("ObjectMeta"), object_meta());
    schemas.insert(meta("OwnerReference"), owner_reference());
    schemas.insert(meta("ManagedFieldsEntry"), managed_fields_entry());
    schemas.insert(meta("ListMeta"), list_meta());
    schemas.insert(
        meta("Time"),
        time("A timestamp with second precision, in RFC 3339 form."),
    );
    schemas.insert(
        meta("MicroTime"),
        time("A timestamp with microsecond precision (RFC 3339)."),
    );
    schemas.insert(meta("Status"), status());
    schemas.insert(meta("DeleteOptions"), delete_options());
    schemas.insert(
        meta("Patch"),
        typed("object", "The body of a PATCH request."),
    );
    let watch_event = object(
        "A single change to a watched resource.",
        watch_event,
        required,
    );
    schemas.insert(meta("WatchEvent"), watch_event);
    schemas
}

fn object_meta() -> Value {
    let string_map = |description| {
        let values = json!({ "type": "string", "default": "" });
        json!({ "type": "object", "description": description, "additionalProperties": values })
    };
    let mut owner_references = array_of(&meta("OwnerReference"), "Objects this one depends on.");
    owner_references["x-kubernetes-patch-merge-key"] = json!("uid");
    owner_references["x-kubernetes-patch-strategy"] = json!("merge");
    let mut finalizers = strings("Must be empty before the object is deleted.");
    finalizers["x-kubernetes-list-type"] = json!("set");
    finalizers["x-kubernetes-patch-strategy"] = json!("merge");
    let properties = json!({
        "name": string("Name must be unique within a namespace."),
        "generateName": string("Optional prefix used by the server to generate a unique name."),
        "namespace": string("The space within which each name must be unique."),
        "selfLink": string("Deprecated: a legacy read-only field that is no longer populated."),
        "uid": string("The unique in time and space value for this object."),
        "resourceVersion": string("An opaque value: the internal version of this object."),
        "generation": integer("int64", "A sequence number of a specific generation of the state."),
        "creationTimestamp": optional(&meta("Time"), "When this object was created."),
        "deletionTimestamp": optional(&meta("Time"), "When this object will be deleted."),
        "deletionGracePeriodSeconds": integer("int64", "Seconds allowed for graceful deletion."),
        "labels": string_map("String keys and values that organize and categorize objects."),
        "annotations": string_map("String keys and values stored by external tools."),
        "ownerReferences": owner_references,
        "finalizers": finalizers,
        "managedFields": array_of(&meta("ManagedFieldsEntry"), "Fields managed per workflow."),
    });
    object(
        "Metadata that all persisted resources must have.",
        properties,
        json!({}),
    )
}

fn owner_reference() -> Value {
    let properties = json!({
        "apiVersion": string("API version of the referent."),
        "kind": string("Kind of the referent."),
        "name": string("Name of the referent."),
        "uid": string("UID of the referent."),
        "controller": typed("boolean", "If true, this reference is to the managing controller."),
        "blockOwnerDeletion": typed("boolean", "If true, the owner cannot be deleted before this."),
    });
    let extra = json!({
        "required": ["apiVersion", "kind", "name", "uid"],
        "x-kubernetes-map-type": "atomic",
    });
    object(
        "OwnerReference identifies an owning object.",
        properties,
        extra,
    )
}

fn managed_fields_entry() -> Value {
    let properties = json!({
        "manager": string("An identifier of the workflow managing these fields."),
        "operation": string("The operation which led to this entry: Apply or Update."),
        "apiVersion": string("The version of the resource that this field set applies to."),
        "time": optional(&meta("Time"), "When the entry was added or last changed."),
        "fieldsType": string("The format of the fields; only FieldsV1 exists."),
        "fieldsV1": typed("object", "The set of fields, in FieldsV1 format."),
        "subresource": string("The subresource used to update the object, if any."),
    });
    object(
        "ManagedFieldsEntry records the fields a workflow manages.",
        properties,
        json!({}),
    )
}

fn list_meta() -> Value {
    let properties = json!({
        "selfLink": string("Deprecated: a legacy read-only field that is no longer populated."),
        "resourceVersion": string("The version of the list, to watch from."),
        "continue": string("Set if more items are available; pass it to a later list call."),
        "remainingItemCount": integer("int64", "The number of subsequent items, if known."),
    });
    object(
        "ListMeta describes metadata that lists must have.",
        properties,
        json!({}),
    )
}

fn status() -> Value {
    let properties = json!({
        "apiVersion": api_version(),
        "kind": kind(),
        "metadata": embedded(&meta("ListMeta"), "Standard list metadata."),
        "status": string("Status of the operation: Success or Failure."),
        "message": string("A human-readable description of the status of this operation."),
        "reason": string("A machine-readable description of why the operation failed."),
        "details": typed("object", "Extended data associated with the reason."),
        "code": integer("int32", "Suggested HTTP return code for this status."),
    });
    object(
        "Status is a return value for calls that return no object.",
        properties,
        json!({}),
    )
}

fn delete_options() -> Value {
    let mut dry_run = strings("When present, modifications are not persisted.");
    dry_run["x-kubernetes-list-type"] = json!("atomic");
    let properties = json!({
        "apiVersion": api_version(),
        "kind": kind(),
        "gracePeriodSeconds": integer("int64", "Seconds before the object should be deleted."),
        "preconditions": typed("object", "Must be fulfilled before a deletion is carried out."),
        "propagationPolicy": string("Whether and how garbage collection is performed."),
        "dryRun": dry_run,
    });
    object(
        "DeleteOptions may be provided when deleting an API object.",
        properties,
        json!({}),
    )
}
