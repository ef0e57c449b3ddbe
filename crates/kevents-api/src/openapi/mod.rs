//! OpenAPI v3 documents for the Event resource of both API groups, served under `/openapi/v3`
//! so kubectl uses server-side field validation, `kubectl explain` works and apply finds schemas.

mod layout;
mod schemas;

use std::sync::OnceLock;

use layout::{Layout, VERSION};
use schemas::{meta, reference, schemas};

use kevents_model::ApiGroup;
use serde_json::{json, Map, Value};

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
        "info": { "title": "Kubernetes", "version": format!("v1.{}.0", kevents_model::wire::kubernetes_minor()) },
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

#[cfg(test)]
mod tests;
