//! The kill switches (`kevents triggers pause NAME`, kept in `<data-dir>/triggers/paused.json`
//! across restarts) and the `triggers` objects that show each loaded trigger with its switch
//! and its counts. A merge patch of `spec.paused` is the switch's API.

use crate::compile::TriggerSet;
use kevents_api::ServedObjects;
use parking_lot::Mutex;
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::Arc;

/// Kill switches and the served `triggers`.
pub struct Control {
    path: PathBuf,
    served: Arc<ServedObjects>,
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    paused: BTreeSet<String>,
    /// Per trigger: its object without counts, and (runs, suppressed) since start.
    triggers: BTreeMap<String, (Value, u64, u64)>,
    changed: bool,
}

impl Control {
    /// Reads the paused triggers from `path`.
    pub fn open(path: PathBuf, served: Arc<ServedObjects>) -> Control {
        let paused = std::fs::read(&path)
            .ok()
            .and_then(|bytes| serde_json::from_slice::<BTreeSet<String>>(&bytes).ok())
            .unwrap_or_default();
        Control {
            path,
            served,
            inner: Mutex::new(Inner {
                paused,
                ..Default::default()
            }),
        }
    }

    /// True when the trigger's kill switch is on.
    pub fn is_paused(&self, name: &str) -> bool {
        self.inner.lock().paused.contains(name)
    }

    /// Turns a trigger's kill switch on or off, durably.
    pub fn set_paused(&self, name: &str, paused: bool) -> Result<(), String> {
        let mut inner = self.inner.lock();
        if !inner.triggers.contains_key(name) {
            return Err(format!("no trigger named {name:?} is loaded"));
        }
        let mut next = inner.paused.clone();
        if paused {
            next.insert(name.to_string());
        } else {
            next.remove(name);
        }
        let tmp = self.path.with_extension("json.tmp");
        let bytes = serde_json::to_vec(&next).expect("a set of strings serializes");
        std::fs::write(&tmp, bytes)
            .and_then(|()| std::fs::File::open(&tmp)?.sync_all())
            .and_then(|()| std::fs::rename(&tmp, &self.path))
            .map_err(|e| format!("saving the kill switch: {e}"))?;
        inner.paused = next;
        tracing::warn!(trigger = name, paused, "trigger kill switch changed");
        self.put(&inner, name);
        Ok(())
    }

    /// Applies a merge patch to a `triggers` object: only `spec.paused` may change.
    pub fn patch(&self, name: &str, patch: &Value) -> Result<(), String> {
        let only_paused = patch
            .as_object()
            .is_some_and(|m| m.keys().all(|k| k == "spec"))
            && patch["spec"]
                .as_object()
                .is_some_and(|m| m.keys().all(|k| k == "paused"));
        match (only_paused, patch["spec"]["paused"].as_bool()) {
            (true, Some(paused)) => self.set_paused(name, paused),
            _ => Err("only spec.paused (true or false) may be patched; the rest comes from the triggers file".into()),
        }
    }

    fn put(&self, inner: &Inner, name: &str) {
        let Some((object, runs, suppressed)) = inner.triggers.get(name) else {
            return;
        };
        let mut object = object.clone();
        object["spec"]["paused"] = json!(inner.paused.contains(name));
        object["status"] = json!({"runs": runs, "suppressed": suppressed});
        self.served.put(object);
    }

    /// Shows the loaded triggers (after a load or reload), keeping the counts of those that stay.
    pub fn publish(&self, triggers: &TriggerSet) {
        let mut inner = self.inner.lock();
        let names: BTreeSet<&str> = triggers.iter().map(|t| t.name.as_str()).collect();
        let gone: Vec<String> = inner
            .triggers
            .keys()
            .filter(|n| !names.contains(n.as_str()))
            .cloned()
            .collect();
        for name in gone {
            inner.triggers.remove(&name);
            self.served.remove("", &name);
        }
        for spec in triggers.iter() {
            let object = json!({
                "apiVersion": "kevents.io/v1",
                "kind": "Trigger",
                "metadata": {"name": spec.name},
                "spec": {
                    "action": spec.action.kind(),
                    "dryRun": spec.dry_run,
                    "cooldownSeconds": spec.limits.cooldown / 1_000_000,
                    "rateLimit": spec.limits.rate_limit.map(|(count, per)| json!({"count": count, "perSeconds": per / 1_000_000})),
                },
            });
            let entry = inner
                .triggers
                .entry(spec.name.clone())
                .or_insert((Value::Null, 0, 0));
            entry.0 = object;
            self.put(&inner, &spec.name);
        }
    }

    /// Counts a firing (`fired`) or a suppressed one.
    pub fn count(&self, name: &str, fired: bool) {
        let mut inner = self.inner.lock();
        if let Some(entry) = inner.triggers.get_mut(name) {
            if fired {
                entry.1 += 1;
            } else {
                entry.2 += 1;
            }
            inner.changed = true;
        }
    }

    /// Shows counts that changed since the last call.
    pub fn publish_counts(&self) {
        let mut inner = self.inner.lock();
        if !std::mem::take(&mut inner.changed) {
            return;
        }
        let names: Vec<String> = inner.triggers.keys().cloned().collect();
        for name in names {
            self.put(&inner, &name);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_spec_paused_may_be_patched_and_the_switch_survives_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("paused.json");
        let served = Arc::new(ServedObjects::default());
        let control = Control::open(path.clone(), served.clone());
        let specs = crate::parse(
            "t.yaml",
            "triggers:\n- name: a\n  when: {event: {reason: X}}\n  action: {webhook: {url: 'http://h'}}\n",
        )
        .unwrap();
        control.publish(&Arc::new(specs.into_iter().map(Arc::new).collect()));
        assert!(control
            .patch("a", &json!({"spec": {"dryRun": true}}))
            .unwrap_err()
            .contains("only spec.paused"));
        assert!(control
            .patch("nope", &json!({"spec": {"paused": true}}))
            .is_err());
        control
            .patch("a", &json!({"spec": {"paused": true}}))
            .unwrap();
        assert!(control.is_paused("a"));
        assert_eq!(served.get("", "a").unwrap()["spec"]["paused"], true);
        assert!(Control::open(path, served).is_paused("a"));
    }
}
