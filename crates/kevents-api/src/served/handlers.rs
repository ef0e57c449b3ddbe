//! HTTP handlers of the served resources: list, get, watch (JSON, YAML or Table) and patch.

use super::objects::{ServedChange, ServedObjects};
use super::resources::{Column, Resource};
use crate::error::{ApiError, Reply};
use crate::negotiate::{representation, Representation};
use crate::query::parse_query;
use crate::respond::{json_response, line_watch, respond, row, table};
use crate::state::{AppState, SharedState};
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use kevents_model::{human_duration, LabelSelector, Micros};
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::broadcast::error::RecvError;

/// Which of the hub's served object sets a route reads.
pub(super) type Pick = fn(&AppState) -> Arc<ServedObjects>;

struct Request {
    namespace: Option<String>,
    labels: Option<LabelSelector>,
    query: HashMap<String, String>,
}

impl Request {
    fn parse(namespace: Option<String>, raw: Option<String>) -> Result<Request, ApiError> {
        let query = parse_query(raw.as_deref())?;
        let labels = match query.get("labelSelector").filter(|s| !s.is_empty()) {
            Some(text) => Some(
                LabelSelector::parse(text)
                    .map_err(|e| ApiError::bad_request(format!("labelSelector: {e}")))?,
            ),
            None => None,
        };
        Ok(Request {
            namespace,
            labels,
            query,
        })
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.query
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    fn watch(&self) -> bool {
        matches!(self.get("watch"), Some("true" | "1"))
    }

    fn matches(&self, object: &Value) -> bool {
        let namespace = object["metadata"]["namespace"].as_str().unwrap_or_default();
        let labels: BTreeMap<String, String> =
            serde_json::from_value(object["metadata"]["labels"].clone()).unwrap_or_default();
        self.namespace.as_ref().is_none_or(|ns| ns == namespace)
            && self.labels.as_ref().is_none_or(|s| s.matches(&labels))
    }

    fn with_objects(&self) -> bool {
        self.get("includeObject") == Some("Object")
    }
}

fn columns(resource: &Resource) -> Value {
    let columns: Vec<Value> = resource
        .columns
        .iter()
        .map(|c| {
            let (kind, format) = match c.format {
                "integer" => ("integer", ""),
                _ if c.name == "Name" => ("string", "name"),
                _ => ("string", ""),
            };
            json!({"name": c.name, "type": kind, "format": format, "description": c.description, "priority": 0})
        })
        .collect();
    Value::Array(columns)
}

fn cell(column: &Column, object: &Value, now: Micros) -> Value {
    let value = column.path.iter().fold(object, |v, key| &v[*key]);
    match column.format {
        "age" => match value.as_str().and_then(Micros::parse) {
            Some(at) => Value::String(human_duration(now.0 - at.0)),
            None => Value::String("<unknown>".into()),
        },
        "integer" => json!(value.as_i64().unwrap_or(0)),
        _ => match value {
            Value::String(text) => Value::String(text.clone()),
            Value::Null => Value::String("<none>".into()),
            other => Value::String(other.to_string()),
        },
    }
}

fn table_row(resource: &Resource, object: &Value, with_object: bool) -> Value {
    let now = Micros::now();
    let cells: Vec<Value> = resource
        .columns
        .iter()
        .map(|c| cell(c, object, now))
        .collect();
    row(Value::Array(cells), object, with_object)
}

pub(super) async fn list(
    pick: Pick,
    resource: &'static Resource,
    State(state): State<SharedState>,
    namespace: Option<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    watch_path: bool,
) -> Reply {
    let representation = representation(&headers)?;
    let request = Request::parse(namespace, query)?;
    let objects = pick(&state);
    if watch_path || request.watch() {
        return watch(state, objects, resource, request, representation);
    }
    let (items, version) = {
        let inner = objects.inner.read();
        let items: Vec<Value> = inner
            .objects
            .values()
            .filter(|o| request.matches(o))
            .cloned()
            .collect();
        (items, inner.version)
    };
    let metadata = json!({"resourceVersion": version.to_string()});
    match representation {
        Representation::Table => {
            let rows = items
                .iter()
                .map(|o| table_row(resource, o, request.with_objects()))
                .collect();
            json_response(StatusCode::OK, &table(columns(resource), rows, metadata))
        }
        _ => {
            let list = json!({"apiVersion": "kevents.io/v1", "kind": format!("{}List", resource.kind), "metadata": metadata, "items": items});
            respond(representation, list, || Value::Null)
        }
    }
}

pub(super) async fn namespaced(
    pick: Pick,
    resource: &'static Resource,
    state: State<SharedState>,
    Path(namespace): Path<String>,
    query: RawQuery,
    headers: HeaderMap,
    watch_path: bool,
) -> Reply {
    list(
        pick,
        resource,
        state,
        Some(namespace),
        query,
        headers,
        watch_path,
    )
    .await
}

fn not_found(resource: &Resource, name: &str) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "NotFound",
        format!("{}.kevents.io {name:?} not found", resource.plural),
    )
    .with_details(json!({"name": name, "group": "kevents.io", "kind": resource.plural}))
}

