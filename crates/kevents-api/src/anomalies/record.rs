//! Each anomaly the hub opens is also written as a Warning event `EventAnomaly` about the
//! `Anomaly` object, in the anomaly's namespace and cluster, so the built-in rule of the same
//! name alerts on it (Alertmanager, webhooks), sinks ship it and `kubectl get events` shows it.
//! The detector does not count these events itself.

use super::state::{AnomalyState, ANOMALY_SOURCE};
use kevents_anomaly::Anomaly;
use kevents_model::{EventRecord, Micros, ObjectRef};
use kevents_store::{Mutation, Store, StoreError};
use std::collections::HashSet;
use std::sync::Arc;
use tokio::sync::broadcast::error::RecvError;

/// Writes an `EventAnomaly` event for every anomaly opened from now on, until `shutdown`.
pub async fn record_anomalies(
    store: Store,
    anomalies: Arc<AnomalyState>,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) {
    let mut feed = anomalies.feed.subscribe();
    let mut written: HashSet<String> = HashSet::new();
    loop {
        let anomaly = tokio::select! {
            received = feed.recv() => match received {
                Ok(anomaly) => anomaly,
                Err(RecvError::Lagged(missed)) => {
                    tracing::warn!(missed, "anomaly events not written: the writer fell behind");
                    continue;
                }
                Err(RecvError::Closed) => return,
            },
            changed = shutdown.changed() => {
                if changed.is_err() || *shutdown.borrow() {
                    return;
                }
                continue;
            }
        };
        if anomaly.end.is_some() || written.contains(&anomaly.name) {
            continue;
        }
        if written.len() >= 10_000 {
            written.clear();
        }
        written.insert(anomaly.name.clone());
        match store
            .write(Mutation::Create(anomaly_event(&anomaly, Micros::now())))
            .await
        {
            // Found again after a restart: the event is there already.
            Ok(_) | Err(StoreError::AlreadyExists(_)) => {}
            Err(e) => {
                tracing::warn!(anomaly = %anomaly.name, error = %e, "recording the EventAnomaly event")
            }
        }
    }
}

/// The `EventAnomaly` event of `anomaly`, written at `now`.
pub(crate) fn anomaly_event(anomaly: &Anomaly, now: Micros) -> EventRecord {
    let namespace = if anomaly.namespace.is_empty() {
        "default".to_string()
    } else {
        anomaly.namespace.clone()
    };
    let start = anomaly.start.truncate_to_seconds();
    EventRecord {
        cluster: anomaly.cluster.clone(),
        namespace: namespace.clone(),
        name: anomaly.name.clone(),
        creation_timestamp: Some(now.truncate_to_seconds()),
        involved_object: ObjectRef {
            kind: "Anomaly".into(),
            api_version: "kevents.io/v1".into(),
            namespace,
            name: anomaly.name.clone(),
            ..ObjectRef::default()
        },
        reason: "EventAnomaly".into(),
        message: format!("{}: {}", anomaly.kind.as_str(), anomaly.message),
        event_type: "Warning".into(),
        source_component: ANOMALY_SOURCE.into(),
        reporting_controller: "kevents.io/anomaly".into(),
        first_timestamp: Some(start),
        last_timestamp: Some(start),
        count: 1,
        ..EventRecord::default()
    }
}
