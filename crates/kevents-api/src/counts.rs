//! `GET /apis/kevents.io/v1[/namespaces/{ns}]/eventcounts`: the live events counted by one
//! field over a window of last-seen times, answered by the store (cold files from their time
//! index), so "reasons in the last 24 hours" over millions of events takes milliseconds
//! instead of listing every event to a client.
//!
//! Parameters: `by` (default `reason`; a field selector label such as `type`,
//! `involvedObject.kind`, `source`, or the short `namespace`, `kind`, `object`, `cluster`),
//! `since` (a Go duration: `24h`) or `from`/`to` (RFC 3339), `fieldSelector`, and `limit`
//! (values returned, default 1,000, 0 for all; the rest are summed in `more`). With `step`
//! (a Go duration) the answer also splits the count into buckets of that width
//! (`count_buckets`).

use crate::clusters::ClusterScope;
use crate::error::ApiError;
use crate::error::Reply;
use crate::negotiate::{representation, Representation};
use crate::query::{parse_query, seen_window};
use crate::respond::{json_response, yaml_response};
use crate::state::SharedState;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::get;
use axum::Router;
use kevents_model::{ApiGroup, EventField, FieldSelector, Micros};
use kevents_store::{CountQuery, Scope};
use serde_json::json;

/// Values returned when the request sets no `limit`; the rest are summed in `more`.
const DEFAULT_LIMIT: usize = 1000;

pub(crate) fn routes(router: Router<SharedState>) -> Router<SharedState> {
    let base = "/apis/kevents.io/v1";
    router
        .route(&format!("{base}/eventcounts"), get(all_namespaces))
        .route(
            &format!("{base}/namespaces/{{namespace}}/eventcounts"),
            get(namespaced),
        )
}

async fn all_namespaces(
    state: State<SharedState>,
    cluster: ClusterScope,
    query: RawQuery,
    headers: HeaderMap,
) -> Reply {
    count(state.0, cluster.0, None, query.0, headers).await
}

async fn namespaced(
    state: State<SharedState>,
    cluster: ClusterScope,
    Path(namespace): Path<String>,
    query: RawQuery,
    headers: HeaderMap,
) -> Reply {
    count(state.0, cluster.0, Some(namespace), query.0, headers).await
}

/// The field `by` names.
fn grouping(by: &str) -> Option<EventField> {
    match by {
        "namespace" => Some(EventField::Namespace),
        "kind" => Some(EventField::ObjectKind),
        "object" => Some(EventField::ObjectName),
        "name" => Some(EventField::Name),
        _ => EventField::from_label(by, ApiGroup::Core)
            .or_else(|| EventField::from_label(by, ApiGroup::Events)),
    }
}

async fn count(
    state: SharedState,
    cluster: Option<String>,
    namespace: Option<String>,
    raw: Option<String>,
    headers: HeaderMap,
) -> Reply {
    let representation = representation(&headers)?;
    let query = parse_query(raw.as_deref())?;
    let by_text = query
        .get("by")
        .filter(|b| !b.is_empty())
        .map_or("reason", String::as_str);
    let by = grouping(by_text).ok_or_else(|| {
        ApiError::bad_request(format!(
            "by: {by_text:?} is not a field events can be counted by (reason, type, namespace, \
             kind, object, source, reportingComponent, cluster, or a field selector label)"
        ))
    })?;
    if by == EventField::Name {
        return Err(ApiError::bad_request(
            "by: every event has a name of its own; count by object, reason, type, ...",
        ));
    }
    let limit = match query.get("limit").filter(|l| !l.is_empty()) {
        None => DEFAULT_LIMIT,
        Some(text) => text.parse::<usize>().map_err(|_| {
            ApiError::bad_request(format!("limit: {text:?} is not a number of values"))
        })?,
    };
    if query.get("labelSelector").is_some_and(|l| !l.is_empty()) {
        return Err(ApiError::bad_request(
            "labelSelector: eventcounts select by fields only; list events to select by labels",
        ));
    }
    let now = Micros::now();
    let seen = seen_window(&query, now)?.unwrap_or_default();
    let buckets =
        crate::count_buckets::buckets_of(query.get("step").map(String::as_str), seen, now)?;
    let own = state.security.cluster.clone();
    let mut fields = match query.get("fieldSelector").filter(|f| !f.is_empty()) {
        None => FieldSelector::default(),
        Some(text) => FieldSelector::parse(text, ApiGroup::Core)
            .or_else(|_| FieldSelector::parse(text, ApiGroup::Events))
            .map_err(|e| ApiError::bad_request(e.to_string()))?,
    };
    crate::filter::own_cluster_is_empty(&mut fields, &own);
    let cluster = cluster
        .or_else(|| fields.exact(EventField::Cluster).map(str::to_string))
        .map(|c| if c == own { String::new() } else { c });
    let namespace = namespace.or_else(|| fields.exact(EventField::Namespace).map(str::to_string));
    let store = state.store.clone();
    let (counts, split) = tokio::task::spawn_blocking(move || {
        let query = CountQuery {
            scope: Scope {
                cluster: cluster.as_deref(),
                namespace: namespace.as_deref(),
            },
            fields: (!fields.is_empty()).then_some(&fields),
            seen,
            by,
        };
        match buckets {
            None => (store.count(query), None),
            Some(buckets) => {
                let split = store.count_buckets(query, &buckets);
                let counts = kevents_store::Counts {
                    items: split.all.clone(),
                    resource_version: split.resource_version,
                    chunks_read: 0,
                    blocks_read: 0,
                };
                (counts, Some((split, buckets)))
            }
        }
    })
    .await
    .map_err(ApiError::internal)?;
    let display = |c: &kevents_store::Counted| {
        if by == EventField::Cluster && c.value.is_empty() {
            own.clone()
        } else {
            c.value.clone()
        }
    };
    let (events, occurrences) = counts
        .items
        .iter()
        .fold((0, 0), |(e, o), c| (e + c.events, o + c.occurrences));
    let shown = if limit == 0 {
        counts.items.len()
    } else {
        limit.min(counts.items.len())
    };
    let (rest_events, rest_occurrences) = counts.items[shown..]
        .iter()
        .fold((0, 0), |(e, o), c| (e + c.events, o + c.occurrences));
    let items: Vec<_> = counts.items[..shown]
        .iter()
        .map(|c| json!({"value": display(c), "events": c.events, "occurrences": c.occurrences}))
        .collect();
    let mut body = json!({
        "apiVersion": "kevents.io/v1",
        "kind": "EventCountList",
        "metadata": {"resourceVersion": counts.resource_version.to_string()},
        "by": by_text,
        "from": seen.from.map(Micros::to_micro_time_string),
        "to": seen.to.map(Micros::to_micro_time_string),
        "total": {"events": events, "occurrences": occurrences},
        "items": items,
    });
    if shown < counts.items.len() {
        body["more"] = json!({
            "values": counts.items.len() - shown,
            "events": rest_events,
            "occurrences": rest_occurrences,
        });
    }
    if let Some((split, buckets)) = &split {
        body["step"] = json!(query.get("step"));
        body["buckets"] = crate::count_buckets::buckets_body(split, buckets, limit, display);
    }
    match representation {
        Representation::Yaml => yaml_response(StatusCode::OK, &body),
        _ => json_response(StatusCode::OK, &body),
    }
}
