//! Rule engine behaviour: firing, `for`, windows, lasting series, resolve, reload and restore.

use super::*;
use kevents_model::{EventRecord, Micros};
use kevents_store::{Change, ChangeType, StoredEvent};
use std::collections::HashMap;
use std::sync::Arc;

const S: i64 = 1_000_000;

fn event(reason: &str, kind: &str, name: &str, count: i32) -> EventRecord {
    let mut e = EventRecord {
        namespace: "prod".into(),
        name: format!("{name}.1"),
        reason: reason.into(),
        event_type: "Warning".into(),
        message: format!("{reason} happened to {name}"),
        count,
        ..Default::default()
    };
    e.involved_object.kind = kind.into();
    e.involved_object.name = name.into();
    e
}

pub(super) fn added(e: EventRecord) -> Change {
    Change {
        resource_version: 1,
        change_type: ChangeType::Added,
        object: Arc::new(StoredEvent {
            record: e,
            updated_at: Micros(0),
        }),
        previous: None,
        committed_at: Micros(0),
    }
}

fn bumped(before: EventRecord, count: i32) -> Change {
    let mut after = before.clone();
    after.count = count;
    Change {
        resource_version: 2,
        change_type: ChangeType::Modified,
        object: Arc::new(StoredEvent {
            record: after,
            updated_at: Micros(0),
        }),
        previous: Some(Arc::new(StoredEvent {
            record: before,
            updated_at: Micros(0),
        })),
        committed_at: Micros(0),
    }
}

fn engine(yaml: &str) -> RuleEngine {
    RuleEngine::new(load_rules("test.yaml", yaml).unwrap(), "prod-cluster")
}

fn names(alerts: &[crate::Alert]) -> Vec<(String, bool)> {
    alerts
        .iter()
        .map(|a| (a.labels["alertname"].clone(), a.is_resolved()))
        .collect()
}

#[test]
fn builtin_pack_loads_and_fires_failed_scheduling_with_labels_and_annotations() {
    let sources = RuleSources {
        builtin: true,
        paths: vec![],
    };
    let rules = sources.load().unwrap();
    assert!(rules.len() >= 8);
    let engine = RuleEngine::new(rules, "prod-cluster");
    engine.observe_at(
        &added(event("FailedScheduling", "Pod", "web-0", 1)),
        Micros(10 * S),
    );
    let alerts = engine.evaluate(Micros(11 * S));
    assert_eq!(names(&alerts), vec![("FailedScheduling".into(), false)]);
    let alert = &alerts[0];
    assert_eq!(alert.labels["severity"], "warning");
    assert_eq!(alert.labels["namespace"], "prod");
    assert_eq!(alert.labels["reason"], "FailedScheduling");
    assert!(!alert.labels.contains_key("name"), "grouped per namespace");
    assert_eq!(alert.labels["cluster"], "prod-cluster");
    assert_eq!(
        alert.annotations["summary"],
        "Pods in prod cannot be scheduled: Pod/web-0"
    );
    assert_eq!(alert.starts_at, Micros(11 * S));
}

/// An engine with the built-in pack alone, in cluster `hub`.
fn builtin_engine() -> RuleEngine {
    let rules = RuleSources {
        builtin: true,
        paths: vec![],
    }
    .load()
    .unwrap();
    RuleEngine::new(rules, "hub")
}

#[test]
fn builtin_pack_fires_events_lost_per_collected_cluster() {
    let engine = builtin_engine();
    let mut lost = event("EventsLost", "Cluster", "prod", 1);
    lost.namespace = "default".into();
    engine.observe_at(&added(lost), Micros(10 * S));
    let alerts = engine.evaluate(Micros(11 * S));
    assert_eq!(names(&alerts), vec![("EventsLost".into(), false)]);
    assert_eq!(alerts[0].labels["severity"], "critical");
    assert_eq!(alerts[0].labels["name"], "prod");
    assert_eq!(
        alerts[0].annotations["description"],
        "EventsLost happened to prod"
    );
}

