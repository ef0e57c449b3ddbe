//! OpenAPI v3 documents for the Event resource of both API groups, served under `/openapi/v3`
//! so kubectl uses server-side field validation, `kubectl explain` works and apply finds schemas.

use std::sync::OnceLock;

use kevents_model::ApiGroup;
use serde_json::{json, Map, Value};

/// Schema-name prefix of the apimachinery `meta/v1` types.
const META: &str = "io.k8s.apimachinery.pkg.apis.meta.v1";
/// Schema-name prefix of the `core/v1` types.
const CORE: &str = "io.k8s.api.core.v1";
/// Schema-name prefix of the `events.k8s.io/v1` types.
const EVENTS: &str = "io.k8s.api.events.v1";
/// The version of both groups.
const VERSION: &str = "v1";

/// The per-group-version OpenAPI v3 document (serialized JSON bytes, built once).
pub fn document(group: ApiGroup) -> &'static [u8] {
    &built(group).bytes
}

/// A short stable hash of `document(group)` used in `serverRelativeURL` (hex string).
pub fn document_hash(group: ApiGroup) -> &'static str {
    &built(group).hash
}

/// The `/openapi/v3` index JSON bytes.
pub fn index() -> &'static [u8] {
    static INDEX: OnceLock<Vec<u8>> = OnceLock::new();
    INDEX.get_or_init(|| {
        let paths: Map<String, Value> = [ApiGroup::Core, ApiGroup::Events]
            .into_iter()
            .map(|group| {
                let key = Layout::of(group).key();
                let url = format!("/openapi/v3/{key}?hash={}", document_hash(group));
                (key.to_owned(), json!({ "serverRelativeURL": url }))
            })
            .collect();
        to_bytes(&json!({ "paths": paths }))
    })
}

/// A serialized document together with its hash.
struct Built {
    bytes: Vec<u8>,
    hash: String,
}

/// The document of `group`, built and hashed on first use.
fn built(group: ApiGroup) -> &'static Built {
    static CORE_DOC: OnceLock<Built> = OnceLock::new();
    static EVENTS_DOC: OnceLock<Built> = OnceLock::new();
    let cell = match group {
        ApiGroup::Core => &CORE_DOC,
        ApiGroup::Events => &EVENTS_DOC,
    };
    cell.get_or_init(|| {
        let bytes = to_bytes(&build_document(Layout::of(group)));
        let hash = format!("{:016X}", fnv1a(&bytes));
        Built { bytes, hash }
    })
}

fn to_bytes(value: &Value) -> Vec<u8> {
    serde_json::to_vec(value).expect("a serde_json::Value always serializes")
}

/// 64-bit FNV-1a.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// Where a group's paths live and how its operations and schemas are named.
#[derive(Clone, Copy)]
struct Layout {
    group: ApiGroup,
    /// URL prefix of the group version, e.g. `/api/v1`.
    prefix: &'static str,
    /// Operation-id infix, e.g. `CoreV1` in `patchCoreV1NamespacedEvent`.
    id: &'static str,
    /// Operation tag, e.g. `core_v1`.
    tag: &'static str,
    /// Schema-name prefix of the group's own types.
    schemas: &'static str,
}

impl Layout {
    fn of(group: ApiGroup) -> Self {
        let (prefix, id, tag, schemas) = match group {
            ApiGroup::Core => ("/api/v1", "CoreV1", "core_v1", CORE),
            ApiGroup::Events => ("/apis/events.k8s.io/v1", "EventsV1", "events_v1", EVENTS),
        };
        Layout {
            group,
            prefix,
            id,
            tag,
            schemas,
        }
    }

    /// The key of this group version in the `/openapi/v3` index.
    fn key(self) -> &'static str {
        self.prefix.trim_start_matches('/')
    }

    /// The full schema name of one of the group's own kinds.
    fn schema(self, kind: &str) -> String {
        format!("{}.{kind}", self.schemas)
    }
}

