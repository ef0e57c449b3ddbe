//! HTTP handlers of `eventseries` (get, list, watch) and `eventpatterns` (get, list).

use super::encode::{
    series_cells, series_columns, series_id_of, series_name, series_object, API_VERSION,
};
use super::feed::SeriesChange;
use super::select::{series_subject, Selector};
use crate::clusters::ClusterScope;
use crate::error::ApiError;
use crate::error::Reply;
use crate::negotiate::{representation, Representation};
use crate::query::parse_query;
use crate::respond::json_response;
pub(super) use crate::respond::{respond, row, table};
use crate::state::{AppState, SharedState};
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use base64::Engine;
use kevents_correlate::Series;
use kevents_model::Micros;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::time::Duration;

/// The query parameters a series read understands.
pub(crate) struct ReadOptions {
    query: HashMap<String, String>,
    pub(crate) watch: bool,
}

impl ReadOptions {
    pub(crate) fn parse(raw: Option<String>, watch_path: bool) -> Result<ReadOptions, ApiError> {
        let query = parse_query(raw.as_deref())?;
        let watch =
            watch_path || matches!(query.get("watch").map(String::as_str), Some("true" | "1"));
        Ok(ReadOptions { query, watch })
    }

    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.query
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    pub(crate) fn number(&self, name: &str) -> Result<Option<u64>, ApiError> {
        self.get(name)
            .map(|v| {
                v.parse::<u64>()
                    .map_err(|_| ApiError::bad_request(format!("{name}: invalid value {v:?}")))
            })
            .transpose()
    }

    pub(crate) fn with_objects(&self) -> bool {
        self.get("includeObject") == Some("Object")
    }
}

/// Which series a request covers.
struct SeriesRequest {
    cluster: Option<String>,
    namespace: Option<String>,
    selector: Selector,
}

impl SeriesRequest {
    fn new(
        state: &AppState,
        cluster: Option<String>,
        namespace: Option<String>,
        options: &ReadOptions,
    ) -> Result<SeriesRequest, ApiError> {
        let selector = Selector::parse(
            options.get("fieldSelector"),
            options.get("labelSelector"),
            &state.security.cluster,
        )?;
        Ok(SeriesRequest {
            cluster,
            namespace,
            selector,
        })
    }

    fn matches(&self, series: &Series, name: &str) -> bool {
        self.cluster
            .as_ref()
            .is_none_or(|c| series.key().cluster == c.as_str())
            && self
                .namespace
                .as_ref()
                .is_none_or(|ns| series.key().namespace == ns.as_str())
            && self.selector.matches(&series_subject(series, name))
    }
}

pub(super) async fn all_series(
    state: State<SharedState>,
    scope: ClusterScope,
    query: RawQuery,
    headers: HeaderMap,
) -> Reply {
    state
        .series
        .caught_up(state.store.resource_version())
        .await?;
    list_series(state.0, scope.0, None, query.0, headers, false)
}

pub(super) async fn watch_all_series(
    state: State<SharedState>,
    scope: ClusterScope,
    query: RawQuery,
    headers: HeaderMap,
) -> Reply {
    state
        .series
        .caught_up(state.store.resource_version())
        .await?;
    list_series(state.0, scope.0, None, query.0, headers, true)
}

pub(super) async fn namespaced_series(
    state: State<SharedState>,
    scope: ClusterScope,
    Path(namespace): Path<String>,
    query: RawQuery,
    headers: HeaderMap,
) -> Reply {
    state
        .series
        .caught_up(state.store.resource_version())
        .await?;
    list_series(state.0, scope.0, Some(namespace), query.0, headers, false)
}

pub(super) async fn watch_namespaced_series(
    state: State<SharedState>,
    scope: ClusterScope,
    Path(namespace): Path<String>,
    query: RawQuery,
    headers: HeaderMap,
) -> Reply {
    state
        .series
        .caught_up(state.store.resource_version())
        .await?;
    list_series(state.0, scope.0, Some(namespace), query.0, headers, true)
}

pub(crate) fn not_found(resource: &str, name: &str) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "NotFound",
        format!("{resource}.kevents.io {name:?} not found"),
    )
    .with_details(json!({"name": name, "group": "kevents.io", "kind": resource}))
}