#[test]
fn builtin_pack_fires_event_anomaly_per_anomaly() {
    let engine = builtin_engine();
    let mut anomaly = event("EventAnomaly", "Anomaly", "ratespike-0a1b-1c2d", 1);
    anomaly.source_component = "kevents-anomaly".into();
    engine.observe_at(&added(anomaly), Micros(10 * S));
    let alerts = engine.evaluate(Micros(11 * S));
    assert_eq!(names(&alerts), vec![("EventAnomaly".into(), false)]);
    assert_eq!(alerts[0].labels["name"], "ratespike-0a1b-1c2d");
    assert_eq!(alerts[0].annotations["summary"], "Unusual events in prod");
}

#[test]
fn any_condition_resolves_after_quiet_period_once() {
    let engine =
        engine("rules:\n- name: Node\n  match: {reason: NodeNotReady}\n  resolveAfter: 30s\n");
    engine.observe_at(&added(event("NodeNotReady", "Node", "n1", 1)), Micros(0));
    assert_eq!(
        names(&engine.evaluate(Micros(S))),
        vec![("Node".into(), false)]
    );
    assert_eq!(
        names(&engine.evaluate(Micros(29 * S))),
        vec![("Node".into(), false)]
    );
    let resolved = engine.evaluate(Micros(31 * S));
    assert_eq!(names(&resolved), vec![("Node".into(), true)]);
    assert_eq!(resolved[0].ends_at, Some(Micros(31 * S)));
    assert!(
        engine.evaluate(Micros(32 * S)).is_empty(),
        "resolved is reported once"
    );
}

#[test]
fn for_delays_firing_until_the_condition_held_long_enough() {
    let engine = engine("rules:\n- name: A\n  match: {reason: X}\n  for: 10s\n");
    engine.observe_at(&added(event("X", "Pod", "p", 1)), Micros(0));
    assert!(engine.evaluate(Micros(S)).is_empty());
    assert!(engine.evaluate(Micros(5 * S)).is_empty());
    let alerts = engine.evaluate(Micros(11 * S));
    assert_eq!(names(&alerts), vec![("A".into(), false)]);
}

#[test]
fn count_condition_counts_count_increments_within_the_window() {
    let engine = engine(
        "rules:\n- name: Crash\n  match: {reason: BackOff}\n  when: {count: 3, window: 1m}\n",
    );
    let first = event("BackOff", "Pod", "p", 1);
    engine.observe_at(&added(first.clone()), Micros(0));
    assert!(engine.evaluate(Micros(S)).is_empty());
    engine.observe_at(&bumped(first, 3), Micros(2 * S));
    assert_eq!(
        names(&engine.evaluate(Micros(3 * S))),
        vec![("Crash".into(), false)]
    );
    // After the window passes, the count drops below 3 and the alert resolves.
    assert_eq!(
        names(&engine.evaluate(Micros(70 * S))),
        vec![("Crash".into(), true)]
    );
}

#[test]
fn rate_condition_groups_by_cluster() {
    let engine = engine("rules:\n- name: Rate\n  match: {type: Warning}\n  when: {rate: 1, window: 10s}\n  groupBy: [cluster]\n");
    for i in 0..9 {
        engine.observe_at(
            &added(event("R", "Pod", &format!("p{i}"), 1)),
            Micros(i * S),
        );
    }
    assert!(
        engine.evaluate(Micros(9 * S)).is_empty(),
        "9 in 10s is below 1/s"
    );
    engine.observe_at(&added(event("R", "Pod", "p9", 1)), Micros(9 * S));
    let alerts = engine.evaluate(Micros(9 * S + 1));
    assert_eq!(names(&alerts), vec![("Rate".into(), false)]);
    assert_eq!(
        alerts[0].labels.get("cluster").map(String::as_str),
        Some("prod-cluster")
    );
    assert!(!alerts[0].labels.contains_key("name"));
}

