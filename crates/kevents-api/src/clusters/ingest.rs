//! `POST /kevents/v1/clusters/{name}/ingest`: a collector's batch of source events, applied
//! idempotently (a source object's version is applied once, replays are skipped), then its cursor
//! stored; and `GET /kevents/v1/clusters[/{name}]` (the list also watched: `watch.rs`).

use super::known::known_clusters;
use super::naming::{check_name, settle_cluster};
use crate::body::read_body;
use crate::error::ApiError;
use crate::error::Reply;
use crate::query::parse_query;
use crate::respond::json_response;
use crate::state::SharedState;
use axum::extract::{Path, RawQuery, Request, State};
use axum::http::StatusCode;
use kevents_model::validation::validate_create;
use kevents_model::wire::decode_event_text;
use kevents_model::{ApiGroup, EventKey, EventRecord, Micros};
use kevents_store::{Mutation, StoreError};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::{json, Value};
use std::collections::BTreeMap;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct IngestRequest<'a> {
    /// Kept as text (borrowed from the body): each is decoded once, and again only if a lost
    /// race makes it retry.
    #[serde(borrow)]
    events: Vec<&'a RawValue>,
    #[serde(default)]
    cursor: Option<String>,
    #[serde(default)]
    lag_seconds: Option<f64>,
    /// What the collector's last list found (with the list's cursor).
    #[serde(default)]
    list: Option<super::lost::ListReport>,
}

#[derive(Serialize)]
struct ItemError {
    index: usize,
    message: String,
}

/// Lost races are retried this often before the batch fails (one collector per cluster makes
/// them rare: they come from clients writing to `/clusters/{name}` directly).
const ATTEMPTS: usize = 5;

/// `POST /kevents/v1/clusters/{cluster}/ingest`.
pub(super) async fn ingest(
    State(state): State<SharedState>,
    Path(cluster): Path<String>,
    request: Request,
) -> Reply {
    check_name(&cluster)?;
    if cluster == state.security.cluster {
        return Err(ApiError::bad_request(format!(
            "cluster {cluster:?} is this hub's own name (--cluster-name): collect it under another name"
        )));
    }
    let (parts, body) = request.into_parts();
    let bytes = read_body(body, &parts.headers, state.config.max_body_bytes).await?;
    let batch: IngestRequest = serde_json::from_slice(&bytes)
        .map_err(|e| ApiError::bad_request(format!("invalid ingest request: {e}")))?;
    let lock = state.clusters.ingest_lock(&cluster);
    let _one_at_a_time = lock.lock().await;
    let mut errors = Vec::new();
    let mut pending: BTreeMap<EventKey, (usize, EventRecord)> = BTreeMap::new();
    let received = Micros::now();
    for (index, raw) in batch.events.iter().copied().enumerate() {
        match source_record(raw, &cluster) {
            // Of several versions of one object in a batch, the newest wins.
            Ok(record) => match pending.get(&record.key()) {
                Some((_, held)) if !newer(&record, &held.source_resource_version) => {}
                _ => {
                    pending.insert(record.key(), (index, record));
                }
            },
            Err(message) => errors.push(ItemError { index, message }),
        }
    }
    let newest_source_time = pending.values().filter_map(|(_, r)| source_time(r)).max();
    let mut applied = 0u64;
    let mut skipped = 0u64;
    let mut lost = String::new();
    for _ in 0..ATTEMPTS {
        let mut mutations = Vec::with_capacity(pending.len());
        let mut order = Vec::with_capacity(pending.len());
        for (key, (index, record)) in std::mem::take(&mut pending) {
            let mutation = match state.store.get(&key) {
                Some(held) if !newer(&record, &held.record.source_resource_version) => {
                    skipped += 1;
                    continue;
                }
                Some(held) => Mutation::Update {
                    expected_rv: Some(held.record.resource_version),
                    record,
                },
                None => Mutation::Create(record),
            };
            mutations.push(mutation);
            order.push((key, index));
        }
        let results = state.store.write_many(mutations).await;
        for ((key, index), result) in order.into_iter().zip(results) {
            match result {
                Ok(_) => applied += 1,
                // A lost race: decoded again (the record went into the mutation) and retried.
                Err(
                    StoreError::Conflict(_)
                    | StoreError::AlreadyExists(_)
                    | StoreError::NotFound(_),
                ) => match source_record(batch.events[index], &cluster) {
                    Ok(record) => {
                        pending.insert(key, (index, record));
                    }
                    Err(message) => errors.push(ItemError { index, message }),
                },
                Err(StoreError::TooLarge { bytes, limit }) => errors.push(ItemError {
                    index,
                    message: format!("the event is {bytes} bytes, the limit is {limit}"),
                }),
                Err(e) => return Err(ApiError::from_store(e, ApiGroup::Core, &key.name)),
            }
        }
        if pending.is_empty() {
            break;
        }
        lost = pending
            .keys()
            .next()
            .map(|k| k.name.clone())
            .unwrap_or_default();
    }
    if !pending.is_empty() {
        return Err(ApiError::conflict(ApiGroup::Core, &lost));
    }
    errors.sort_by_key(|e| e.index);
    let invalid = errors.len() as u64;
    state
        .clusters
        .touch(&cluster, applied, skipped, invalid, batch.lag_seconds);
    if let Some(version) = collector_version(&parts.headers) {
        state.clusters.record_collector_version(&cluster, version);
    }
    if let Some(newest) = newest_source_time {
        let ahead = (newest.0 - received.0) as f64 / 1e6;
        state.clusters.record_clock(&cluster, ahead);
    }
    if let Some(report) = &batch.list {
        super::lost::record(&state, &cluster, report).await;
    }
    let cursor = batch.cursor.filter(|c| !c.is_empty());
    if cursor.is_none() && state.clusters.contact_is_stale(&cluster) {
        let registry = state.clusters.clone();
        match tokio::task::spawn_blocking(move || registry.persist_contacts()).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::warn!(%cluster, error = %e, "storing the last contact"),
            Err(e) => tracing::warn!(%cluster, error = %e, "storing the last contact"),
        }
    }
    if let Some(cursor) = cursor {
        let registry = state.clusters.clone();
        let name = cluster.clone();
        tokio::task::spawn_blocking(move || registry.set_cursor(&name, &cursor))
            .await
            .map_err(|e| ApiError::internal(format!("storing the cursor of {cluster}: {e}")))?
            .map_err(|e| ApiError::internal(format!("storing the cursor of {cluster}: {e}")))?;
    }
    let cursor = state.clusters.get(&cluster).unwrap_or_default().cursor;
    json_response(
        StatusCode::OK,
        &json!({"applied": applied, "skipped": skipped, "errors": errors, "cursor": cursor}),
    )
}