fn build_document(layout: Layout) -> Value {
    let mut paths = Map::new();
    for action in Action::ALL {
        let (method, path) = action.route();
        let item = paths
            .entry(format!("{}{path}", layout.prefix))
            .or_insert_with(|| json!({ "parameters": path_parameters(path) }));
        item[method] = action.operation(layout);
    }
    json!({
        "openapi": "3.0.0",
        "info": { "title": "Kubernetes", "version": "v1.32.0" },
        "paths": paths,
        "components": { "schemas": schemas(layout) },
    })
}

/// The path-level parameters: the path's placeholders, plus `pretty`.
fn path_parameters(path: &str) -> Vec<Value> {
    [(Param::Namespace, "{namespace}"), (Param::Name, "{name}")]
        .into_iter()
        .filter(|(_, placeholder)| path.contains(placeholder))
        .map(|(param, _)| param)
        .chain([Param::Pretty])
        .map(Param::spec)
        .collect()
}

/// A request parameter, described once in [`Param::spec`]; its wire name is the variant name
/// in lowerCamelCase (`FieldValidation` is `fieldValidation`).
#[derive(Clone, Copy, Debug)]
enum Param {
    Namespace,
    Name,
    Pretty,
    AllowWatchBookmarks,
    Continue,
    FieldSelector,
    LabelSelector,
    Limit,
    ResourceVersion,
    ResourceVersionMatch,
    SendInitialEvents,
    TimeoutSeconds,
    Watch,
    DryRun,
    FieldManager,
    FieldValidation,
    Force,
    GracePeriodSeconds,
    PropagationPolicy,
}

impl Param {
    fn spec(self) -> Value {
        use Param::*;
        let description = match self {
            Namespace => "Object name and auth scope, such as for teams and projects.",
            Name => "Name of the Event.",
            Pretty => "If 'true', then the output is pretty printed.",
            AllowWatchBookmarks => "Requests watch events with type BOOKMARK.",
            Continue => "The continue token returned by a previous paginated list call.",
            FieldSelector => "A selector to restrict the returned objects by their fields.",
            LabelSelector => "A selector to restrict the returned objects by their labels.",
            Limit => "The maximum number of items to return in a list call.",
            ResourceVersion => "Constrains which resource versions the request may be served from.",
            ResourceVersionMatch => "Determines how resourceVersion is applied to list calls.",
            SendInitialEvents => "Makes a watch start with synthetic events for the current state.",
            TimeoutSeconds => "Timeout for the list/watch call, regardless of activity.",
            Watch => "Watch for changes to the described resources and return them as a stream.",
            DryRun => "When present (value All), modifications are not persisted.",
            FieldManager => "A name associated with the actor or entity making the changes.",
            FieldValidation => "How to treat unknown or duplicate fields: Ignore, Warn or Strict.",
            Force => "Force apply requests to take ownership of conflicting fields.",
            GracePeriodSeconds => "The duration in seconds before the object should be deleted.",
            PropagationPolicy => "Garbage collection policy: Orphan, Background or Foreground.",
        };
        let ty = match self {
            AllowWatchBookmarks | SendInitialEvents | Watch | Force => "boolean",
            Limit | TimeoutSeconds | GracePeriodSeconds => "integer",
            _ => "string",
        };
        let variant = format!("{self:?}");
        let (first, rest) = variant.split_at(1);
        let mut spec = json!({
            "name": format!("{}{rest}", first.to_ascii_lowercase()),
            "in": "query",
            "description": description,
            "schema": { "type": ty, "uniqueItems": true },
        });
        if matches!(self, Namespace | Name) {
            spec["in"] = json!("path");
            spec["required"] = json!(true);
        }
        spec
    }
}

/// An operation on the Event resource.
#[derive(Clone, Copy)]
enum Action {
    Read,
    List,
    ListAll,
    Create,
    Replace,
    Patch,
    Delete,
    DeleteCollection,
    Watch,
    WatchList,
    WatchListAll,
}