#[test]
fn forecast_fires_on_a_rising_rate_before_it_reaches_the_threshold_and_not_on_a_flat_one() {
    let rule = "rules:\n- name: Rising\n  match: {type: Warning}\n  when: {forecast: 1.2, window: 10m, horizon: 10m}\n  groupBy: [cluster]\n";
    // Minute i of ten has 6·i occurrences: the rate climbs to 0.9/s, and keeps climbing.
    let rising = engine(rule);
    for minute in 0..10 {
        rising.observe_at(
            &added(event("R", "Pod", "p", 6 * minute as i32 + 1)),
            Micros(minute * 60 * S + 30 * S),
        );
    }
    let alerts = rising.evaluate(Micros(600 * S));
    assert_eq!(names(&alerts), vec![("Rising".into(), false)]);
    // A steady 0.5/s stays 0.5/s.
    let flat = engine(rule);
    for minute in 0..10 {
        flat.observe_at(
            &added(event("R", "Pod", "p", 30)),
            Micros(minute * 60 * S + 30 * S),
        );
    }
    assert!(flat.evaluate(Micros(600 * S)).is_empty());
}

#[test]
fn forecast_needs_a_window_and_a_horizon() {
    let error = load_rules(
        "t",
        "rules:\n- name: F\n  match: {type: Warning}\n  when: {forecast: 1, window: 10m}\n",
    )
    .unwrap_err()
    .to_string();
    assert!(error.contains("`forecast` needs"), "{error}");
}

#[test]
fn lasting_condition_needs_a_long_series() {
    let engine = engine("rules:\n- name: Long\n  match: {reason: Unhealthy}\n  when: {lasting: 1m}\n  resolveAfter: 2m\n");
    let e = event("Unhealthy", "Pod", "p", 1);
    engine.observe_at(&added(e.clone()), Micros(0));
    engine.observe_at(&bumped(e.clone(), 2), Micros(30 * S));
    assert!(engine.evaluate(Micros(31 * S)).is_empty());
    engine.observe_at(&bumped(e, 3), Micros(61 * S));
    assert_eq!(
        names(&engine.evaluate(Micros(62 * S))),
        vec![("Long".into(), false)]
    );
}

#[test]
fn removed_rule_resolves_its_alerts_and_restored_firing_keeps_its_start() {
    let engine = engine("rules:\n- name: A\n  match: {reason: X}\n  for: 1m\n");
    engine.observe_at(&added(event("X", "Pod", "p", 1)), Micros(0));
    assert!(engine.evaluate(Micros(S)).is_empty());
    let first = engine.evaluate(Micros(61 * S));
    assert_eq!(names(&first), vec![("A".into(), false)]);
    // After a restart the groups come back from the store; the start time from the small file.
    let restored = RuleEngine::new(
        load_rules("t", "rules:\n- name: A\n  match: {reason: X}\n  for: 1m\n").unwrap(),
        "prod-cluster",
    );
    restored.restore_firing(HashMap::from([(
        first[0].fingerprint(),
        first[0].starts_at,
    )]));
    restored.observe_at(&added(event("X", "Pod", "p", 1)), Micros(0));
    let again = restored.evaluate(Micros(62 * S));
    assert_eq!(
        again[0].starts_at, first[0].starts_at,
        "a restart does not re-fire from scratch, nor wait for `for` again"
    );
    restored.set_rules(Vec::new());
    assert_eq!(
        names(&restored.evaluate(Micros(63 * S))),
        vec![("A".into(), true)]
    );
}

#[test]
fn evaluation_runs_only_when_something_changed_or_is_due() {
    let engine = engine(
        "rules:\n- name: A\n  match: {reason: X}\n  when: {count: 2, window: 10s}\n  resolveAfter: 30s\n",
    );
    assert!(
        engine.evaluate_if_due(Micros(0)).is_some(),
        "the first evaluation"
    );
    assert!(
        engine.evaluate_if_due(Micros(S)).is_none(),
        "nothing held, nothing due"
    );
    let e = event("X", "Pod", "p", 1);
    engine.observe_at(&added(e.clone()), Micros(2 * S));
    engine.observe_at(&bumped(e, 2), Micros(3 * S));
    let fired = engine
        .evaluate_if_due(Micros(4 * S))
        .expect("an occurrence changes things");
    assert_eq!(names(&fired), vec![("A".into(), false)]);
    for second in 5..12 {
        assert!(
            engine.evaluate_if_due(Micros(second * S)).is_none(),
            "{second}s"
        );
    }
    // The first occurrence leaves the window at 12s: due then, and the alert resolves.
    let resolved = engine
        .evaluate_if_due(Micros(12 * S))
        .expect("a window boundary");
    assert_eq!(names(&resolved), vec![("A".into(), true)]);
}