/// A source event as the hub keeps it: in its cluster, with its source identity and times.
fn source_record(raw: &RawValue, cluster: &str) -> Result<EventRecord, String> {
    let decoded = decode_event_text(ApiGroup::Core, raw.get()).map_err(|e| e.to_string())?;
    let mut record = decoded.record;
    record.source_resource_version = decoded
        .resource_version
        .ok_or("metadata.resourceVersion: required for collected events")?;
    record.uid = decoded.uid.unwrap_or_else(crate::uid::new_uid);
    record.creation_timestamp = decoded
        .creation_timestamp
        .or_else(|| Some(Micros::now().truncate_to_seconds()));
    settle_cluster(&mut record, cluster);
    let errors = validate_create(&record, ApiGroup::Core);
    if let Some(first) = errors.first() {
        return Err(first.to_string());
    }
    Ok(record)
}

/// The latest time the source wrote on an event (its clock).
fn source_time(record: &EventRecord) -> Option<Micros> {
    [
        record.last_timestamp,
        record.event_time,
        record.series.as_ref().and_then(|s| s.last_observed),
    ]
    .into_iter()
    .flatten()
    .max()
}

/// True when `record` is a newer version of its source object than `held`: resourceVersions of
/// one apiserver grow, so they compare as numbers; anything else that differs counts as newer.
fn newer(record: &EventRecord, held: &str) -> bool {
    let incoming = &record.source_resource_version;
    match (incoming.parse::<u64>(), held.parse::<u64>()) {
        (Ok(incoming), Ok(held)) => incoming > held,
        _ => incoming != held,
    }
}

/// The version `kevents collect` names in its `User-Agent` (`kevents/0.1.0`, as every kevents
/// client); none for other clients.
fn collector_version(headers: &axum::http::HeaderMap) -> Option<&str> {
    let agent = headers.get(axum::http::header::USER_AGENT)?.to_str().ok()?;
    let version = agent.strip_prefix("kevents/")?;
    let plausible = !version.is_empty()
        && version.len() <= 64
        && version
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b".-+".contains(&b));
    plausible.then_some(version)
}

