//! Routing: which events a sink gets, decided by the alert rules' matcher so both speak the
//! same `match` language (type, reason, namespace, kind, name, source, cluster, labels,
//! message regex).

use kevents_alert::rules::{load_rules, Rule};
use kevents_model::EventRecord;

/// A compiled `match` section.
#[derive(Debug, Clone)]
pub struct Route {
    // The matcher is reached through a one-rule set: `kevents_alert` exposes the compiled
    // matcher only as a rule's field. Swap for a direct constructor once it exists.
    rule: Option<Rule>,
}

impl Route {
    /// A route that takes every event.
    pub fn all() -> Route {
        Route { rule: None }
    }

    /// Compiles a `match` section (as parsed YAML); the error names the offending field.
    pub fn compile(spec: &serde_json::Value) -> Result<Route, String> {
        if spec.get("keyResources").is_some() {
            return Err("`keyResources` is not supported in sink routes".into());
        }
        // JSON is YAML's flow syntax, so the matcher's own parser reads it unchanged.
        let text = serde_json::json!({"rules": [{"name": "sink", "match": spec}]}).to_string();
        let mut rules = load_rules("sinks", &text).map_err(|e| {
            let field = e.field.replace("rules[0].", "").replace("rules", "match");
            format!("{field}: {}", e.message)
        })?;
        Ok(Route { rule: rules.pop() })
    }

    /// True when the sink takes `event` from `cluster`.
    pub fn matches(&self, event: &EventRecord, cluster: &str) -> bool {
        self.rule
            .as_ref()
            .is_none_or(|rule| rule.matcher.matches(event, cluster))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(kind: &str, reason: &str, message: &str) -> EventRecord {
        let mut event = EventRecord {
            event_type: "Warning".into(),
            reason: reason.into(),
            message: message.into(),
            namespace: "prod".into(),
            ..Default::default()
        };
        event.involved_object.kind = kind.into();
        event.labels.insert("team".into(), "payments".into());
        event
    }

    #[test]
    fn route_uses_the_alert_matcher_fields() {
        let spec = serde_json::json!({
            "type": "Warning", "reason": ["BackOff", "Failed*"], "namespace": "prod",
            "kind": "Pod", "labels": {"team": "pay*"}, "message": "(?i)image", "cluster": "eu-*"
        });
        let route = Route::compile(&spec).unwrap();
        assert!(route.matches(&event("Pod", "FailedPull", "pulling Image x"), "eu-1"));
        assert!(!route.matches(&event("Pod", "FailedPull", "pulling Image x"), "us-1"));
        assert!(!route.matches(&event("Node", "FailedPull", "image"), "eu-1"));
        assert!(!route.matches(&event("Pod", "Killing", "image"), "eu-1"));
        assert!(!route.matches(&event("Pod", "BackOff", "restarting"), "eu-1"));
        assert!(Route::all().matches(&event("Node", "X", ""), ""));
    }

    #[test]
    fn route_errors_name_the_field() {
        let bad_regex = Route::compile(&serde_json::json!({"message": "(unclosed"})).unwrap_err();
        assert!(bad_regex.starts_with("match.message"), "{bad_regex}");
        let unknown = Route::compile(&serde_json::json!({"colour": "red"})).unwrap_err();
        assert!(unknown.contains("colour"), "{unknown}");
        assert!(Route::compile(&serde_json::json!({"keyResources": true})).is_err());
    }
}
