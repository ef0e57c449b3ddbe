//! What a collector's list report means on the hub: a relist is counted, and a gap (a span the
//! source forgot before the collector saw it) is counted and written as a Warning event
//! `EventsLost` about the cluster, in the hub's own `default` namespace, where the built-in
//! alert rule of the same name sees it.

use crate::state::AppState;
use kevents_model::{EventRecord, Micros, ObjectRef};
use kevents_store::Mutation;
use serde::Deserialize;

/// The parts of a collector's report of one list (its `ListReport`) the hub keeps; the rest
/// (how many events the list held, the oldest one's time) is for the collector's log.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct ListReport {
    #[serde(default)]
    relist: bool,
    #[serde(default)]
    gap: Option<GapReport>,
}

#[derive(Debug, Deserialize, Clone, Copy)]
#[serde(rename_all = "camelCase")]
struct GapReport {
    from: Micros,
    to: Micros,
    lost_events: u64,
}

/// Counts the report and records its gap (as a count, a metric and an event).
pub(super) async fn record(state: &AppState, cluster: &str, report: &ListReport) {
    let gap = report.gap.filter(|g| g.to > g.from);
    state.clusters.record_list(
        cluster,
        report.relist,
        gap.map(|g| (g.from, g.to, g.lost_events)),
    );
    let Some(gap) = gap else {
        return;
    };
    tracing::warn!(%cluster, from = %gap.from.to_time_string(), to = %gap.to.to_time_string(), lost_events = gap.lost_events, "a cluster's source forgot events before its collector saw them");
    let record = lost_event(cluster, gap.from, gap.to, gap.lost_events, Micros::now());
    if let Err(e) = state.store.write(Mutation::Create(record)).await {
        tracing::warn!(%cluster, error = %e, "recording the EventsLost event");
    }
}

/// The `EventsLost` event for a gap of `cluster`, reported at `now`.
fn lost_event(cluster: &str, from: Micros, to: Micros, lost: u64, now: Micros) -> EventRecord {
    let span = kevents_model::human_duration(to.0 - from.0);
    let now_seconds = now.truncate_to_seconds();
    EventRecord {
        namespace: "default".into(),
        name: format!("{cluster}.lost.{:x}", now.0),
        creation_timestamp: Some(now_seconds),
        involved_object: ObjectRef {
            kind: "Cluster".into(),
            api_version: "kevents.io/v1".into(),
            name: cluster.to_string(),
            ..ObjectRef::default()
        },
        reason: "EventsLost".into(),
        message: format!(
            "cluster {cluster} forgot about {lost} events before its collector saw them: \
             {span} from {} to {} (the collector was away longer than the cluster's --event-ttl)",
            from.to_time_string(),
            to.to_time_string()
        ),
        event_type: "Warning".into(),
        source_component: "kevents-hub".into(),
        reporting_controller: "kevents.io/hub".into(),
        first_timestamp: Some(now_seconds),
        last_timestamp: Some(now_seconds),
        count: 1,
        ..EventRecord::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kevents_model::validation::validate_create;
    use kevents_model::ApiGroup;

    #[test]
    fn the_lost_event_is_a_valid_warning_about_the_cluster() {
        let now = Micros::parse("2026-01-02T03:04:05Z").unwrap();
        let from = Micros::parse("2026-01-02T03:00:00Z").unwrap();
        let to = Micros::parse("2026-01-02T03:01:30Z").unwrap();
        let event = lost_event("prod", from, to, 90, now);
        assert!(validate_create(&event, ApiGroup::Core).is_empty());
        assert_eq!(event.involved_object.name, "prod");
        assert_eq!(event.reason, "EventsLost");
        assert!(
            event.message.contains("about 90 events"),
            "{}",
            event.message
        );
        assert!(event.message.contains("90s from"), "{}", event.message);
    }

    #[test]
    fn a_report_is_read_as_the_collector_writes_it() {
        let report: ListReport = serde_json::from_str(
            r#"{"relist":true,"events":60,"oldest":90000000,"gap":{"from":0,"to":90000000,"lostEvents":90}}"#,
        )
        .unwrap();
        assert!(report.relist);
        assert_eq!(report.gap.map(|g| g.lost_events), Some(90));
    }
}
