//! The alert list: states, the events behind each alert, and the bound on resolved alerts.

use super::*;
use crate::rules::tests::added;
use crate::rules::{load_rules, RuleEngine, EVENTS_KEPT};
use kevents_model::EventRecord;
use kevents_store::Change;

const S: i64 = 1_000_000;

fn event(namespace: &str, name: &str, count: i32) -> Change {
    let mut e = EventRecord {
        namespace: namespace.into(),
        name: format!("{name}.17a"),
        uid: format!("uid-{name}"),
        reason: "BackOff".into(),
        event_type: "Warning".into(),
        message: format!("Back-off restarting failed container in {name}"),
        count,
        ..Default::default()
    };
    e.involved_object.kind = "Pod".into();
    e.involved_object.namespace = namespace.into();
    e.involved_object.name = name.into();
    added(e)
}

fn engine(yaml: &str) -> RuleEngine {
    RuleEngine::new(load_rules("test.yaml", yaml).unwrap(), "prod-cluster")
}

const CRASHING: &str = "rules:\n- name: CrashLoop\n  match: {reason: BackOff}\n  when: {count: 3, window: 10m}\n  for: 10s\n  resolveAfter: 1m\n  groupBy: [namespace]\n  labels: {severity: warning}\n  annotations: {summary: '{{ objects }} crash-looping in {{ namespace }}'}\n";

#[test]
fn an_alert_goes_from_pending_to_firing_to_resolved_under_one_name() {
    let engine = engine(CRASHING);
    engine.observe_at(&event("shop", "web-1", 3), Micros(0));
    engine.evaluate(Micros(S));
    let pending = engine.list(Micros(S));
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].state, AlertState::Pending);
    assert_eq!(pending[0].firing_since, None);
    assert_eq!(pending[0].value, 3.0, "occurrences in the window");
    assert_eq!(pending[0].namespace(), "shop");
    assert_eq!(pending[0].labels["severity"], "warning");
    assert_eq!(
        pending[0].annotations["summary"],
        "Pod/web-1 crash-looping in shop"
    );
    assert!(pending[0].name().starts_with("crashloop-"));

    engine.evaluate(Micros(12 * S));
    let firing = engine.list(Micros(12 * S));
    assert_eq!(firing[0].state, AlertState::Firing);
    assert_eq!(firing[0].firing_since, Some(Micros(12 * S)));
    assert_eq!(firing[0].active_since, Micros(S));
    assert_eq!(firing[0].name(), pending[0].name());

    // Out of the window: the condition stops holding and the alert resolves.
    engine.evaluate(Micros(11 * 60 * S));
    let resolved = engine.list(Micros(11 * 60 * S));
    assert_eq!(resolved.len(), 1);
    assert_eq!(resolved[0].state, AlertState::Resolved);
    assert_eq!(resolved[0].resolved_at, Some(Micros(11 * 60 * S)));
    assert_eq!(resolved[0].name(), pending[0].name());
    assert_eq!(
        resolved[0].events[0].name, "web-1.17a",
        "resolved alerts keep their events"
    );
}

#[test]
fn each_alert_lists_its_latest_events_and_only_its_own() {
    let engine = engine(CRASHING);
    for i in 0..(EVENTS_KEPT + 3) {
        engine.observe_at(&event("shop", &format!("web-{i}"), 3), Micros(i as i64 * S));
    }
    engine.observe_at(&event("billing", "api-0", 5), Micros(0));
    engine.evaluate(Micros(60 * S));
    engine.evaluate(Micros(71 * S));
    let listed = engine.list(Micros(71 * S));
    let shop = listed.iter().find(|a| a.namespace() == "shop").unwrap();
    assert_eq!(shop.state, AlertState::Firing);
    assert_eq!(shop.events.len(), EVENTS_KEPT);
    assert_eq!(shop.events[0].name, format!("web-{}.17a", EVENTS_KEPT + 2));
    assert_eq!(shop.events[0].uid, format!("uid-web-{}", EVENTS_KEPT + 2));
    assert_eq!(shop.events[0].involved_object.kind, "Pod");
    assert_eq!(shop.events[0].reason, "BackOff");
    assert!(shop.events.iter().all(|e| e.namespace == "shop"));
    assert_eq!(shop.count, 3 * (EVENTS_KEPT as u64 + 3));
    let billing = listed.iter().find(|a| a.namespace() == "billing").unwrap();
    assert_eq!(billing.events.len(), 1);
    assert_eq!(billing.events[0].involved_object.name, "api-0");
    assert_ne!(shop.name(), billing.name());
}

#[test]
fn resolved_alerts_are_bounded_in_number_and_age() {
    let engine = engine(
        "rules:\n- name: Node\n  match: {reason: BackOff}\n  resolveAfter: 30s\n  groupBy: [namespace]\n",
    );
    let groups = RESOLVED_KEPT + 20;
    for i in 0..groups {
        engine.observe_at(&event(&format!("ns-{i}"), "p", 1), Micros(0));
    }
    engine.evaluate(Micros(S));
    assert_eq!(engine.list(Micros(S)).len(), groups);
    engine.evaluate(Micros(31 * S));
    let resolved = engine.list(Micros(31 * S));
    assert_eq!(resolved.len(), RESOLVED_KEPT);
    assert!(resolved.iter().all(|a| a.state == AlertState::Resolved));
    // A later firing of a kept group is another entry; the resolved one stays. (Which groups
    // are kept among those that resolved at the same moment is not specified.)
    let kept = resolved[0].namespace().to_string();
    engine.observe_at(&event(&kept, "p", 1), Micros(40 * S));
    engine.evaluate(Micros(41 * S));
    let both: Vec<_> = engine
        .list(Micros(41 * S))
        .into_iter()
        .filter(|a| a.namespace() == kept)
        .collect();
    assert_eq!(both.len(), 2);
    assert_ne!(both[0].name(), both[1].name());
    // A day after they resolved, they are gone (and the engine knew to look again then).
    let later = Micros(31 * S + RESOLVED_MAX_AGE);
    assert!(engine.evaluate_if_due(later).is_some());
    let left = engine.list(later);
    assert_eq!(
        left.len(),
        1,
        "only the later firing, resolved since: {left:?}"
    );
    assert_eq!(left[0].resolved_at, Some(later));
}

#[test]
fn resolved_alerts_count_in_the_engine_bytes() {
    let engine = engine(
        "rules:\n- name: Node\n  match: {reason: BackOff}\n  resolveAfter: 30s\n  groupBy: [namespace]\n",
    )
    .with_max_bytes(64 << 10);
    for i in 0..50 {
        engine.observe_at(&event(&format!("ns-{i}"), "p", 1), Micros(0));
    }
    engine.evaluate(Micros(S));
    engine.evaluate(Micros(31 * S));
    let resolved = engine.list(Micros(31 * S));
    let bytes: usize = resolved.iter().map(ListedAlert::bytes).sum();
    assert!(!resolved.is_empty());
    assert!(bytes <= (64 << 10) / 4, "{bytes} bytes of resolved alerts");
    assert!(
        resolved.len() < 50,
        "the quarter of the bytes bounds them first"
    );
}
