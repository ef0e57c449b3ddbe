//! HTTP handlers of the served resources: list, get, watch (JSON, YAML or Table) and patch.

use super::collection::Collection;
use super::objects::{ServedChange, ServedObjects};
use super::resources::{Column, Resource};
use super::view::{list_reply, not_found, one_reply, ReadOptions, View, Watch};
use crate::error::{ApiError, Reply};
use crate::negotiate::{representation, Representation};
use crate::respond::json_response;
use crate::state::{AppState, SharedState};
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use kevents_model::{human_duration, LabelSelector, Micros};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

/// Which of the hub's served object sets a route reads.
pub(super) type Pick = fn(&AppState) -> Arc<ServedObjects>;

struct Request {
    namespace: Option<String>,
    labels: Option<LabelSelector>,
    options: ReadOptions,
}

impl Request {
    fn parse(
        namespace: Option<String>,
        raw: Option<String>,
        watch_path: bool,
    ) -> Result<Request, ApiError> {
        let options = ReadOptions::parse(raw, watch_path)?;
        let labels = match options.get("labelSelector") {
            Some(text) => Some(
                LabelSelector::parse(text)
                    .map_err(|e| ApiError::bad_request(format!("labelSelector: {e}")))?,
            ),
            None => None,
        };
        Ok(Request {
            namespace,
            labels,
            options,
        })
    }

    fn matches(&self, object: &Value) -> bool {
        let namespace = object["metadata"]["namespace"].as_str().unwrap_or_default();
        let labels: BTreeMap<String, String> =
            serde_json::from_value(object["metadata"]["labels"].clone()).unwrap_or_default();
        self.namespace.as_ref().is_none_or(|ns| ns == namespace)
            && self.labels.as_ref().is_none_or(|s| s.matches(&labels))
    }
}

/// Served objects show as they are kept; their Table cells are found by path.
impl View for &'static Resource {
    type Item = Value;

    fn columns(&self) -> Value {
        let columns: Vec<Value> = self
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

    fn object(&self, item: &Value, _: Micros) -> Value {
        item.clone()
    }

    fn cells(&self, _: &Value, object: &Value, now: Micros) -> Value {
        Value::Array(self.columns.iter().map(|c| cell(c, object, now)).collect())
    }
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

pub(super) async fn list(
    pick: Pick,
    resource: &'static Resource,
    state: SharedState,
    at: Collection,
) -> Reply {
    let representation = representation(&at.headers)?;
    let request = Request::parse(at.namespace, at.query, at.watch_path)?;
    let objects = pick(&state);
    if request.options.watch {
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
    let items: Vec<&Value> = items.iter().collect();
    list_reply(
        &resource,
        &format!("{}List", resource.kind),
        &items,
        json!({"resourceVersion": version.to_string()}),
        representation,
        request.options.with_objects(),
    )
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
    let request = Request::parse(None, query, false)?;
    let object = pick(&state)
        .get(&namespace, &name)
        .ok_or_else(|| not_found(resource.plural, &name))?;
    one_reply(
        &resource,
        &object,
        representation,
        request.options.with_objects(),
    )
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
        return Err(not_found(resource.plural, &name));
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
        .ok_or_else(|| not_found(resource.plural, &name))?;
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
    let feed = objects.feed.subscribe();
    let from = request.options.number("resourceVersion")?.unwrap_or(0);
    let timeout: Option<u64> = request
        .options
        .get("timeoutSeconds")
        .and_then(|t| t.parse().ok());
    let initial_kind = if from == 0 { "ADDED" } else { "MODIFIED" };
    let (initial, mut sent_version) = {
        let inner = objects.inner.read();
        let initial: Vec<(&'static str, Value)> = inner
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
            .map(|o| (initial_kind, o.clone()))
            .collect();
        (initial, inner.version)
    };
    let watch = Watch {
        view: resource,
        representation,
        with_objects: request.options.with_objects(),
        timeout: timeout.filter(|t| *t > 0).map(Duration::from_secs),
        initial,
        feed,
        item: |change: &ServedChange| &change.object,
    };
    watch.stream(&state, move |change| {
        if change.version <= sent_version {
            return None;
        }
        sent_version = change.version;
        request.matches(&change.object).then_some(change.kind)
    })
}
