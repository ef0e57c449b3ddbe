//! What every `kevents.io/v1` read shares, whoever keeps the objects: the query options, the
//! list (JSON, YAML or Table), the answer to a get, and the watch stream. A resource says how
//! its items become objects and Table cells (a [`View`]), which items a request sees and in
//! what order, and how a change shows in a watch; the plumbing is here.

use crate::error::{ApiError, Reply};
use crate::negotiate::Representation;
use crate::query::parse_query;
use crate::respond::{json_response, line_watch, respond, row, table};
use crate::state::AppState;
use axum::body::Bytes;
use axum::http::StatusCode;
use kevents_model::Micros;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::broadcast;

/// The query parameters of a read.
pub(crate) struct ReadOptions {
    query: HashMap<String, String>,
    /// A watch: asked by the path (`/watch/…`) or by `?watch=true`.
    pub(crate) watch: bool,
}

impl ReadOptions {
    /// Parses the raw query; `watch_path` is true on a `/watch/…` path.
    pub(crate) fn parse(raw: Option<String>, watch_path: bool) -> Result<ReadOptions, ApiError> {
        let query = parse_query(raw.as_deref())?;
        let watch =
            watch_path || matches!(query.get("watch").map(String::as_str), Some("true" | "1"));
        Ok(ReadOptions { query, watch })
    }

    /// A parameter, when given and not empty.
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.query
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    /// A numeric parameter; anything else is a `400`.
    pub(crate) fn number(&self, name: &str) -> Result<Option<u64>, ApiError> {
        self.get(name)
            .map(|v| {
                v.parse::<u64>()
                    .map_err(|_| ApiError::bad_request(format!("{name}: invalid value {v:?}")))
            })
            .transpose()
    }

    /// Whether Table rows carry whole objects (`includeObject=Object`).
    pub(crate) fn with_objects(&self) -> bool {
        self.get("includeObject") == Some("Object")
    }

    /// `timeoutSeconds` of a watch (none or 0: until the client leaves).
    pub(crate) fn timeout(&self) -> Result<Option<Duration>, ApiError> {
        Ok(self
            .number("timeoutSeconds")?
            .filter(|t| *t > 0)
            .map(Duration::from_secs))
    }
}

/// The `404` of a `kevents.io` object.
pub(crate) fn not_found(plural: &str, name: &str) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "NotFound",
        format!("{plural}.kevents.io {name:?} not found"),
    )
    .with_details(json!({"name": name, "group": "kevents.io", "kind": plural}))
}

/// How the items of one resource show: as objects and as Table rows.
pub(crate) trait View: Send + Sync + 'static {
    /// One item as its keeper holds it.
    type Item: Send + Sync + 'static;

    /// The Table's column definitions.
    fn columns(&self) -> Value;

    /// The item's object at `now`.
    fn object(&self, item: &Self::Item, now: Micros) -> Value;

    /// The item's Table cells at `now`; `object` is its object.
    fn cells(&self, item: &Self::Item, object: &Value, now: Micros) -> Value;
}

fn table_of<V: View>(
    view: &V,
    columns: Value,
    item: &V::Item,
    object: &Value,
    now: Micros,
    with_objects: bool,
) -> Value {
    table(
        columns,
        vec![row(view.cells(item, object, now), object, with_objects)],
        json!({"resourceVersion": object["metadata"]["resourceVersion"]}),
    )
}

/// A list of `items` (already chosen and ordered), as `<kind>` or as a Table.
pub(crate) fn list_reply<V: View>(
    view: &V,
    kind: &str,
    items: &[&V::Item],
    metadata: Value,
    representation: Representation,
    with_objects: bool,
) -> Reply {
    let now = Micros::now();
    let objects: Vec<Value> = items.iter().map(|i| view.object(i, now)).collect();
    match representation {
        Representation::Table => {
            let rows = items
                .iter()
                .zip(&objects)
                .map(|(item, object)| row(view.cells(item, object, now), object, with_objects))
                .collect();
            json_response(StatusCode::OK, &table(view.columns(), rows, metadata))
        }
        _ => {
            let list = json!({"apiVersion": "kevents.io/v1", "kind": kind, "metadata": metadata, "items": objects});
            respond(representation, list, || Value::Null)
        }
    }
}

/// One item, as its object or as a one-row Table.
pub(crate) fn one_reply<V: View>(
    view: &V,
    item: &V::Item,
    representation: Representation,
    with_objects: bool,
) -> Reply {
    let now = Micros::now();
    let object = view.object(item, now);
    let table = || table_of(view, view.columns(), item, &object, now, with_objects);
    respond(representation, object.clone(), table)
}

/// Where a watch reads the changes of a resource from.
pub(crate) trait Feed: Send + 'static {
    /// One change.
    type Change: Send + Sync + 'static;

    /// The next change; `None` ends the watch (the keeper is gone, or the watcher fell behind
    /// and relists).
    fn next(&mut self) -> impl Future<Output = Option<Arc<Self::Change>>> + Send;
}

impl<C: Send + Sync + 'static> Feed for broadcast::Receiver<Arc<C>> {
    type Change = C;

    async fn next(&mut self) -> Option<Arc<C>> {
        self.recv().await.ok()
    }
}

/// A watch to stream.
pub(crate) struct Watch<V: View, F: Feed> {
    /// How items show.
    pub view: V,
    /// JSON lines of objects, or of one-row Tables (the columns in the first only).
    pub representation: Representation,
    /// Whether Table rows carry whole objects.
    pub with_objects: bool,
    /// When the stream ends (none: when the client leaves).
    pub timeout: Option<Duration>,
    /// The events sent first, with their type (`ADDED`, `MODIFIED`).
    pub initial: Vec<(&'static str, V::Item)>,
    /// The changes after them.
    pub feed: F,
    /// The item a change carries.
    pub item: fn(&F::Change) -> &V::Item,
}

impl<V: View, F: Feed> Watch<V, F> {
    /// Streams the initial events, then each change `decide` gives a type to (the others,
    /// already sent or outside the request, it skips).
    pub(crate) fn stream(
        self,
        state: &AppState,
        mut decide: impl FnMut(&F::Change) -> Option<&'static str> + Send + 'static,
    ) -> Reply {
        let Watch {
            view,
            representation,
            with_objects,
            timeout,
            initial,
            mut feed,
            item,
        } = self;
        let table_rows = representation == Representation::Table;
        let line = move |kind: &str, item: &V::Item, first: &mut bool| -> Bytes {
            let now = Micros::now();
            let object = view.object(item, now);
            let object = if table_rows {
                let columns = if *first { view.columns() } else { Value::Null };
                *first = false;
                table_of(&view, columns, item, &object, now, with_objects)
            } else {
                object
            };
            let mut bytes = serde_json::to_vec(&json!({"type": kind, "object": object}))
                .expect("JSON values serialize");
            bytes.push(b'\n');
            Bytes::from(bytes)
        };
        Ok(line_watch(
            state.shutdown.clone(),
            timeout,
            move |sender| async move {
                let mut first = true;
                for (kind, initial) in &initial {
                    if sender.send(line(kind, initial, &mut first)).await.is_err() {
                        return;
                    }
                }
                while let Some(change) = feed.next().await {
                    let Some(kind) = decide(&change) else {
                        continue;
                    };
                    if sender
                        .send(line(kind, item(&change), &mut first))
                        .await
                        .is_err()
                    {
                        return;
                    }
                }
            },
        ))
    }
}
