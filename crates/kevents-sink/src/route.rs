//! Routing: which events a sink gets, decided by the model's `match` language, the one alert
//! rules speak (type, reason, namespace, kind, name, source, cluster, labels, message regex).

use kevents_model::{EventMatcher, EventRecord, MatchSpec};

/// A compiled `match` section.
#[derive(Debug, Clone, Default)]
pub struct Route {
    matcher: EventMatcher,
}

impl Route {
    /// A route that takes every event.
    pub fn all() -> Route {
        Route::default()
    }

    /// Compiles a `match` section; the error names the offending field.
    pub fn compile(spec: MatchSpec) -> Result<Route, String> {
        if spec.key_resources {
            return Err("match.keyResources: not supported in sink routes".into());
        }
        let matcher = EventMatcher::compile(spec, String::as_str)
            .map_err(|e| format!("match.{}: {e}", e.field()))?;
        Ok(Route { matcher })
    }

    /// True when the sink takes `event`. Its `cluster` is the one the event was collected
    /// from; only the hub's own events (which carry none) are of `hub_cluster`.
    pub fn matches(&self, event: &EventRecord, hub_cluster: &str) -> bool {
        self.matcher.matches(event, event.cluster_or(hub_cluster))
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

    fn spec(yaml: &str) -> Result<MatchSpec, String> {
        serde_saphyr::from_str(yaml).map_err(|e| e.to_string())
    }

    #[test]
    fn route_uses_the_alert_matcher_fields() {
        let spec = spec(
            "{type: Warning, reason: [BackOff, 'Failed*'], namespace: prod, kind: Pod, \
             labels: {team: 'pay*'}, message: '(?i)image', cluster: 'eu-*'}",
        )
        .unwrap();
        let route = Route::compile(spec).unwrap();
        assert!(route.matches(&event("Pod", "FailedPull", "pulling Image x"), "eu-1"));
        assert!(!route.matches(&event("Pod", "FailedPull", "pulling Image x"), "us-1"));
        assert!(!route.matches(&event("Node", "FailedPull", "image"), "eu-1"));
        assert!(!route.matches(&event("Pod", "Killing", "image"), "eu-1"));
        assert!(!route.matches(&event("Pod", "BackOff", "restarting"), "eu-1"));
        assert!(Route::all().matches(&event("Node", "X", ""), ""));
    }

    #[test]
    fn route_on_a_cluster_matches_the_cluster_each_event_was_collected_from() {
        let route = Route::compile(spec("{cluster: prod-eu}").unwrap()).unwrap();
        let collected = |cluster: &str| EventRecord {
            cluster: cluster.into(),
            ..event("Pod", "BackOff", "")
        };
        assert!(route.matches(&collected("prod-eu"), "hub"));
        assert!(!route.matches(&collected("prod-us"), "hub"));
        assert!(
            !route.matches(&collected("prod-us"), "prod-eu"),
            "the hub's name does not stand in for a collected event's cluster"
        );
        assert!(!route.matches(&collected(""), "hub"));
        assert!(
            route.matches(&collected(""), "prod-eu"),
            "the hub's own events are of its --cluster-name"
        );
    }

    #[test]
    fn route_errors_name_the_field() {
        let bad_regex = Route::compile(spec("{message: '(unclosed'}").unwrap()).unwrap_err();
        assert!(bad_regex.starts_with("match.message"), "{bad_regex}");
        let unknown = spec("{colour: red}").unwrap_err();
        assert!(unknown.contains("colour"), "{unknown}");
        assert!(Route::compile(spec("{keyResources: true}").unwrap()).is_err());
    }
}
