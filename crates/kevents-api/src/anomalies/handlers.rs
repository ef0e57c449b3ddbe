//! HTTP handlers of `anomalies`: list and watch (all namespaces or one), get.

use super::encode::{anomaly_cells, anomaly_columns, anomaly_object};
use crate::clusters::ClusterScope;
use crate::error::{ApiError, Reply};
use crate::negotiate::{representation, Representation};
use crate::respond::{json_response, respond, row, table};
use crate::series::handlers::{list, not_found, ReadOptions};
use crate::state::SharedState;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use kevents_anomaly::Anomaly;
use kevents_model::Micros;
use serde_json::{json, Value};
use std::time::Duration;
use tokio::sync::broadcast::error::RecvError;

/// Which anomalies a request covers.
#[derive(Clone)]
struct Scope {
    cluster: Option<String>,
    namespace: Option<String>,
}

impl Scope {
    fn matches(&self, anomaly: &Anomaly) -> bool {
        self.cluster.as_ref().is_none_or(|c| anomaly.cluster == *c)
            && self
                .namespace
                .as_ref()
                .is_none_or(|n| anomaly.namespace == *n)
    }
}

pub(super) async fn all(
    State(state): State<SharedState>,
    ClusterScope(cluster): ClusterScope,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Reply {
    read(
        state,
        Scope {
            cluster,
            namespace: None,
        },
        query,
        headers,
        false,
    )
    .await
}

pub(super) async fn watch_all(
    State(state): State<SharedState>,
    ClusterScope(cluster): ClusterScope,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Reply {
    read(
        state,
        Scope {
            cluster,
            namespace: None,
        },
        query,
        headers,
        true,
    )
    .await
}

pub(super) async fn namespaced(
    State(state): State<SharedState>,
    ClusterScope(cluster): ClusterScope,
    Path(namespace): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Reply {
    let scope = Scope {
        cluster,
        namespace: Some(namespace),
    };
    read(state, scope, query, headers, false).await
}

pub(super) async fn watch_namespaced(
    State(state): State<SharedState>,
    ClusterScope(cluster): ClusterScope,
    Path(namespace): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Reply {
    let scope = Scope {
        cluster,
        namespace: Some(namespace),
    };
    read(state, scope, query, headers, true).await
}

pub(super) async fn one(
    State(state): State<SharedState>,
    ClusterScope(cluster): ClusterScope,
    Path((namespace, name)): Path<(String, String)>,
    headers: HeaderMap,
) -> Reply {
    state
        .series
        .caught_up(state.store.resource_version())
        .await?;
    let representation = representation(&headers)?;
    let scope = Scope {
        cluster,
        namespace: Some(namespace),
    };
    let detector = state.series.anomalies.detector.read();
    let anomaly = detector
        .anomalies()
        .iter()
        .find(|a| a.name == name && scope.matches(a))
        .ok_or_else(|| not_found("anomalies", &name))?;
    let own = &state.security.cluster;
    let object = anomaly_object(anomaly, own);
    let table = || {
        table(
            anomaly_columns(),
            vec![row(
                anomaly_cells(anomaly, own, Micros::now()),
                &object,
                false,
            )],
            json!({"resourceVersion": anomaly.version.to_string()}),
        )
    };
    respond(representation, object.clone(), table)
}

async fn read(
    state: SharedState,
    scope: Scope,
    query: Option<String>,
    headers: HeaderMap,
    watch_path: bool,
) -> Reply {
    state
        .series
        .caught_up(state.store.resource_version())
        .await?;
    let representation = representation(&headers)?;
    let options = ReadOptions::parse(query, watch_path)?;
    for unsupported in ["fieldSelector", "labelSelector"] {
        if let Some(value) = options.get(unsupported) {
            return Err(ApiError::bad_request(format!(
                "{unsupported} {value:?}: anomalies support no selectors; filter with `kevents anomalies`"
            )));
        }
    }
    if options.watch {
        return watch(state, scope, &options, representation);
    }
    let own = &state.security.cluster;
    let now = Micros::now();
    let detector = state.series.anomalies.detector.read();
    let matching: Vec<&Anomaly> = detector
        .anomalies()
        .iter()
        .filter(|a| scope.matches(a))
        .collect();
    let objects: Vec<Value> = matching.iter().map(|a| anomaly_object(a, own)).collect();
    let metadata = json!({"resourceVersion": detector.version().to_string()});
    match representation {
        Representation::Table => {
            let rows = matching
                .iter()
                .zip(&objects)
                .map(|(a, o)| row(anomaly_cells(a, own, now), o, options.with_objects()))
                .collect();
            json_response(StatusCode::OK, &table(anomaly_columns(), rows, metadata))
        }
        _ => respond(
            representation,
            list("AnomalyList", metadata, objects),
            || Value::Null,
        ),
    }
}

/// A watch: the anomalies kept (`ADDED`, or those changed since a resourceVersion as
/// `MODIFIED`), then each change as `MODIFIED` (`ADDED` for one not sent before).
fn watch(
    state: SharedState,
    scope: Scope,
    options: &ReadOptions,
    representation: Representation,
) -> Reply {
    let mut live = state.series.anomalies.feed.subscribe();
    let from = options.number("resourceVersion")?.unwrap_or(0);
    let table_rows = representation == Representation::Table;
    let with_objects = options.with_objects();
    let own = state.security.cluster.clone();
    let line = move |kind: &str, anomaly: &Anomaly, columns: &mut bool| -> Bytes {
        let object = anomaly_object(anomaly, &own);
        let object = if table_rows {
            let header = if *columns {
                Value::Null
            } else {
                anomaly_columns()
            };
            *columns = true;
            let cells = anomaly_cells(anomaly, &own, Micros::now());
            table(
                header,
                vec![row(cells, &object, with_objects)],
                json!({"resourceVersion": anomaly.version.to_string()}),
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
        let detector = state.series.anomalies.detector.read();
        let initial: Vec<Anomaly> = detector
            .anomalies()
            .iter()
            .filter(|a| a.version > from && scope.matches(a))
            .cloned()
            .collect();
        (initial, detector.version())
    };
    let timeout = options
        .number("timeoutSeconds")?
        .filter(|t| *t > 0)
        .map(Duration::from_secs);
    let shutdown = state.shutdown.clone();
    Ok(crate::respond::line_watch(
        shutdown,
        timeout,
        |sender| async move {
            let mut columns = false;
            let mut sent = std::collections::HashSet::new();
            let first = if from == 0 { "ADDED" } else { "MODIFIED" };
            for anomaly in &initial {
                sent.insert(anomaly.name.clone());
                if sender
                    .send(line(first, anomaly, &mut columns))
                    .await
                    .is_err()
                {
                    return;
                }
            }
            loop {
                let anomaly = match live.recv().await {
                    Ok(anomaly) => anomaly,
                    // Too slow to keep up: end the stream; the client relists.
                    Err(RecvError::Lagged(_)) | Err(RecvError::Closed) => return,
                };
                if anomaly.version <= sent_version || !scope.matches(&anomaly) {
                    continue;
                }
                sent_version = anomaly.version;
                let kind = if sent.insert(anomaly.name.clone()) && from == 0 {
                    "ADDED"
                } else {
                    "MODIFIED"
                };
                if sender
                    .send(line(kind, &anomaly, &mut columns))
                    .await
                    .is_err()
                {
                    return;
                }
            }
        },
    ))
}