impl Action {
    const ALL: [Action; 11] = [
        Action::ListAll,
        Action::List,
        Action::Create,
        Action::DeleteCollection,
        Action::Read,
        Action::Replace,
        Action::Patch,
        Action::Delete,
        Action::WatchListAll,
        Action::WatchList,
        Action::Watch,
    ];

    /// The HTTP method and the path below the group prefix.
    fn route(self) -> (&'static str, &'static str) {
        match self {
            Action::ListAll => ("get", "/events"),
            Action::List => ("get", "/namespaces/{namespace}/events"),
            Action::Create => ("post", "/namespaces/{namespace}/events"),
            Action::DeleteCollection => ("delete", "/namespaces/{namespace}/events"),
            Action::Read => ("get", "/namespaces/{namespace}/events/{name}"),
            Action::Replace => ("put", "/namespaces/{namespace}/events/{name}"),
            Action::Patch => ("patch", "/namespaces/{namespace}/events/{name}"),
            Action::Delete => ("delete", "/namespaces/{namespace}/events/{name}"),
            Action::WatchListAll => ("get", "/watch/events"),
            Action::WatchList => ("get", "/watch/namespaces/{namespace}/events"),
            Action::Watch => ("get", "/watch/namespaces/{namespace}/events/{name}"),
        }
    }

    /// The verb and suffix around the group infix of the upstream operation id.
    fn id_parts(self) -> (&'static str, &'static str) {
        match self {
            Action::ListAll => ("list", "EventForAllNamespaces"),
            Action::List => ("list", "NamespacedEvent"),
            Action::Create => ("create", "NamespacedEvent"),
            Action::DeleteCollection => ("delete", "CollectionNamespacedEvent"),
            Action::Read => ("read", "NamespacedEvent"),
            Action::Replace => ("replace", "NamespacedEvent"),
            Action::Patch => ("patch", "NamespacedEvent"),
            Action::Delete => ("delete", "NamespacedEvent"),
            Action::WatchListAll => ("watch", "EventListForAllNamespaces"),
            Action::WatchList => ("watch", "NamespacedEventList"),
            Action::Watch => ("watch", "NamespacedEvent"),
        }
    }

    /// The `x-kubernetes-action` and the operation's description.
    fn kind_and_description(self) -> (&'static str, &'static str) {
        match self {
            Action::List | Action::ListAll => ("list", "list or watch objects of kind Event"),
            Action::Create => ("create", "create an Event"),
            Action::DeleteCollection => ("deletecollection", "delete collection of Event"),
            Action::Read => ("get", "read the specified Event"),
            Action::Replace => ("update", "replace the specified Event"),
            Action::Patch => ("patch", "partially update the specified Event"),
            Action::Delete => ("delete", "delete an Event"),
            Action::Watch => ("watch", "watch changes to an object of kind Event"),
            Action::WatchList | Action::WatchListAll => ("watchlist", "watch changes to Events"),
        }
    }

    /// The operation's query parameters.
    fn params(self) -> Vec<Param> {
        use Param::*;
        let selecting = |extra: &[Param]| {
            let mut params = vec![
                Continue,
                FieldSelector,
                LabelSelector,
                Limit,
                ResourceVersion,
            ];
            params.extend([ResourceVersionMatch, SendInitialEvents, TimeoutSeconds]);
            params.extend_from_slice(extra);
            params
        };
        match self {
            Action::Read => Vec::new(),
            Action::List
            | Action::ListAll
            | Action::Watch
            | Action::WatchList
            | Action::WatchListAll => selecting(&[AllowWatchBookmarks, Watch]),
            Action::Create | Action::Replace => vec![DryRun, FieldManager, FieldValidation],
            Action::Patch => vec![DryRun, FieldManager, FieldValidation, Force],
            Action::Delete => vec![DryRun, GracePeriodSeconds, PropagationPolicy],
            Action::DeleteCollection => selecting(&[DryRun, GracePeriodSeconds, PropagationPolicy]),
        }
    }