#[test]
fn groups_are_capped_and_the_excess_is_counted() {
    let engine = engine("rules:\n- name: A\n  match: {reason: X}\n").with_max_groups(3);
    let mut registry = prometheus_client::registry::Registry::default();
    engine.register(&mut registry);
    for i in 0..5 {
        engine.observe_at(&added(event("X", "Pod", &format!("p{i}"), 2)), Micros(0));
    }
    assert_eq!(engine.evaluate(Micros(S)).len(), 3);
    let mut text = String::new();
    prometheus_client::encoding::text::encode(&mut text, &registry).unwrap();
    assert!(
        text.contains("kevents_alert_group_overflow_total 4"),
        "{text}"
    );
    assert!(text.contains("kevents_alert_groups 3"), "{text}");
}

#[test]
fn huge_event_messages_keep_alert_groups_within_max_bytes() {
    let engine = engine(
        "rules:\n- name: A\n  match: {reason: X}\n  groupBy: [name]\n  annotations: {description: '{{ message }}'}\n",
    )
    .with_max_bytes(250 << 10);
    let mut registry = prometheus_client::registry::Registry::default();
    engine.register(&mut registry);
    let huge = |name: &str, kib: usize| {
        let mut e = event("X", "Pod", name, 1);
        e.message = format!("{name} {}", "m".repeat(kib << 10));
        e
    };
    for i in 0..5 {
        engine.observe_at(&added(huge(&format!("p{i}"), 100)), Micros(i));
    }
    // A group already held keeps counting but does not take a larger latest event.
    let mut small = event("X", "Pod", "p0", 1);
    small.message = "small".into();
    engine.observe_at(&added(small.clone()), Micros(10));
    engine.observe_at(&added(huge("p0", 200)), Micros(11));
    let alerts = engine.evaluate(Micros(S));
    assert_eq!(
        alerts.len(),
        2,
        "two groups of ~100 KiB fit in 250 KiB, not three"
    );
    let p0 = alerts
        .iter()
        .find(|a| a.labels["name"] == "p0")
        .expect("p0");
    assert_eq!(p0.annotations["description"], "small");
    let mut text = String::new();
    prometheus_client::encoding::text::encode(&mut text, &registry).unwrap();
    let held: usize = text
        .lines()
        .find_map(|l| l.strip_prefix("kevents_alert_group_bytes "))
        .and_then(|v| v.parse().ok())
        .expect("the bytes gauge");
    assert!((100 << 10..=250 << 10).contains(&held), "{held}");
    assert!(
        text.contains("kevents_alert_group_overflow_total 4"),
        "{text}"
    );
}

#[test]
fn grouped_alerts_list_their_objects() {
    let engine = engine(
        "rules:\n- name: A\n  match: {reason: X}\n  groupBy: [namespace, reason]\n  annotations: {description: '{{ objects }}'}\n",
    );
    for i in 0..12 {
        engine.observe_at(&added(event("X", "Pod", &format!("p{i}"), 1)), Micros(i));
    }
    engine.observe_at(&added(event("X", "Pod", "p3", 1)), Micros(20));
    let alerts = engine.evaluate(Micros(S));
    assert_eq!(alerts.len(), 1);
    assert_eq!(
        alerts[0].annotations["description"],
        "Pod/p3, Pod/p11, Pod/p10, Pod/p9, Pod/p8, Pod/p7, Pod/p6, Pod/p5, Pod/p4, Pod/p2 and others"
    );
}