pub(super) async fn one_series(
    State(state): State<SharedState>,
    ClusterScope(cluster): ClusterScope,
    Path((namespace, name)): Path<(String, String)>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Reply {
    state
        .series
        .caught_up(state.store.resource_version())
        .await?;
    let representation = representation(&headers)?;
    let options = ReadOptions::parse(query, false)?;
    let request = SeriesRequest::new(&state, cluster, Some(namespace), &options)?;
    let now = Micros::now();
    let tracker = state.series.tracker.read();
    let series = series_id_of(&name)
        .and_then(|id| tracker.get(&id))
        .filter(|s| series_name(s) == name && request.matches(s, &name))
        .ok_or_else(|| not_found("eventseries", &name))?;
    let object = series_object(series, &state.security.cluster, now);
    let own = cluster_column(&state);
    let table = || {
        table(
            series_columns(own.is_some()),
            vec![row(
                series_cells(series, own.as_deref(), now),
                &object,
                options.with_objects(),
            )],
            json!({"resourceVersion": series.version.to_string()}),
        )
    };
    respond(representation, object.clone(), table)
}

fn cluster_column(state: &AppState) -> Option<String> {
    crate::clusters::cluster_column(state)
}

fn list_series(
    state: SharedState,
    cluster: Option<String>,
    namespace: Option<String>,
    query: Option<String>,
    headers: HeaderMap,
    watch_path: bool,
) -> Reply {
    let representation = representation(&headers)?;
    let options = ReadOptions::parse(query, watch_path)?;
    let request = SeriesRequest::new(&state, cluster, namespace, &options)?;
    if options.watch {
        return watch_series(state, request, options, representation);
    }
    let limit = options
        .number("limit")?
        .filter(|l| *l > 0)
        .map(|l| l as usize);
    let after = options.get("continue").map(decode_continue).transpose()?;
    let now = Micros::now();
    let own = cluster_column(&state);
    let tracker = state.series.tracker.read();
    let mut matching: Vec<((String, String), &Series)> = tracker
        .iter()
        .map(|s| ((s.key().namespace.to_string(), series_name(s)), s))
        .filter(|((_, name), s)| request.matches(s, name))
        .filter(|(key, _)| after.as_ref().is_none_or(|a| key > a))
        .collect();
    matching.sort_by(|a, b| a.0.cmp(&b.0));
    let mut metadata = json!({"resourceVersion": tracker.version().to_string()});
    if let Some(limit) = limit.filter(|l| matching.len() > *l) {
        matching.truncate(limit);
        if let Some(((ns, name), _)) = matching.last() {
            metadata["continue"] = json!(encode_continue(ns, name));
        }
    }
    let objects: Vec<Value> = matching
        .iter()
        .map(|(_, s)| series_object(s, &state.security.cluster, now))
        .collect();
    let rows = || {
        matching
            .iter()
            .zip(&objects)
            .map(|((_, s), object)| {
                row(
                    series_cells(s, own.as_deref(), now),
                    object,
                    options.with_objects(),
                )
            })
            .collect()
    };
    match representation {
        Representation::Table => json_response(
            StatusCode::OK,
            &table(series_columns(own.is_some()), rows(), metadata),
        ),
        _ => respond(
            representation,
            list("EventSeriesList", metadata, objects),
            || Value::Null,
        ),
    }
}

pub(crate) fn list(kind: &str, metadata: Value, items: Vec<Value>) -> Value {
    json!({"apiVersion": API_VERSION, "kind": kind, "metadata": metadata, "items": items})
}

fn encode_continue(namespace: &str, name: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{namespace}/{name}"))
}

fn decode_continue(token: &str) -> Result<(String, String), ApiError> {
    let invalid = || ApiError::bad_request("continue key is not valid");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token.trim_end_matches('='))
        .map_err(|_| invalid())?;
    let text = String::from_utf8(bytes).map_err(|_| invalid())?;
    let (namespace, name) = text.split_once('/').ok_or_else(invalid)?;
    Ok((namespace.to_string(), name.to_string()))
}

/// A watch of series: the current ones first (`ADDED`, unless resuming from a version, then
/// those changed since as `MODIFIED`), then every change.
fn watch_series(
    state: SharedState,
    request: SeriesRequest,
    options: ReadOptions,
    representation: Representation,
) -> Reply {
    let mut live = state.series.feed.subscribe();
    let own = cluster_column(&state);
    let from = options.number("resourceVersion")?.unwrap_or(0);
    let send_initial = options.get("sendInitialEvents") == Some("true");
    let table_rows = representation == Representation::Table;
    let with_objects = options.with_objects();
    let security = state.security.clone();
    let line = move |kind: &str, series: &Series, columns: &mut bool| -> Bytes {
        let now = Micros::now();
        let object = series_object(series, &security.cluster, now);
        let object = if table_rows {
            let columns_value = if *columns {
                Value::Null
            } else {
                series_columns(own.is_some())
            };
            *columns = true;
            table(
                columns_value,
                vec![row(
                    series_cells(series, own.as_deref(), now),
                    &object,
                    with_objects,
                )],
                json!({"resourceVersion": series.version.to_string()}),
            )
        } else {
            object
        };
        let mut bytes = serde_json::to_vec(&json!({"type": kind, "object": object}))
            .expect("JSON values serialize");
        bytes.push(b'\n');
        Bytes::from(bytes)
    };
    let (initial, mut sent_version) = {
        let tracker = state.series.tracker.read();
        let initial: Vec<(&'static str, Series)> = tracker
            .iter()
            .filter(|s| from == 0 || send_initial || s.version > from)
            .filter(|s| request.matches(s, &series_name(s)))
            .map(|s| {
                (
                    if from == 0 || send_initial {
                        "ADDED"
                    } else {
                        "MODIFIED"
                    },
                    s.clone(),
                )
            })
            .collect();
        (initial, tracker.version())
    };
    let timeout = options
        .number("timeoutSeconds")?
        .filter(|t| *t > 0)
        .map(Duration::from_secs);
    let shutdown = state.shutdown.clone();
    Ok(crate::respond::line_watch(
        shutdown,
        timeout,
        move |sender| async move {
            let mut columns = false;
            for (kind, series) in &initial {
                if sender.send(line(kind, series, &mut columns)).await.is_err() {
                    return;
                }
            }
            loop {
                let change: std::sync::Arc<SeriesChange> = match live.recv().await {
                    Ok(change) => change,
                    // Too slow to keep up: end the stream; the client relists.
                    Err(_) => return,
                };
                if change.version <= sent_version && change.kind != "DELETED" {
                    continue;
                }
                sent_version = sent_version.max(change.version);
                if request.matches(&change.series, &series_name(&change.series))
                    && sender
                        .send(line(change.kind, &change.series, &mut columns))
                        .await
                        .is_err()
                {
                    return;
                }
            }
        },
    ))
}