    fn request_body(self, layout: Layout) -> Option<Value> {
        let patch_types = [
            "application/json-patch+json",
            "application/merge-patch+json",
            "application/strategic-merge-patch+json",
            "application/apply-patch+yaml",
        ];
        let (types, schema, required) = match self {
            Action::Create | Action::Replace => (&["*/*"][..], layout.schema("Event"), true),
            Action::Patch => (&patch_types[..], meta("Patch"), true),
            Action::Delete | Action::DeleteCollection => {
                (&["*/*"][..], meta("DeleteOptions"), false)
            }
            _ => return None,
        };
        let content: Map<String, Value> = types
            .iter()
            .map(|&ty| (ty.to_owned(), json!({ "schema": reference(&schema) })))
            .collect();
        Some(json!({ "content": content, "required": required }))
    }

    fn responses(self, layout: Layout) -> Value {
        let (schema, codes): (String, &[&str]) = match self {
            Action::Read => (layout.schema("Event"), &["200"]),
            Action::List | Action::ListAll => (layout.schema("EventList"), &["200"]),
            Action::Create => (layout.schema("Event"), &["200", "201", "202"]),
            Action::Replace | Action::Patch => (layout.schema("Event"), &["200", "201"]),
            Action::Delete => (meta("Status"), &["200", "202"]),
            Action::DeleteCollection => (meta("Status"), &["200"]),
            Action::Watch | Action::WatchList | Action::WatchListAll => {
                (meta("WatchEvent"), &["200"])
            }
        };
        let content = json!({ "application/json": { "schema": reference(&schema) } });
        let responses = codes.iter().map(|&code| {
            let text = match code {
                "201" => "Created",
                "202" => "Accepted",
                _ => "OK",
            };
            (
                code.to_owned(),
                json!({ "description": text, "content": content }),
            )
        });
        Value::Object(responses.collect())
    }

    fn operation(self, layout: Layout) -> Value {
        let (verb, suffix) = self.id_parts();
        let (action, description) = self.kind_and_description();
        let mut operation = json!({
            "description": description,
            "operationId": format!("{verb}{}{suffix}", layout.id),
            "tags": [layout.tag],
            "parameters": self.params().into_iter().map(Param::spec).collect::<Vec<_>>(),
            "responses": self.responses(layout),
            "x-kubernetes-action": action,
            "x-kubernetes-group-version-kind": {
                "group": layout.group.group_name(),
                "version": VERSION,
                "kind": "Event",
            },
        });
        if let Some(body) = self.request_body(layout) {
            operation["requestBody"] = body;
        }
        operation
    }
}

fn meta(kind: &str) -> String {
    format!("{META}.{kind}")
}

fn core(kind: &str) -> String {
    format!("{CORE}.{kind}")
}