/// `GET /kevents/v1/clusters`: every cluster with events or a collector, and the hub's own;
/// with `watch=true`, their changes as they happen.
pub(super) async fn list_clusters(
    State(state): State<SharedState>,
    RawQuery(query): RawQuery,
) -> Reply {
    let query = parse_query(query.as_deref())?;
    if matches!(query.get("watch").map(String::as_str), Some("true" | "1")) {
        let timeout = query
            .get("timeoutSeconds")
            .and_then(|t| t.parse::<u64>().ok())
            .filter(|t| *t > 0)
            .map(std::time::Duration::from_secs);
        return super::watch::watch_clusters(state, timeout);
    }
    let items: Vec<Value> = known_clusters(&state).into_values().collect();
    json_response(
        StatusCode::OK,
        &json!({"kind": "ClusterList", "apiVersion": "kevents.io/v1", "items": items}),
    )
}

/// `GET /kevents/v1/clusters/{cluster}`.
pub(super) async fn get_cluster(
    State(state): State<SharedState>,
    Path(cluster): Path<String>,
) -> Reply {
    match known_clusters(&state).remove(&cluster) {
        Some(info) => json_response(StatusCode::OK, &info),
        None => Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "NotFound",
            format!("cluster {cluster:?} not found"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_version(rv: &str) -> EventRecord {
        EventRecord {
            source_resource_version: rv.into(),
            ..Default::default()
        }
    }

    #[test]
    fn the_collector_version_is_read_from_its_user_agent_only() {
        let agent = |value: &str| {
            let mut headers = axum::http::HeaderMap::new();
            headers.insert(axum::http::header::USER_AGENT, value.parse().unwrap());
            headers
        };
        assert_eq!(collector_version(&agent("kevents/0.2.1")), Some("0.2.1"));
        assert_eq!(
            collector_version(&agent("kevents/0.2.0-rc.1+g1")),
            Some("0.2.0-rc.1+g1")
        );
        assert_eq!(
            collector_version(&agent("curl/8.5.0")),
            None,
            "another client"
        );
        assert_eq!(collector_version(&agent("kevents/<b>")), None);
        assert_eq!(collector_version(&agent("kevents/")), None);
        assert_eq!(collector_version(&axum::http::HeaderMap::new()), None);
    }

    #[test]
    fn source_versions_compare_as_numbers() {
        assert!(newer(&with_version("10"), "9"));
        assert!(!newer(&with_version("9"), "10"));
        assert!(!newer(&with_version("10"), "10"));
        assert!(newer(&with_version("10"), ""));
        assert!(newer(&with_version("opaque-b"), "opaque-a"));
        assert!(!newer(&with_version("opaque-a"), "opaque-a"));
    }

    #[test]
    fn source_records_keep_source_identity() {
        let value = json!({
            "metadata": {"name": "web.1", "namespace": "default", "uid": "u-1",
                         "resourceVersion": "42", "creationTimestamp": "2026-01-02T03:04:05Z"},
            "involvedObject": {"kind": "Pod", "name": "web", "namespace": "default"},
            "reason": "BackOff", "message": "m", "type": "Warning", "count": 3,
            "source": {"component": "kubelet"},
            "firstTimestamp": "2026-01-02T03:04:05Z", "lastTimestamp": "2026-01-02T03:05:05Z"
        });
        let raw = RawValue::from_string(value.to_string()).unwrap();
        let record = source_record(&raw, "prod").unwrap();
        assert_eq!(record.cluster, "prod");
        assert_eq!(record.source_resource_version, "42");
        assert_eq!(record.uid, "u-1");
        assert_eq!(record.count, 3);
        assert_eq!(record.labels[super::super::CLUSTER_LABEL], "prod");
        assert_eq!(
            record.creation_timestamp,
            Micros::parse("2026-01-02T03:04:05Z")
        );
        let missing_version = json!({"metadata": {"name": "x", "namespace": "default"},
            "involvedObject": {"kind": "Pod", "name": "web", "namespace": "default"}});
        let raw = RawValue::from_string(missing_version.to_string()).unwrap();
        assert!(source_record(&raw, "prod").is_err());
    }
}
