//! A firing becomes a [`TriggerRun`]: its idempotency key, and its action rendered once, at
//! firing time, so every attempt (also after a restart) sends exactly the same thing.

use crate::actions::http::CLOUD_EVENT_TYPE;
use crate::actions::kubernetes::{KEY_LABEL, RUN_LABEL, TRIGGER_LABEL};
use crate::compile::{Action, TriggerSpec};
use crate::run::{
    idempotency_key, ActionRequest, EventRef, Phase, RunMetadata, RunSpec, RunStatus, TriggerRun,
};
use crate::template::Values;
use kevents_model::Micros;
use kevents_sink::delivery::{Delivery, Emission};
use kevents_store::StoredEvent;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::Arc;

/// What made a trigger fire.
#[derive(Clone, Copy)]
pub enum Source<'a> {
    /// A change of this event.
    Event(&'a Arc<StoredEvent>),
    /// This alert starting or resolving.
    Alert(&'a kevents_alert::Alert),
}

/// What fired: the trigger, the event or alert, its cluster, the dedupe key and the window.
pub struct Firing<'a> {
    /// The trigger.
    pub spec: &'a TriggerSpec,
    /// The event or alert.
    pub source: Source<'a>,
    /// The hub's own cluster name (for events that carry none).
    pub hub_cluster: &'a str,
    /// The rendered dedupe key.
    pub dedupe_key: &'a str,
    /// The window's start (the change's commit time).
    pub window_start: i64,
    /// The event's fields.
    pub values: Values,
}

/// The largest Kubernetes object name (DNS label).
const MAX_NAME: usize = 63;

fn object_name(rendered: &Value, key: &str, trigger: &str) -> String {
    let suffix = &key[trigger.len()..]; // `-<hex>`
    let base = rendered["metadata"]["name"]
        .as_str()
        .filter(|n| !n.is_empty())
        .or_else(|| rendered["metadata"]["generateName"].as_str())
        .map(|n| n.trim_end_matches('-'))
        .filter(|n| !n.is_empty())
        .unwrap_or(trigger);
    let room = MAX_NAME - suffix.len();
    let base: String = base.chars().take(room).collect();
    format!("{}{suffix}", base.trim_end_matches('-'))
}

impl Firing<'_> {
    /// The run this firing is.
    pub fn run(mut self) -> TriggerRun {
        let trigger = &self.spec.name;
        let key = idempotency_key(trigger, self.dedupe_key, self.window_start);
        let cluster = self.values["cluster"].clone();
        self.values.insert("trigger", trigger.clone());
        self.values.insert("key", key.clone());
        self.values.insert("run", key.clone());
        let window_start = Micros(self.window_start).to_micro_time_string();
        let namespace = match self.values["namespace"].as_str() {
            "" => "default".to_string(),
            namespace => namespace.to_string(),
        };
        let (subject, what) = match self.source {
            Source::Event(event) => {
                let delivery = Delivery::new(
                    event.clone(),
                    self.hub_cluster,
                    Emission::First,
                    event.record.resource_version,
                );
                let subject = format!("{}/{}", event.record.namespace, self.values["object"]);
                (
                    subject,
                    json!({"events": [kevents_sink::layout::envelope(&delivery)]}),
                )
            }
            Source::Alert(alert) => (
                format!("alert/{}", self.values["alert"]),
                json!({ "alert": alert }),
            ),
        };
        let (kind, target, body) = match &self.spec.action {
            Action::Webhook { url, .. } => {
                let body = json!({
                    "specversion": "1.0",
                    "id": key,
                    "source": format!("kevents/{cluster}/triggers/{trigger}"),
                    "type": CLOUD_EVENT_TYPE,
                    "subject": subject,
                    "time": window_start,
                    "datacontenttype": "application/json",
                    "data": {
                        "trigger": trigger,
                        "run": key,
                        "dedupeKey": self.dedupe_key,
                        "cluster": cluster,
                    },
                });
                let mut body = body;
                if let (Some(data), Some(what)) = (body["data"].as_object_mut(), what.as_object()) {
                    data.extend(what.clone());
                }
                ("webhook", url.clone(), body)
            }
            Action::Slack { url, text, .. } => (
                "slack",
                url.clone(),
                json!({"text": text.render(&self.values)}),
            ),
            Action::Kubernetes {
                context, object, ..
            } => {
                let mut rendered = object.render(&self.values);
                let name = object_name(&rendered, &key, trigger);
                let metadata = &mut rendered["metadata"];
                metadata["name"] = json!(name);
                if let Some(map) = metadata.as_object_mut() {
                    map.remove("generateName");
                }
                if metadata["namespace"].as_str().is_none_or(str::is_empty) {
                    metadata["namespace"] = json!(namespace);
                }
                for (label, value) in [
                    (TRIGGER_LABEL, trigger),
                    (RUN_LABEL, &key),
                    (KEY_LABEL, &key),
                ] {
                    metadata["labels"][label] = json!(value);
                }
                let target = context
                    .clone()
                    .unwrap_or_else(|| format!("<collector of {cluster}>"));
                ("kubernetes", target, rendered)
            }
        };
        let dry_run = self.spec.dry_run;
        TriggerRun {
            api_version: "kevents.io/v1".into(),
            kind: "TriggerRun".into(),
            metadata: RunMetadata {
                name: key.clone(),
                namespace,
                uid: uuid::Uuid::new_v4().to_string(),
                creation_timestamp: Micros::now().to_time_string(),
                labels: BTreeMap::from([(TRIGGER_LABEL.to_string(), trigger.clone())]),
                resource_version: None,
            },
            spec: RunSpec {
                trigger: trigger.clone(),
                cluster,
                dedupe_key: self.dedupe_key.to_string(),
                idempotency_key: key,
                window_start,
                dry_run,
                matched_events: match self.source {
                    Source::Event(event) => vec![EventRef {
                        cluster: self.values["cluster"].clone(),
                        namespace: event.record.namespace.clone(),
                        name: event.record.name.clone(),
                        uid: event.record.uid.clone(),
                        resource_version: event.record.resource_version.to_string(),
                        reason: event.record.reason.clone(),
                        involved_object: self.values["object"].clone(),
                    }],
                    Source::Alert(_) => Vec::new(),
                },
                alert: match self.source {
                    Source::Alert(alert) => {
                        Some(serde_json::to_value(alert).expect("an alert serializes"))
                    }
                    Source::Event(_) => None,
                },
                action: ActionRequest {
                    kind: kind.into(),
                    target,
                    body,
                },
            },
            status: RunStatus {
                phase: if dry_run {
                    Phase::DryRun
                } else {
                    Phase::Pending
                },
                attempts: 0,
                message: if dry_run {
                    "dry run: recorded, nothing done".into()
                } else {
                    String::new()
                },
                last_attempt_time: None,
                completion_time: None,
                created_object: None,
                suppressed: Default::default(),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn object_names_carry_the_key_and_fit_a_dns_label() {
        let key = "restart-0123456789";
        assert_eq!(object_name(&json!({"metadata": {}}), key, "restart"), key);
        assert_eq!(
            object_name(
                &json!({"metadata": {"generateName": "diag-"}}),
                key,
                "restart"
            ),
            "diag-0123456789"
        );
        let long = "x".repeat(80);
        let name = object_name(&json!({"metadata": {"name": long}}), key, "restart");
        assert_eq!(name.len(), 63);
        assert!(name.ends_with("-0123456789"));
    }
}
