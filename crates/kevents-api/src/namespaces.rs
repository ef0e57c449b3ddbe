//! `GET /api/v1/namespaces[/{name}]`, read-only: the namespaces that hold events. kubectl asks
//! for the namespace after a `NotFound` (`kubectl get event x -n ns`) to tell a missing object
//! from a missing namespace, so serving them gives the apiserver's messages; and `kubectl get
//! namespaces` lists where events are. Writes answer `405 MethodNotAllowed`.

use crate::clusters::ClusterScope;
use crate::error::ApiError;
use crate::error::{not_allowed, Reply};
use crate::negotiate::{representation, Representation};
use crate::respond::{json_response, respond, row, table, yaml_response};
use crate::state::SharedState;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::get;
use axum::Router;
use kevents_model::EventField;
use kevents_store::{CountQuery, ListQuery, Scope, TimeWindow};
use serde_json::{json, Value};

pub(crate) fn routes(router: Router<SharedState>) -> Router<SharedState> {
    router
        .route("/api/v1/namespaces", get(list).fallback(not_allowed()))
        .route(
            "/api/v1/namespaces/{namespace}",
            get(one).fallback(not_allowed()),
        )
}

async fn list(
    State(state): State<SharedState>,
    ClusterScope(cluster): ClusterScope,
    headers: HeaderMap,
) -> Reply {
    let representation = representation(&headers)?;
    let store = state.store.clone();
    let counts = tokio::task::spawn_blocking(move || {
        store.count(CountQuery {
            scope: Scope {
                cluster: cluster.as_deref(),
                namespace: None,
            },
            fields: None,
            seen: TimeWindow::default(),
            by: EventField::Namespace,
        })
    })
    .await
    .map_err(ApiError::internal)?;
    let mut names: Vec<&str> = counts.items.iter().map(|c| c.value.as_str()).collect();
    names.sort_unstable();
    let objects: Vec<Value> = names.iter().map(|name| namespace(name)).collect();
    let metadata = json!({"resourceVersion": counts.resource_version.to_string()});
    match representation {
        Representation::Table => {
            let rows = objects.iter().map(|o| row(cells(o), o, false)).collect();
            json_response(StatusCode::OK, &table(columns(), rows, metadata))
        }
        other => {
            let list = json!({"apiVersion": "v1", "kind": "NamespaceList", "metadata": metadata, "items": objects});
            match other {
                Representation::Yaml => yaml_response(StatusCode::OK, &list),
                _ => json_response(StatusCode::OK, &list),
            }
        }
    }
}

async fn one(
    State(state): State<SharedState>,
    ClusterScope(cluster): ClusterScope,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> Reply {
    let representation = representation(&headers)?;
    let store = state.store.clone();
    let lookup = name.clone();
    let holds_events = tokio::task::spawn_blocking(move || {
        let query = ListQuery {
            scope: Scope {
                cluster: cluster.as_deref(),
                namespace: Some(&lookup),
            },
            start_after: None,
            limit: Some(1),
            object_name: None,
            fields: None,
            at: None,
            seen: None,
        };
        store
            .list(query, |_| true)
            .is_ok_and(|page| !page.items.is_empty())
    })
    .await
    .map_err(ApiError::internal)?;
    if !holds_events {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "NotFound",
            format!("namespaces {name:?} not found"),
        )
        .with_details(json!({"name": name, "kind": "namespaces"})));
    }
    let object = namespace(&name);
    respond(representation, object.clone(), || {
        table(
            columns(),
            vec![row(cells(&object), &object, false)],
            json!({}),
        )
    })
}

/// A namespace as the apiserver shows an active one (its creation time is not known here).
fn namespace(name: &str) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": name, "labels": {"kubernetes.io/metadata.name": name}},
        "spec": {"finalizers": ["kubernetes"]},
        "status": {"phase": "Active"},
    })
}

fn columns() -> Value {
    json!([
        {"name": "Name", "type": "string", "format": "name", "description": "Name must be unique within a namespace.", "priority": 0},
        {"name": "Status", "type": "string", "format": "", "description": "The status of the namespace", "priority": 0},
        {"name": "Age", "type": "string", "format": "", "description": "CreationTimestamp is a timestamp representing the server time when this object was created.", "priority": 0},
    ])
}

fn cells(object: &Value) -> Value {
    json!([
        object["metadata"]["name"],
        object["status"]["phase"],
        "<unknown>"
    ])
}