#[test]
fn rule_files_override_builtin_rules_of_the_same_name() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("mine.yaml"),
        "rules:\n- name: NodeNotReady\n  match: {reason: NodeNotReady}\n  labels: {severity: page}\n",
    )
    .unwrap();
    let sources = RuleSources {
        builtin: true,
        paths: vec![dir.path().to_path_buf()],
    };
    let rules = sources.load().unwrap();
    let node: Vec<_> = rules.iter().filter(|r| r.name == "NodeNotReady").collect();
    assert_eq!(node.len(), 1);
    assert_eq!(node[0].labels["severity"], "page");
}

#[test]
fn prometheus_export_translates_what_the_metric_carries() {
    let rules = load_rules(
        "t",
        "rules:\n- name: Sched\n  match: {type: Warning, reason: FailedScheduling}\n  groupBy: [namespace, name]\n  annotations: {summary: '{{ object }} in {{ namespace }}'}\n- name: Rate\n  match: {type: Warning}\n  when: {rate: 0.5, window: 5m}\n  groupBy: [cluster]\n- name: Msg\n  match: {message: boom}\n",
    )
    .unwrap();
    let (file, skipped) = prometheus_rules(&rules);
    let exported = &file["groups"][0]["rules"];
    assert_eq!(
        exported[0]["expr"],
        "sum by (namespace) (increase(kube_event_count{type=\"Warning\",reason=\"FailedScheduling\"}[300s])) > 0"
    );
    assert_eq!(
        exported[0]["annotations"]["summary"],
        " in {{ $labels.namespace }}"
    );
    assert_eq!(
        exported[1]["expr"],
        "sum by (cluster) (rate(kube_event_count{type=\"Warning\"}[300s])) >= 0.5"
    );
    assert_eq!(skipped.len(), 1);
    assert_eq!(skipped[0].0, "Msg");
}

#[test]
fn prometheus_export_translates_a_forecast_into_predict_linear() {
    let rules = load_rules(
        "t",
        "rules:\n- name: Payments\n  match: {type: Warning, namespace: payments}\n  when: {forecast: 2, window: 1h, horizon: 30m}\n  groupBy: [namespace]\n",
    )
    .unwrap();
    let (file, skipped) = prometheus_rules(&rules);
    assert!(skipped.is_empty());
    assert_eq!(
        file["groups"][0]["rules"][0]["expr"],
        "predict_linear(sum by (namespace) (rate(kube_event_count{type=\"Warning\",namespace=\"payments\"}[360s]))[3600s:360s], 1800) >= 2"
    );
}

#[test]
fn prometheus_rule_object_holds_the_rule_file_as_its_spec() {
    let rules = load_rules(
        "t",
        "rules:\n- name: Sched\n  match: {reason: FailedScheduling}\n- name: Msg\n  match: {message: boom}\n",
    )
    .unwrap();
    let (object, skipped) = prometheus_rule_object(&rules, "kevents-rules");
    assert_eq!(object["apiVersion"], "monitoring.coreos.com/v1");
    assert_eq!(object["kind"], "PrometheusRule");
    assert_eq!(
        object["metadata"],
        serde_json::json!({"name": "kevents-rules"})
    );
    assert_eq!(object["spec"], prometheus_rules(&rules).0);
    assert_eq!(object["spec"]["groups"][0]["rules"][0]["alert"], "Sched");
    assert_eq!(
        skipped,
        vec![("Msg".to_string(), promql(&rules[1]).unwrap_err())]
    );
}

#[test]
fn key_resource_rules_only_see_key_resources() {
    let keys = std::sync::Arc::new(crate::KeyResources::new(
        vec!["*/prod/Pod/db-*".parse().unwrap()],
        "prod-cluster",
    ));
    let engine = engine("rules:\n- name: Key\n  match: {keyResources: true, type: Warning}\n")
        .with_key_resources(keys);
    engine.observe_at(&added(event("X", "Pod", "web-0", 1)), Micros(0));
    assert!(engine.evaluate(Micros(S)).is_empty());
    let mut db = event("X", "Pod", "db-0", 1);
    db.involved_object.namespace = "prod".into();
    engine.observe_at(&added(db), Micros(S));
    assert_eq!(
        names(&engine.evaluate(Micros(2 * S))),
        vec![("Key".into(), false)]
    );
}
