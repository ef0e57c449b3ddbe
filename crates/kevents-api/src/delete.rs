//! Deletes: one event (200 with a Success Status) and deletecollection with selectors.

use crate::body::{read_delete_options, WriteOptions};
use crate::error::Reply;
use crate::error::{ApiError, ApiResult};
use crate::filter::Filter;
use crate::query::{parse_query, parse_resource_version, ListOptions};
use crate::respond::json_response;
use crate::state::{SharedState, Target};
use axum::extract::Request;
use axum::http::StatusCode;
use kevents_model::wire::EventView;
use kevents_model::{ApiGroup, EventKey};
use kevents_store::{ListQuery, Mutation};
use serde_json::{json, Map, Value};

fn parse_delete_options(bytes: &[u8]) -> ApiResult<(Option<u64>, Option<String>, bool)> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok((None, None, false));
    }
    let options: Map<String, Value> = serde_json::from_slice(bytes)
        .map_err(|e| ApiError::bad_request(format!("error decoding DeleteOptions: {e}")))?;
    let preconditions = options.get("preconditions").cloned().unwrap_or(Value::Null);
    let expected_rv = preconditions["resourceVersion"]
        .as_str()
        .filter(|s| !s.is_empty())
        .map(parse_resource_version)
        .transpose()?;
    let expected_uid = preconditions["uid"]
        .as_str()
        .filter(|s| !s.is_empty())
        .map(str::to_string);
    let dry_run = options
        .get("dryRun")
        .and_then(Value::as_array)
        .is_some_and(|values| values.iter().any(|v| v == "All"));
    Ok((expected_rv, expected_uid, dry_run))
}

/// `DELETE …/namespaces/{ns}/events/{name}`: 200 with a Success Status.
pub async fn delete(
    state: SharedState,
    target: Target,
    query: Option<String>,
    request: Request,
) -> Reply {
    let (parts, body) = request.into_parts();
    let options = WriteOptions::parse(&parse_query(query.as_deref())?)?;
    let bytes = read_delete_options(body, &parts.headers, state.config.max_body_bytes).await?;
    let (expected_rv, expected_uid, body_dry_run) = parse_delete_options(&bytes)?;
    let group = target.group;
    let name = target.name.clone().unwrap_or_default();
    let key = EventKey::in_cluster(
        target.write_cluster(),
        target.namespace.clone().unwrap_or_default(),
        name.clone(),
    );
    let uid = if options.dry_run || body_dry_run {
        let current = state
            .store
            .get(&key)
            .ok_or_else(|| ApiError::not_found(group, &name))?;
        current.record.uid.clone()
    } else {
        let committed = state
            .store
            .write(Mutation::Delete {
                key,
                expected_rv,
                expected_uid,
            })
            .await
            .map_err(|e| ApiError::from_store(e, group, &name))?;
        committed.object.record.uid.clone()
    };
    let mut details = json!({"name": name, "kind": "events", "uid": uid});
    if group == ApiGroup::Events {
        details["group"] = json!("events.k8s.io");
    }
    json_response(
        StatusCode::OK,
        &json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "details": details}),
    )
}

/// `DELETE …/namespaces/{ns}/events` with selectors: returns the deleted events as a list.
pub async fn delete_collection(
    state: SharedState,
    target: Target,
    query: Option<String>,
    request: Request,
) -> Reply {
    let (parts, body) = request.into_parts();
    let query = parse_query(query.as_deref())?;
    let write_options = WriteOptions::parse(&query)?;
    let list_options = ListOptions::parse(&query, target.group)?;
    let bytes = read_delete_options(body, &parts.headers, state.config.max_body_bytes).await?;
    let (_, _, body_dry_run) = parse_delete_options(&bytes)?;
    // At the root a deletecollection removes the hub's own events only, like a single delete.
    let target = Target {
        cluster: Some(target.write_cluster().to_string()),
        ..target
    };
    let filter = Filter::new(&target, list_options, &state.security.cluster);
    let scan = filter.scan_scope();
    let query = ListQuery {
        scope: scan.as_scope(),
        ..ListQuery::default()
    };
    let page = state
        .store
        .list(query, |e| filter.matches(e))
        .map_err(ApiError::internal)?;
    let mut deleted = Vec::new();
    if write_options.dry_run || body_dry_run {
        deleted = page.items;
    } else {
        let mutations = page
            .items
            .iter()
            .map(|e| Mutation::Delete {
                key: e.record.key(),
                expected_rv: None,
                expected_uid: Some(e.record.uid.clone()),
            })
            .collect();
        for result in state.store.write_many(mutations).await {
            match result {
                Ok(committed) => deleted.push(committed.object),
                // Deleted or replaced meanwhile: not ours to report.
                Err(kevents_store::StoreError::NotFound(_))
                | Err(kevents_store::StoreError::Conflict(_)) => {}
                Err(e) => return Err(ApiError::from_store(e, target.group, "")),
            }
        }
    }
    let items: Vec<Value> = deleted
        .iter()
        .map(|e| serde_json::to_value(EventView::new(&e.record, target.group)))
        .collect::<Result<_, _>>()
        .map_err(ApiError::internal)?;
    json_response(
        StatusCode::OK,
        &json!({
            "kind": "EventList",
            "apiVersion": target.group.api_version(),
            "metadata": {"resourceVersion": state.store.resource_version().to_string()},
            "items": items,
        }),
    )
}
