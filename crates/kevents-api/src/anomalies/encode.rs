//! JSON objects and Table rows of `Anomaly`.

use crate::series::encode::{age, cluster_name, column, metadata, API_VERSION};
use kevents_anomaly::Anomaly;
use kevents_model::Micros;
use serde_json::{json, Value};

/// Rounds for display: scores and rates do not need more than two decimals.
fn rounded(value: f64) -> f64 {
    (value * 100.0).round() / 100.0
}

/// `Open` or `Ended`.
fn state(anomaly: &Anomaly) -> &'static str {
    if anomaly.end.is_some() {
        "Ended"
    } else {
        "Open"
    }
}

/// The `Anomaly` object.
pub(crate) fn anomaly_object(anomaly: &Anomaly, own_cluster: &str) -> Value {
    let baseline = anomaly.baseline.map(|b| {
        json!({
            "perMinute": rounded(b.per_hour / 60.0),
            "madPerMinute": rounded(b.mad_per_hour / 60.0),
            "busiestFiveMinutes": b.peak_window,
            "activeHours": rounded(b.active_share),
            "seasonality": b.basis.as_str(),
            "samples": b.samples,
        })
    });
    let events: Vec<Value> = anomaly
        .events
        .iter()
        .map(|e| json!({"namespace": e.namespace, "name": e.name}))
        .collect();
    json!({
        "apiVersion": API_VERSION,
        "kind": "Anomaly",
        "metadata": metadata(&anomaly.name, Some(&anomaly.namespace), &anomaly.cluster, anomaly.version, anomaly.start.truncate_to_seconds()),
        "spec": {
            "kind": anomaly.kind.as_str(),
            "cluster": cluster_name(&anomaly.cluster, own_cluster),
            "reason": anomaly.reason,
            "type": anomaly.event_type,
            "template": anomaly.template,
            "object": anomaly.object,
            "fieldSelector": anomaly.selector(),
        },
        "status": {
            "state": state(anomaly),
            "score": rounded(anomaly.score),
            "start": anomaly.start.to_time_string(),
            "end": anomaly.end.map(|e| e.to_time_string()),
            "observedFiveMinutes": anomaly.observed,
            "baseline": baseline,
            "message": anomaly.message,
            "events": events,
        },
    })
}

/// Table columns of `anomalies`.
pub(crate) fn anomaly_columns() -> Value {
    json!([
        column(
            "Name",
            0,
            "name",
            "Kind, key and start minute of the anomaly."
        ),
        column(
            "Kind",
            0,
            "",
            "NewPattern, RateSpike, RateDrop or FirstWarning."
        ),
        column("Reason", 0, "", "Reason of the events."),
        column("Score", 0, "", "How unusual (see docs/anomalies.md)."),
        column("State", 0, "", "Open or Ended."),
        column("Started", 0, "", "When it started."),
        column("Message", 0, "", "What happened."),
        column("Type", 1, "", "Type of the events."),
        column(
            "Baseline/Min",
            1,
            "",
            "Usual occurrences per minute at this hour."
        ),
        column("Observed/5m", 1, "integer", "Occurrences in five minutes."),
        column("Ended", 1, "", "When it ended."),
        column("Events", 1, "", "Some of its events."),
        column("Cluster", 1, "", "The cluster."),
    ])
}

/// The cells of an anomaly's row.
pub(crate) fn anomaly_cells(anomaly: &Anomaly, own_cluster: &str, now: Micros) -> Value {
    let events: Vec<&str> = anomaly.events.iter().map(|e| e.name.as_str()).collect();
    json!([
        anomaly.name,
        anomaly.kind.as_str(),
        anomaly.reason,
        format!("{:.1}", anomaly.score),
        state(anomaly),
        age(now, anomaly.start),
        anomaly.message,
        anomaly.event_type,
        anomaly
            .baseline
            .map_or("-".to_string(), |b| format!("{:.2}", b.per_hour / 60.0)),
        anomaly.observed,
        anomaly.end.map_or("<none>".to_string(), |e| age(now, e)),
        events.join(","),
        cluster_name(&anomaly.cluster, own_cluster),
    ])
}
