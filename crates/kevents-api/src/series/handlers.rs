//! HTTP handlers of `eventseries` (get, list, watch) and `eventpatterns` (get, list). They
//! read once the series state has caught up with the store (a `503` while it is rebuilt).

use super::encode::{series_cells, series_columns, series_id_of, series_name, series_object};
use super::feed::{FeedReceiver, SeriesChange};
use super::select::{series_subject, Selector};
use crate::clusters::ClusterScope;
use crate::error::ApiError;
use crate::error::Reply;
use crate::negotiate::{representation, Representation};
use crate::served::view::{list_reply, not_found, one_reply, Feed, ReadOptions, View, Watch};
use crate::served::Collection;
use crate::state::{AppState, SharedState};
use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use base64::Engine;
use kevents_correlate::Series;
use kevents_model::Micros;
use serde_json::{json, Value};
use std::sync::Arc;

/// Series as `EventSeries` objects; the Table has a `Cluster` column when the hub holds
/// collected clusters.
pub(super) struct SeriesView {
    own_cluster: String,
    cluster_column: Option<String>,
}

impl SeriesView {
    pub(super) fn new(state: &AppState) -> SeriesView {
        SeriesView {
            own_cluster: state.security.cluster.clone(),
            cluster_column: crate::clusters::cluster_column(state),
        }
    }
}

impl View for SeriesView {
    type Item = Series;

    fn columns(&self) -> Value {
        series_columns(self.cluster_column.is_some())
    }

    fn object(&self, series: &Series, now: Micros) -> Value {
        series_object(series, &self.own_cluster, now)
    }

    fn cells(&self, series: &Series, _: &Value, now: Micros) -> Value {
        series_cells(series, self.cluster_column.as_deref(), now)
    }
}

impl Feed for FeedReceiver {
    type Change = SeriesChange;

    async fn next(&mut self) -> Option<Arc<SeriesChange>> {
        self.recv().await.ok()
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

pub(super) async fn read_series(state: SharedState, at: Collection) -> Reply {
    state.series_caught_up().await?;
    list_series(state, at)
}

pub(super) async fn one_series(
    State(state): State<SharedState>,
    ClusterScope(cluster): ClusterScope,
    Path((namespace, name)): Path<(String, String)>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Reply {
    state.series_caught_up().await?;
    let representation = representation(&headers)?;
    let options = ReadOptions::parse(query, false)?;
    let request = SeriesRequest::new(&state, cluster, Some(namespace), &options)?;
    let tracker = state.series.tracker.read();
    let series = series_id_of(&name)
        .and_then(|id| tracker.get(&id))
        .filter(|s| series_name(s) == name && request.matches(s, &name))
        .ok_or_else(|| not_found("eventseries", &name))?;
    one_reply(
        &SeriesView::new(&state),
        series,
        representation,
        options.with_objects(),
    )
}

fn list_series(state: SharedState, at: Collection) -> Reply {
    let representation = representation(&at.headers)?;
    let options = ReadOptions::parse(at.query, at.watch_path)?;
    let request = SeriesRequest::new(&state, at.cluster, at.namespace, &options)?;
    if options.watch {
        return watch_series(state, request, options, representation);
    }
    let limit = options
        .number("limit")?
        .filter(|l| *l > 0)
        .map(|l| l as usize);
    let after = options.get("continue").map(decode_continue).transpose()?;
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
    let items: Vec<&Series> = matching.iter().map(|(_, s)| *s).collect();
    list_reply(
        &SeriesView::new(&state),
        "EventSeriesList",
        &items,
        metadata,
        representation,
        options.with_objects(),
    )
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
    let feed = state.series.feed.subscribe();
    let from = options.number("resourceVersion")?.unwrap_or(0);
    let send_initial = options.get("sendInitialEvents") == Some("true");
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
    let watch = Watch {
        view: SeriesView::new(&state),
        representation,
        with_objects: options.with_objects(),
        timeout: options.timeout()?,
        initial,
        feed,
        item: |change: &SeriesChange| &change.series,
    };
    watch.stream(&state, move |change| {
        if change.version <= sent_version && change.kind != "DELETED" {
            return None;
        }
        sent_version = sent_version.max(change.version);
        request
            .matches(&change.series, &series_name(&change.series))
            .then_some(change.kind)
    })
}
