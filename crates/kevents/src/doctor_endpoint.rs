//! `GET /doctor`: the hub's own checks (store, collectors, sinks, refused writes) as a JSON
//! report, judged by `kevents-doctor` from facts gathered here at request time. `kevents
//! doctor` adds the source clusters' checks to it.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use kevents_api::{AppState, ClusterState};
use kevents_doctor::{
    hub_findings, ClusterFacts, GapFacts, HubFacts, Report, SinkFacts, StoreFacts, WriteFacts,
};
use kevents_model::Micros;
use kevents_sink::SinkMetrics;
use std::collections::BTreeMap;

/// What `/doctor` reads.
#[derive(Clone)]
pub struct DoctorState {
    api: AppState,
    sinks: Option<SinkMetrics>,
    retention_bytes: u64,
}

/// The `/doctor` route over the hub's state, its sinks' metrics and `--retention-size`.
pub fn router(api: &AppState, sinks: Option<SinkMetrics>, retention_bytes: u64) -> Router {
    Router::new()
        .route("/doctor", get(doctor))
        .with_state(DoctorState {
            api: api.clone(),
            sinks,
            retention_bytes,
        })
}

async fn doctor(State(state): State<DoctorState>) -> Response {
    // Reading the oldest cold event may read a block from disk.
    let facts = tokio::task::spawn_blocking(move || gather(&state)).await;
    match facts {
        Ok(facts) => Json(Report::new(hub_findings(&facts))).into_response(),
        Err(e) => kevents_api::ApiError::internal(format!("gathering the hub's facts: {e}"))
            .into_response(),
    }
}

fn gather(state: &DoctorState) -> HubFacts {
    let store = &state.api.store;
    let stats = store.stats();
    let now = Micros::now();
    let counts: BTreeMap<String, usize> = store.clusters().into_iter().collect();
    let mut registry = state.api.clusters.all();
    for cluster in counts.keys().filter(|c| !c.is_empty()) {
        registry.entry(cluster.clone()).or_default();
    }
    let clusters = registry
        .into_iter()
        .map(|(name, info)| {
            let events = counts.get(&name).copied().unwrap_or(0) as u64;
            cluster_facts(name, &info, events, now)
        })
        .collect();
    let resource_version = store.resource_version();
    let sinks = state
        .sinks
        .iter()
        .flat_map(|metrics| metrics.sinks())
        .map(|(labels, counters)| SinkFacts {
            name: labels.sink,
            kind: labels.sink_type,
            lag_seconds: counters.lag.get(),
            backlog: resource_version
                .saturating_sub(u64::try_from(counters.cursor.get()).unwrap_or(0)),
            sent: counters.sent.get(),
            failed: counters.failed.get(),
            dead_lettered: counters.dead_lettered.get(),
        })
        .collect();
    let metrics = &state.api.metrics;
    HubFacts {
        now,
        store: StoreFacts {
            events: stats.events as u64,
            disk_bytes: stats.disk_bytes,
            retention_bytes: state.retention_bytes,
            retention_deleted: stats.retention_deleted,
            ttl_micros: store.ttl_micros(),
            oldest_update: store.oldest_update(),
            corrupt_blocks: stats.corrupt_blocks,
            refuses_writes: store.accepts_writes().err().map(|e| e.to_string()),
        },
        clusters,
        sinks,
        writes: WriteFacts {
            event_rate_limited: state.api.admission.rate_limited(),
            client_rate_limited: metrics.rejected_requests("TooManyRequests"),
            disk_full: metrics.rejected_writes("InsufficientStorage"),
        },
        version: env!("CARGO_PKG_VERSION").into(),
    }
}

fn cluster_facts(name: String, info: &ClusterState, events: u64, now: Micros) -> ClusterFacts {
    ClusterFacts {
        name,
        events,
        last_contact: info.last_contact,
        lag_seconds: info.lag_seconds,
        rate_per_minute: info.rate_per_minute(now),
        relists: info.relists,
        lost_events: info.lost_events,
        gaps: info
            .gaps
            .iter()
            .map(|g| GapFacts {
                from: g.from,
                to: g.to,
                lost_events: g.lost_events,
                reported: g.reported,
            })
            .collect(),
        clock_ahead_seconds: info.clock_ahead_seconds,
        collector_version: info.collector_version.clone(),
        invalid_events: info.invalid_events,
    }
}
