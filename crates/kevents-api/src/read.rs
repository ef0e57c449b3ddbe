//! GET of one event, and list (which hands off to watch when asked).

use crate::error::ApiError;
use crate::error::Reply;
use crate::filter::Filter;
use crate::negotiate::representation;
use crate::query::{parse_query, ContinueToken, ListOptions, VersionMatch};
use crate::respond::{list_response, object_response};
use crate::state::{SharedState, Target};
use crate::watch;
use axum::http::{HeaderMap, StatusCode};
use kevents_model::{EventField, EventKey, EventRecord};
use kevents_store::ListQuery;
use serde_json::{json, Map, Value};

/// `GET …/namespaces/{ns}/events/{name}`.
pub async fn get_one(
    state: SharedState,
    target: Target,
    query: Option<String>,
    headers: HeaderMap,
) -> Reply {
    let representation = representation(&headers)?;
    let query = parse_query(query.as_deref())?;
    let options = ListOptions::parse(&query, target.group)?;
    let namespace = target.namespace.clone().unwrap_or_default();
    let name = target.name.clone().unwrap_or_default();
    let stored = match &target.cluster {
        Some(cluster) => state
            .store
            .get(&EventKey::in_cluster(cluster, &namespace, &name)),
        // The root reads every cluster: the hub's own events first, then collected ones.
        None => state.store.clusters().into_iter().find_map(|(cluster, _)| {
            state
                .store
                .get(&EventKey::in_cluster(cluster, &namespace, &name))
        }),
    }
    .ok_or_else(|| ApiError::not_found(target.group, &name))?;
    object_response(
        StatusCode::OK,
        &stored.record,
        target.group,
        representation,
        options.include_object,
        crate::clusters::cluster_column(&state).as_deref(),
    )
}

/// `GET …/events` (list), or a watch when `watch=true` or on a `/watch/` path.
pub async fn list_or_watch(
    state: SharedState,
    target: Target,
    query: Option<String>,
    headers: HeaderMap,
    watch_path: bool,
) -> Reply {
    let representation = representation(&headers)?;
    let query = parse_query(query.as_deref())?;
    let options = ListOptions::parse(&query, target.group)?;
    if options.watch || watch_path {
        let filter = Filter::new(&target, options, &state.security.cluster);
        return watch::start(state, target.group, filter, representation);
    }
    let current = state.store.resource_version();
    // A token names the version its first page was read at, which cannot be newer than now.
    if let Some(token) = options.continue_from.as_ref() {
        if token.resource_version > current {
            return Err(ApiError::too_large_resource_version(
                token.resource_version,
                current,
            ));
        }
    }
    // The version to read at: a continue token's, or an exact one asked for (explicitly, or as
    // the apiserver reads `resourceVersion=N` with a limit); otherwise the current state.
    let mut at = options.continue_from.as_ref().map(|c| c.resource_version);
    if let Some(requested) = options.resource_version_number.filter(|rv| *rv > 0) {
        if requested > current {
            return Err(ApiError::too_large_resource_version(requested, current));
        }
        let exact = match options.version_match {
            Some(VersionMatch::Exact) => true,
            Some(VersionMatch::NotOlderThan) => false,
            None => options.limit.is_some(),
        };
        if exact {
            at = Some(requested);
        }
    }
    let group = target.group;
    let include = options.include_object;
    let limit = options.limit;
    let continue_from = options.continue_from.clone();
    let seen = options.seen;
    let filter = Filter::new(&target, options, &state.security.cluster);
    let scan = filter.scan_scope();
    let page = state
        .store
        .list(
            ListQuery {
                scope: scan.as_scope(),
                start_after: continue_from.as_ref().map(|c| &c.after),
                limit,
                object_name: filter.options.fields.exact(EventField::ObjectName),
                fields: Some(&filter.options.fields),
                at,
                seen,
            },
            |event| filter.matches(event),
        )
        .map_err(|_| match &continue_from {
            Some(_) => ApiError::expired(
                "The provided continue parameter is too old to display a consistent list result. \
             You can start a new list without the continue parameter.",
            ),
            None => ApiError::expired("The resourceVersion for the provided list is too old."),
        })?;
    let list_rv = page.resource_version;
    let mut metadata = Map::new();
    metadata.insert("resourceVersion".into(), json!(list_rv.to_string()));
    if let Some(after) = page.continue_after {
        let token = ContinueToken {
            resource_version: list_rv,
            after,
            seen,
        };
        metadata.insert("continue".into(), json!(token.encode()));
    }
    let items: Vec<&EventRecord> = page.items.iter().map(|e| &e.record).collect();
    list_response(
        &items,
        group,
        Value::Object(metadata),
        representation,
        include,
        crate::clusters::cluster_column(&state).as_deref(),
    )
}
