//! A `kevents.io/v1` `TriggerRun`: one firing of a trigger, what it matched, what it did and
//! how that went. Its serialized form is both the API object and the journal line.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The run's outcome so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Phase {
    /// Not done yet (being attempted, or waiting to retry).
    Pending,
    /// The action succeeded.
    Succeeded,
    /// The action failed for good (refused, or out of attempts): dead-lettered.
    Failed,
    /// A dry run: recorded, nothing done.
    DryRun,
}

/// One firing.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TriggerRun {
    /// `kevents.io/v1`.
    pub api_version: String,
    /// `TriggerRun`.
    pub kind: String,
    /// Name (`<trigger>-<hash>`), namespace (the event's), uid, labels, creation time.
    pub metadata: RunMetadata,
    /// What fired and what it does.
    pub spec: RunSpec,
    /// How it went.
    pub status: RunStatus,
}

/// The run's metadata.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RunMetadata {
    /// `<trigger>-<first 10 hex digits of the idempotency hash>`.
    pub name: String,
    /// The namespace of the event that fired it.
    pub namespace: String,
    /// Unique id.
    pub uid: String,
    /// When it fired (RFC 3339).
    pub creation_timestamp: String,
    /// `kevents.io/trigger: <name>`.
    pub labels: std::collections::BTreeMap<String, String>,
    /// Set by the API when served.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_version: Option<String>,
}

/// What fired and what it does.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RunSpec {
    /// The trigger's name.
    pub trigger: String,
    /// The cluster of the event that fired it.
    pub cluster: String,
    /// The rendered dedupe key.
    pub dedupe_key: String,
    /// Derived from the trigger, the dedupe key and the window: the CloudEvent id, the created
    /// object's name suffix.
    pub idempotency_key: String,
    /// When the firing window started (the first matching change's commit, RFC 3339).
    pub window_start: String,
    /// Evaluate and record only.
    pub dry_run: bool,
    /// The events that made it fire.
    pub matched_events: Vec<EventRef>,
    /// The alert that made it fire (alert triggers).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alert: Option<serde_json::Value>,
    /// The action, rendered at firing time.
    pub action: ActionRequest,
}

/// An event that contributed to a firing.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EventRef {
    /// Its cluster.
    pub cluster: String,
    /// Its namespace.
    pub namespace: String,
    /// Its name.
    pub name: String,
    /// Its uid.
    pub uid: String,
    /// The resourceVersion that matched.
    pub resource_version: String,
    /// Its reason.
    pub reason: String,
    /// The object it is about (`kind/name`).
    pub involved_object: String,
}

/// The action as it will be (or was) carried out, so a restart repeats it exactly.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ActionRequest {
    /// `webhook`, `kubernetes` or `slack`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The URL, or for `kubernetes` the context (`<collector>` when the collector's).
    pub target: String,
    /// The CloudEvent, the object to create, or the Slack message.
    pub body: serde_json::Value,
}

/// How the run went.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RunStatus {
    /// The outcome so far.
    pub phase: Phase,
    /// Attempts made.
    pub attempts: u32,
    /// The last attempt's answer (or why nothing was done).
    pub message: String,
    /// When the last attempt was made.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_attempt_time: Option<String>,
    /// When the run ended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completion_time: Option<String>,
    /// The object the action created.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_object: Option<ObjectRef>,
    /// Firings suppressed while this run held the key's cooldown or was the trigger's latest.
    pub suppressed: Suppressed,
}

/// A created object.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ObjectRef {
    /// Its apiVersion.
    pub api_version: String,
    /// Its kind.
    pub kind: String,
    /// Its namespace.
    pub namespace: String,
    /// Its name.
    pub name: String,
    /// Its uid.
    pub uid: String,
}

/// Suppressed firings, by reason.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Suppressed {
    /// The key fired less than the cooldown before.
    pub cooldown: u64,
    /// The trigger had used its rate limit.
    pub rate_limit: u64,
    /// The trigger was paused.
    pub paused: u64,
    /// All of them.
    pub total: u64,
}

/// The idempotency key of a firing: `<trigger>-<hex>` where the hex is a hash of the trigger,
/// the dedupe key and the window's start. The same firing replayed after a restart gets the
/// same key; the next window of the same key a different one.
pub fn idempotency_key(trigger: &str, dedupe_key: &str, window_start: i64) -> String {
    let mut hash = Sha256::new();
    hash.update(trigger.as_bytes());
    hash.update([0]);
    hash.update(dedupe_key.as_bytes());
    hash.update([0]);
    hash.update(window_start.to_be_bytes());
    let digest = hash.finalize();
    let hex: String = digest[..5].iter().map(|b| format!("{b:02x}")).collect();
    format!("{trigger}-{hex}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idempotency_keys_depend_on_trigger_key_and_window_only() {
        let key = idempotency_key("restart", "prod/pod/web-0/BackOff", 7);
        assert_eq!(key, idempotency_key("restart", "prod/pod/web-0/BackOff", 7));
        assert!(key.starts_with("restart-") && key.len() == "restart-".len() + 10);
        assert_ne!(key, idempotency_key("restart", "prod/pod/web-0/BackOff", 8));
        assert_ne!(key, idempotency_key("restart", "prod/pod/web-1/BackOff", 7));
        assert_ne!(key, idempotency_key("other", "prod/pod/web-0/BackOff", 7));
    }
}