pub(super) async fn one(
    pick: Pick,
    resource: &'static Resource,
    State(state): State<SharedState>,
    Path((namespace, name)): Path<(String, String)>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Reply {
    let representation = representation(&headers)?;
    let request = Request::parse(None, query)?;
    let object = pick(&state)
        .get(&namespace, &name)
        .ok_or_else(|| not_found(resource, &name))?;
    let table = || {
        let version = object["metadata"]["resourceVersion"].clone();
        table(
            columns(resource),
            vec![table_row(resource, &object, request.with_objects())],
            json!({ "resourceVersion": version }),
        )
    };
    respond(representation, object.clone(), table)
}

/// A merge patch of a cluster-scoped object, applied by the object's owner.
pub(super) async fn patch(
    pick: Pick,
    resource: &'static Resource,
    State(state): State<SharedState>,
    Path(name): Path<String>,
    body: Bytes,
) -> Reply {
    let objects = pick(&state);
    if objects.get("", &name).is_none() {
        return Err(not_found(resource, &name));
    }
    let patch: Value = serde_json::from_slice(&body)
        .map_err(|e| ApiError::bad_request(format!("the patch is not JSON: {e}")))?;
    let patcher = objects.patcher().ok_or_else(ApiError::method_not_allowed)?;
    patcher(&name, &patch).map_err(|message| {
        ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "Invalid", message)
            .with_details(json!({"name": name, "group": "kevents.io", "kind": resource.plural}))
    })?;
    let object = objects
        .get("", &name)
        .ok_or_else(|| not_found(resource, &name))?;
    json_response(StatusCode::OK, &object)
}

/// A watch: the current objects first (`ADDED`, or when resuming from a version those changed
/// since), then every change.
fn watch(
    state: SharedState,
    objects: Arc<ServedObjects>,
    resource: &'static Resource,
    request: Request,
    representation: Representation,
) -> Reply {
    let mut live = objects.feed.subscribe();
    let from: u64 = request
        .get("resourceVersion")
        .map(|v| {
            v.parse()
                .map_err(|_| ApiError::bad_request(format!("resourceVersion: invalid value {v:?}")))
        })
        .transpose()?
        .unwrap_or(0);
    let timeout: Option<u64> = request.get("timeoutSeconds").and_then(|t| t.parse().ok());
    let (initial, mut sent_version) = {
        let inner = objects.inner.read();
        let initial: Vec<Value> = inner
            .objects
            .values()
            .filter(|o| request.matches(o))
            .filter(|o| {
                from == 0
                    || o["metadata"]["resourceVersion"]
                        .as_str()
                        .and_then(|v| v.parse::<u64>().ok())
                        .is_some_and(|v| v > from)
            })
            .cloned()
            .collect();
        (initial, inner.version)
    };
    let initial_kind = if from == 0 { "ADDED" } else { "MODIFIED" };
    let table_rows = representation == Representation::Table;
    let with_objects = request.with_objects();
    let line = move |kind: &str, object: &Value, first: &mut bool| -> Bytes {
        let object = if table_rows {
            let columns = if *first {
                columns(resource)
            } else {
                Value::Null
            };
            *first = false;
            table(
                columns,
                vec![table_row(resource, object, with_objects)],
                json!({"resourceVersion": object["metadata"]["resourceVersion"]}),
            )
        } else {
            object.clone()
        };
        let mut bytes = serde_json::to_vec(&json!({"type": kind, "object": object}))
            .expect("JSON values serialize");
        bytes.push(b'\n');
        Bytes::from(bytes)
    };
    let timeout = timeout.filter(|t| *t > 0).map(Duration::from_secs);
    let shutdown = state.shutdown.clone();
    Ok(line_watch(shutdown, timeout, move |sender| async move {
        let mut first = true;
        for object in &initial {
            if sender
                .send(line(initial_kind, object, &mut first))
                .await
                .is_err()
            {
                return;
            }
        }
        loop {
            let change: Arc<ServedChange> = match live.recv().await {
                Ok(change) => change,
                Err(RecvError::Lagged(_)) | Err(RecvError::Closed) => return,
            };
            if change.version <= sent_version {
                continue;
            }
            sent_version = change.version;
            if request.matches(&change.object)
                && sender
                    .send(line(change.kind, &change.object, &mut first))
                    .await
                    .is_err()
            {
                return;
            }
        }
    }))
}