fn reference(name: &str) -> Value {
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

fn schemas(layout: Layout) -> Map<String, Value> {
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

#[cfg(test)]
mod tests {
    use super::*;

    const GROUPS: [ApiGroup; 2] = [ApiGroup::Core, ApiGroup::Events];

    fn parse(bytes: &[u8]) -> Value {
        serde_json::from_slice(bytes).expect("valid JSON")
    }

    fn collect_refs<'a>(value: &'a Value, refs: &mut Vec<&'a str>) {
        match value {
            Value::Object(map) => {
                refs.extend(map.get("$ref").and_then(Value::as_str));
                map.values().for_each(|value| collect_refs(value, refs));
            }
            Value::Array(items) => items.iter().for_each(|value| collect_refs(value, refs)),
            _ => {}
        }
    }

    #[test]
    fn index_points_at_both_documents_with_their_hashes() {
        let index = parse(index());
        let paths = index["paths"].as_object().expect("paths object");
        assert_eq!(paths.len(), 2);
        for (key, group) in [
            ("api/v1", ApiGroup::Core),
            ("apis/events.k8s.io/v1", ApiGroup::Events),
        ] {
            let url = format!("/openapi/v3/{key}?hash={}", document_hash(group));
            assert_eq!(paths[key]["serverRelativeURL"], url);
        }
    }

    #[test]
    fn hash_is_sixteen_uppercase_hex_digits_of_fnv1a_over_the_document() {
        assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
        for group in GROUPS {
            let hash = document_hash(group);
            assert_eq!(hash, format!("{:016X}", fnv1a(document(group))));
            assert!(hash
                .chars()
                .all(|c| c.is_ascii_digit() || c.is_ascii_uppercase()));
        }
        assert_ne!(
            document_hash(ApiGroup::Core),
            document_hash(ApiGroup::Events)
        );
    }

    #[test]
    fn patch_operation_has_event_gvk_and_field_validation_so_kubectl_validates_server_side() {
        for group in GROUPS {
            let doc = parse(document(group));
            assert_eq!(doc["openapi"], "3.0.0");
            let path = format!(
                "{}/namespaces/{{namespace}}/events/{{name}}",
                Layout::of(group).prefix
            );
            let patch = &doc["paths"][&path]["patch"];
            let gvk = json!({ "group": group.group_name(), "version": "v1", "kind": "Event" });
            assert_eq!(patch["x-kubernetes-group-version-kind"], gvk);
            let params = patch["parameters"].as_array().expect("parameters");
            assert!(params
                .iter()
                .any(|p| p["name"] == "fieldValidation" && p["in"] == "query"));
            let body = patch["requestBody"]["content"]
                .as_object()
                .expect("patch body");
            assert!(body.contains_key("application/strategic-merge-patch+json"));
        }
    }

    #[test]
    fn event_schema_declares_its_group_version_kind_for_explain_and_apply() {
        let cases = [
            (ApiGroup::Core, "io.k8s.api.core.v1.Event"),
            (ApiGroup::Events, "io.k8s.api.events.v1.Event"),
        ];
        for (group, schema) in cases {
            let doc = parse(document(group));
            let gvk = json!([{ "group": group.group_name(), "kind": "Event", "version": "v1" }]);
            assert_eq!(
                doc["components"]["schemas"][schema]["x-kubernetes-group-version-kind"],
                gvk
            );
        }
    }

    #[test]
    fn every_ref_resolves_to_a_schema_in_the_same_document() {
        for group in GROUPS {
            let doc = parse(document(group));
            let schemas = doc["components"]["schemas"].as_object().expect("schemas");
            let mut refs = Vec::new();
            collect_refs(&doc, &mut refs);
            assert!(!refs.is_empty());
            for target in refs {
                let name = target
                    .strip_prefix("#/components/schemas/")
                    .expect("local ref");
                assert!(schemas.contains_key(name), "{group:?}: unresolved {target}");
            }
        }
    }

    #[test]
    fn every_operation_has_a_unique_upstream_style_id_and_the_event_gvk() {
        for group in GROUPS {
            let doc = parse(document(group));
            let mut ids = Vec::new();
            for item in doc["paths"].as_object().expect("paths").values() {
                for (method, op) in item.as_object().expect("path item") {
                    if method != "parameters" {
                        assert!(op["x-kubernetes-action"].is_string());
                        assert_eq!(op["x-kubernetes-group-version-kind"]["kind"], "Event");
                        ids.push(op["operationId"].as_str().expect("operationId").to_owned());
                    }
                }
            }
            ids.sort();
            ids.dedup();
            assert_eq!(ids.len(), 11);
            let infix = Layout::of(group).id;
            assert!(ids.contains(&format!("patch{infix}NamespacedEvent")));
            assert!(ids.contains(&format!("list{infix}EventForAllNamespaces")));
        }
    }
}
