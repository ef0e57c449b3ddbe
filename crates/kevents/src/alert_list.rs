//! Keeps the `alerts` resource (`kevents.io/v1`, `Alert`) current: after each evaluation of the
//! rules, the engine's list (pending, firing, recently resolved) is put into the served
//! objects; only alerts that changed are put, and those gone are removed, so watches see
//! `ADDED`, `MODIFIED` and `DELETED` as alerts move.

use kevents_alert::rules::{ListedAlert, RuleEngine};
use kevents_alert::Alert;
use kevents_api::ServedObjects;
use kevents_model::Micros;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::Arc;
use tokio::sync::broadcast::{error::RecvError, Receiver};

/// Follows the evaluations published on `evaluated` and mirrors the engine's alert list into
/// `served` until `shutdown` turns true.
pub fn start(
    engine: Arc<RuleEngine>,
    served: Arc<ServedObjects>,
    mut evaluated: Receiver<Arc<Vec<Alert>>>,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut shown: HashMap<(String, String), Value> = HashMap::new();
        loop {
            tokio::select! {
                received = evaluated.recv() => match received {
                    Ok(_) | Err(RecvError::Lagged(_)) => {
                        let listed = engine.list(Micros::now());
                        mirror(&served, listed.iter().map(object), &mut shown);
                    }
                    Err(RecvError::Closed) => return,
                },
                changed = shutdown.changed() => {
                    if changed.is_err() || *shutdown.borrow() {
                        return;
                    }
                }
            }
        }
    })
}

/// Puts the objects that differ from `shown`, removes those no longer listed.
fn mirror(
    served: &ServedObjects,
    objects: impl Iterator<Item = Value>,
    shown: &mut HashMap<(String, String), Value>,
) {
    let mut now: HashMap<(String, String), Value> = HashMap::new();
    for object in objects {
        let key = (
            object["metadata"]["namespace"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
            object["metadata"]["name"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
        );
        if shown.get(&key) != Some(&object) {
            served.put(object.clone());
        }
        now.insert(key, object);
    }
    for (namespace, name) in shown.keys().filter(|key| !now.contains_key(*key)) {
        served.remove(namespace, name);
    }
    *shown = now;
}

fn time(at: Option<Micros>) -> Value {
    at.map_or(Value::Null, |at| Value::String(at.to_micro_time_string()))
}

/// An alert as a `kevents.io/v1` `Alert` object.
pub fn object(alert: &ListedAlert) -> Value {
    // Counts are whole; rates and forecasts are fractions, for which three decimals say enough.
    let rounded = (alert.value * 1000.0).round() / 1000.0;
    let value = if rounded.fract() == 0.0 && rounded.abs() < 1e15 {
        json!(rounded as i64)
    } else {
        json!(rounded)
    };
    json!({
        "apiVersion": "kevents.io/v1",
        "kind": "Alert",
        "metadata": {
            "name": alert.name(),
            "namespace": alert.namespace(),
            "labels": alert.labels,
            "creationTimestamp": alert.active_since.to_time_string(),
        },
        "spec": {
            "rule": alert.rule,
            "severity": alert.labels.get("severity").cloned().unwrap_or_default(),
            "annotations": alert.annotations,
        },
        "status": {
            "state": alert.state.as_str(),
            "activeSince": time(Some(alert.active_since)),
            "firingSince": time(alert.firing_since),
            "resolvedAt": time(alert.resolved_at),
            "value": value,
            "count": alert.count,
            "events": alert.events,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use kevents_alert::rules::load_rules;
    use kevents_model::EventRecord;
    use kevents_store::{Change, ChangeType, StoredEvent};

    fn change(namespace: &str) -> Change {
        let mut record = EventRecord {
            namespace: namespace.into(),
            name: "web.1".into(),
            reason: "Failing".into(),
            event_type: "Warning".into(),
            count: 1,
            ..Default::default()
        };
        record.involved_object.kind = "Pod".into();
        record.involved_object.name = "web".into();
        Change {
            resource_version: 1,
            change_type: ChangeType::Added,
            object: Arc::new(StoredEvent {
                record,
                updated_at: Micros(0),
            }),
            previous: None,
            committed_at: Micros(0),
        }
    }

    #[test]
    fn alerts_are_mirrored_as_objects_and_removed_when_gone() {
        let rules = load_rules(
            "t",
            "rules:\n- name: Failing\n  match: {reason: Failing}\n  resolveAfter: 30s\n  groupBy: [namespace]\n  labels: {severity: critical}\n",
        )
        .unwrap();
        let engine = RuleEngine::new(rules, "hub");
        engine.observe_at(&change("shop"), Micros(0));
        engine.evaluate(Micros(1_000_000));
        let served = ServedObjects::default();
        let mut shown = HashMap::new();
        let listed = engine.list(Micros(1_000_000));
        mirror(&served, listed.iter().map(object), &mut shown);
        let all = served.all();
        assert_eq!(all.len(), 1);
        assert_eq!(all[0]["metadata"]["namespace"], "shop");
        assert_eq!(all[0]["spec"]["severity"], "critical");
        assert_eq!(all[0]["status"]["state"], "firing");
        assert_eq!(all[0]["status"]["events"][0]["name"], "web.1");
        assert_eq!(all[0]["status"]["resolvedAt"], Value::Null);
        // Listing the same again puts nothing: the version stays.
        let version = all[0]["metadata"]["resourceVersion"].clone();
        mirror(&served, listed.iter().map(object), &mut shown);
        assert_eq!(served.all()[0]["metadata"]["resourceVersion"], version);
        // Resolved: the same object, modified.
        engine.evaluate(Micros(31_000_000));
        mirror(
            &served,
            engine.list(Micros(31_000_000)).iter().map(object),
            &mut shown,
        );
        let all = served.all();
        assert_eq!(all.len(), 1);
        assert_eq!(all[0]["status"]["state"], "resolved");
        // Gone from the list (here: nothing listed), gone from the resource.
        mirror(&served, std::iter::empty(), &mut shown);
        assert!(served.all().is_empty());
    }
}
