//! `eventpatterns`: series merged across objects by cluster, reason and template.

use super::encode::{pattern_cells, pattern_columns, pattern_id_of, pattern_name, pattern_object};
use super::select::{pattern_subject, Selector};
use crate::clusters::ClusterScope;
use crate::error::ApiError;
use crate::error::Reply;
use crate::negotiate::representation;
use crate::served::view::{list_reply, not_found, one_reply, ReadOptions, View};
use crate::state::SharedState;
use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use kevents_correlate::Pattern;
use kevents_model::Micros;
use serde_json::{json, Value};

/// Patterns as `EventPattern` objects, at the series state's version.
struct Patterns {
    own_cluster: String,
    version: u64,
}

impl View for Patterns {
    type Item = Pattern;

    fn columns(&self) -> Value {
        pattern_columns()
    }

    fn object(&self, pattern: &Pattern, _: Micros) -> Value {
        pattern_object(pattern, &self.own_cluster, self.version)
    }

    fn cells(&self, pattern: &Pattern, _: &Value, now: Micros) -> Value {
        pattern_cells(pattern, &self.own_cluster, now)
    }
}

pub(super) async fn all_patterns(
    State(state): State<SharedState>,
    ClusterScope(cluster): ClusterScope,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Reply {
    state.series_caught_up().await?;
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
    let tracker = state.series.tracker.read();
    let version = tracker.version();
    let patterns = tracker.patterns(|s| {
        cluster
            .as_ref()
            .is_none_or(|c| s.key().cluster == c.as_str())
    });
    let patterns: Vec<&Pattern> = patterns
        .iter()
        .filter(|p| selector.matches(&pattern_subject(p, &pattern_name(p))))
        .collect();
    let view = Patterns {
        own_cluster: state.security.cluster.clone(),
        version,
    };
    list_reply(
        &view,
        "EventPatternList",
        &patterns,
        json!({"resourceVersion": version.to_string()}),
        representation,
        options.with_objects(),
    )
}

pub(super) async fn one_pattern(
    State(state): State<SharedState>,
    ClusterScope(cluster): ClusterScope,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> Reply {
    state.series_caught_up().await?;
    let representation = representation(&headers)?;
    let id = pattern_id_of(&name).ok_or_else(|| not_found("eventpatterns", &name))?;
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
    let view = Patterns {
        own_cluster: state.security.cluster.clone(),
        version,
    };
    one_reply(&view, &pattern, representation, false)
}
