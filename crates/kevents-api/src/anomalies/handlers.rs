//! HTTP handlers of `anomalies`: list and watch (all namespaces or one), get. They read once
//! the series state has caught up with the store (a `503` while it is rebuilt), and take no
//! selectors.

use super::encode::{anomaly_cells, anomaly_columns, anomaly_object};
use crate::clusters::ClusterScope;
use crate::error::{ApiError, Reply};
use crate::negotiate::representation;
use crate::served::view::{list_reply, not_found, one_reply, ReadOptions, View, Watch};
use crate::served::Collection;
use crate::state::{AppState, SharedState};
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use kevents_anomaly::Anomaly;
use kevents_model::Micros;
use serde_json::{json, Value};
use std::collections::HashSet;

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

/// Anomalies as `Anomaly` objects, with the hub's own cluster named.
struct Anomalies {
    own_cluster: String,
}

impl View for Anomalies {
    type Item = Anomaly;

    fn columns(&self) -> Value {
        anomaly_columns()
    }

    fn object(&self, anomaly: &Anomaly, _: Micros) -> Value {
        anomaly_object(anomaly, &self.own_cluster)
    }

    fn cells(&self, anomaly: &Anomaly, _: &Value, now: Micros) -> Value {
        anomaly_cells(anomaly, &self.own_cluster, now)
    }
}

fn view(state: &AppState) -> Anomalies {
    Anomalies {
        own_cluster: state.security.cluster.clone(),
    }
}

pub(super) async fn one(
    State(state): State<SharedState>,
    ClusterScope(cluster): ClusterScope,
    Path((namespace, name)): Path<(String, String)>,
    headers: HeaderMap,
) -> Reply {
    state.series_caught_up().await?;
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
    one_reply(&view(&state), anomaly, representation, false)
}

pub(super) async fn read(state: SharedState, at: Collection) -> Reply {
    state.series_caught_up().await?;
    let representation = representation(&at.headers)?;
    let options = ReadOptions::parse(at.query, at.watch_path)?;
    for unsupported in ["fieldSelector", "labelSelector"] {
        if let Some(value) = options.get(unsupported) {
            return Err(ApiError::bad_request(format!(
                "{unsupported} {value:?}: anomalies support no selectors; filter with `kevents anomalies`"
            )));
        }
    }
    let scope = Scope {
        cluster: at.cluster,
        namespace: at.namespace,
    };
    if options.watch {
        return watch(state, scope, &options, representation);
    }
    let detector = state.series.anomalies.detector.read();
    let matching: Vec<&Anomaly> = detector
        .anomalies()
        .iter()
        .filter(|a| scope.matches(a))
        .collect();
    list_reply(
        &view(&state),
        "AnomalyList",
        &matching,
        json!({"resourceVersion": detector.version().to_string()}),
        representation,
        options.with_objects(),
    )
}

/// A watch: the anomalies kept (`ADDED`, or those changed since a resourceVersion as
/// `MODIFIED`), then each change as `MODIFIED` (`ADDED` for one not sent before).
fn watch(
    state: SharedState,
    scope: Scope,
    options: &ReadOptions,
    representation: crate::negotiate::Representation,
) -> Reply {
    let feed = state.series.anomalies.feed.subscribe();
    let from = options.number("resourceVersion")?.unwrap_or(0);
    let first = if from == 0 { "ADDED" } else { "MODIFIED" };
    let (initial, mut sent_version) = {
        let detector = state.series.anomalies.detector.read();
        let initial: Vec<(&'static str, Anomaly)> = detector
            .anomalies()
            .iter()
            .filter(|a| a.version > from && scope.matches(a))
            .map(|a| (first, a.clone()))
            .collect();
        (initial, detector.version())
    };
    let mut sent: HashSet<String> = initial.iter().map(|(_, a)| a.name.clone()).collect();
    let watch = Watch {
        view: view(&state),
        representation,
        with_objects: options.with_objects(),
        timeout: options.timeout()?,
        initial,
        feed,
        item: |anomaly: &Anomaly| anomaly,
    };
    watch.stream(&state, move |anomaly| {
        if anomaly.version <= sent_version || !scope.matches(anomaly) {
            return None;
        }
        sent_version = anomaly.version;
        Some(if sent.insert(anomaly.name.clone()) && from == 0 {
            "ADDED"
        } else {
            "MODIFIED"
        })
    })
}
