//! `eventpatterns`: series merged across objects by cluster, reason and template.

use super::encode::{pattern_cells, pattern_columns, pattern_id_of, pattern_name, pattern_object};
use super::handlers::{list, not_found, respond, row, table, ReadOptions};
use super::select::{pattern_subject, Selector};
use crate::clusters::ClusterScope;
use crate::error::ApiError;
use crate::error::Reply;
use crate::negotiate::{representation, Representation};
use crate::respond::json_response;
use crate::state::SharedState;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use kevents_model::Micros;
use serde_json::{json, Value};

pub(super) async fn all_patterns(
    State(state): State<SharedState>,
    ClusterScope(cluster): ClusterScope,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Reply {
    state
        .series
        .caught_up(state.store.resource_version())
        .await?;
    let representation = representation(&headers)?;
    let options = ReadOptions::parse(query, false)?;
    if options.watch {
        return Err(ApiError::method_not_allowed());
    }
    let selector = Selector::parse(
        options.get("fieldSelector"),
        options.get("labelSelector"),
        &state.security.cluster,
    )?;
    let now = Micros::now();
    let tracker = state.series.tracker.read();
    let version = tracker.version();
    let patterns = tracker.patterns(|s| {
        cluster
            .as_ref()
            .is_none_or(|c| s.key().cluster == c.as_str())
    });
    let patterns: Vec<_> = patterns
        .into_iter()
        .filter(|p| selector.matches(&pattern_subject(p, &pattern_name(p))))
        .collect();
    let own = &state.security.cluster;
    let objects: Vec<Value> = patterns
        .iter()
        .map(|p| pattern_object(p, own, version))
        .collect();
    let metadata = json!({"resourceVersion": version.to_string()});
    match representation {
        Representation::Table => {
            let rows = patterns
                .iter()
                .zip(&objects)
                .map(|(p, o)| row(pattern_cells(p, own, now), o, options.with_objects()))
                .collect();
            json_response(StatusCode::OK, &table(pattern_columns(), rows, metadata))
        }
        _ => respond(
            representation,
            list("EventPatternList", metadata, objects),
            || Value::Null,
        ),
    }
}

pub(super) async fn one_pattern(
    State(state): State<SharedState>,
    ClusterScope(cluster): ClusterScope,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> Reply {
    state
        .series
        .caught_up(state.store.resource_version())
        .await?;
    let representation = representation(&headers)?;
    let id = pattern_id_of(&name).ok_or_else(|| not_found("eventpatterns", &name))?;
    let now = Micros::now();
    let tracker = state.series.tracker.read();
    let version = tracker.version();
    let pattern = tracker
        .patterns(|s| {
            cluster
                .as_ref()
                .is_none_or(|c| s.key().cluster == c.as_str())
        })
        .into_iter()
        .find(|p| p.id == id)
        .ok_or_else(|| not_found("eventpatterns", &name))?;
    let own = &state.security.cluster;
    let object = pattern_object(&pattern, own, version);
    let table = || {
        table(
            pattern_columns(),
            vec![row(pattern_cells(&pattern, own, now), &object, false)],
            json!({"resourceVersion": version.to_string()}),
        )
    };
    respond(representation, object.clone(), table)
}
