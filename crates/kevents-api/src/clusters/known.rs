//! What the hub knows of each cluster, as the clusters list and its watch show it.

use super::registry::ClusterState;
use crate::state::AppState;
use kevents_model::Micros;
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// One cluster as the list shows it.
fn describe(state: &AppState, name: &str, info: &ClusterState, events: usize) -> Value {
    let now = Micros::now();
    json!({
        "name": name,
        "cursor": info.cursor,
        "events": events,
        "lastContact": info.last_contact.map(Micros::to_time_string),
        "lagSeconds": info.lag_seconds,
        "ratePerMinute": info.rate_per_minute(now),
        "relists": info.relists,
        "lostEvents": info.lost_events,
        "gaps": info.gaps,
        "clockAheadSeconds": info.clock_ahead_seconds,
        "collectorVersion": info.collector_version,
        "own": name == state.security.cluster,
    })
}

/// Every cluster with events or a collector, and the hub's own, by name.
pub(super) fn known_clusters(state: &AppState) -> BTreeMap<String, Value> {
    let mut infos = state.clusters.all();
    let counts: BTreeMap<String, usize> = state.store.clusters().into_iter().collect();
    for cluster in counts.keys().filter(|c| !c.is_empty()) {
        infos.entry(cluster.clone()).or_default();
    }
    let mut out: BTreeMap<String, Value> = infos
        .iter()
        .map(|(name, info)| {
            let events = counts.get(name).copied().unwrap_or(0);
            (name.clone(), describe(state, name, info, events))
        })
        .collect();
    let own = &state.security.cluster;
    let events = counts.get("").copied().unwrap_or(0);
    out.insert(
        own.clone(),
        describe(state, own, &ClusterState::default(), events),
    );
    out
}
