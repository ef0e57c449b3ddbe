//! `{{ field }}` templates of dedupe keys, object templates and messages, checked when the
//! triggers file is loaded so an unknown field never surfaces at firing time.

use kevents_model::{EventRecord, Template};
use std::collections::BTreeMap;

/// Every field a template may use: first the fields of the event (or alert) that fired
/// ([`EVENT_FIELDS`]; `alert` and `fingerprint`, the alert's labels, are empty for events), then
/// those only actions may use: the trigger's name, the idempotency key and the run's name.
pub const ACTION_FIELDS: &[&str] = &[
    "cluster",
    "namespace",
    "name",
    "kind",
    "object",
    "type",
    "reason",
    "message",
    "count",
    "source",
    "uid",
    "alert",
    "fingerprint",
    "trigger",
    "key",
    "run",
];

/// The fields of the event (or alert) that fired: what a dedupe key may use.
pub const EVENT_FIELDS: &[&str] = ACTION_FIELDS.split_at(13).0;

/// The values a template is filled from.
pub type Values = BTreeMap<&'static str, String>;

/// Parses an action's template (a message, an object's string); any field may be used.
pub fn parse_action(text: &str) -> Result<Template, String> {
    Template::parse(text, ACTION_FIELDS).map_err(|e| e.to_string())
}

/// Parses a dedupe key's template; only the event fields may be used.
pub fn parse_key(text: &str) -> Result<Template, String> {
    Template::parse(text, EVENT_FIELDS).map_err(|e| e.to_string())
}

/// The event fields of `record`, collected from `cluster`.
pub fn event_values(record: &EventRecord, cluster: &str) -> Values {
    let object = &record.involved_object;
    Values::from([
        ("cluster", cluster.to_string()),
        ("namespace", record.namespace.clone()),
        ("name", object.name.clone()),
        ("kind", object.kind.clone()),
        (
            "object",
            format!("{}/{}", object.kind.to_lowercase(), object.name),
        ),
        ("type", record.event_type.clone()),
        ("reason", record.reason.clone()),
        ("message", record.message.clone()),
        ("count", record.occurrences().to_string()),
        ("source", record.source_name().to_string()),
        ("uid", record.uid.clone()),
        ("alert", String::new()),
        ("fingerprint", String::new()),
    ])
}

/// The fields of an alert: its labels where they name a field (`cluster`, `namespace`,
/// `reason`, `kind`, `name`, …), its `alertname`, its fingerprint, and its summary as the
/// message. The cluster is the hub's when the alert has none.
pub fn alert_values(alert: &kevents_alert::Alert, hub_cluster: &str) -> Values {
    let label = |name: &str| alert.labels.get(name).cloned().unwrap_or_default();
    let mut values = Values::new();
    for field in EVENT_FIELDS {
        values.insert(field, label(field));
    }
    if values["cluster"].is_empty() {
        values.insert("cluster", hub_cluster.to_string());
    }
    if values["object"].is_empty() && !values["name"].is_empty() {
        let object = format!("{}/{}", values["kind"].to_lowercase(), values["name"]);
        values.insert("object", object);
    }
    values.insert("alert", label("alertname"));
    values.insert("fingerprint", alert.fingerprint());
    let summary = alert
        .annotations
        .get("summary")
        .or(alert.annotations.get("description"));
    values.insert("message", summary.cloned().unwrap_or_default());
    values
}

/// A JSON document whose strings are templates (a Kubernetes object to create).
#[derive(Debug, Clone)]
pub enum DocumentTemplate {
    /// A string with placeholders.
    Text(Template),
    /// Any other scalar, as written.
    Scalar(serde_json::Value),
    /// A list.
    List(Vec<DocumentTemplate>),
    /// A map (keys are not templates).
    Map(Vec<(String, DocumentTemplate)>),
}

impl DocumentTemplate {
    /// Parses every string of `value`; the error names the path of the bad one.
    pub fn parse(value: &serde_json::Value, path: &str) -> Result<DocumentTemplate, String> {
        use serde_json::Value;
        Ok(match value {
            Value::String(text) => {
                DocumentTemplate::Text(parse_action(text).map_err(|e| format!("{path}: {e}"))?)
            }
            Value::Array(items) => DocumentTemplate::List(
                items
                    .iter()
                    .enumerate()
                    .map(|(i, item)| DocumentTemplate::parse(item, &format!("{path}[{i}]")))
                    .collect::<Result<_, _>>()?,
            ),
            Value::Object(map) => DocumentTemplate::Map(
                map.iter()
                    .map(|(k, v)| {
                        Ok((
                            k.clone(),
                            DocumentTemplate::parse(v, &format!("{path}.{k}"))?,
                        ))
                    })
                    .collect::<Result<_, String>>()?,
            ),
            other => DocumentTemplate::Scalar(other.clone()),
        })
    }

    /// The document with every string filled.
    pub fn render(&self, values: &Values) -> serde_json::Value {
        use serde_json::Value;
        match self {
            DocumentTemplate::Text(t) => Value::String(t.render(values)),
            DocumentTemplate::Scalar(v) => v.clone(),
            DocumentTemplate::List(items) => {
                Value::Array(items.iter().map(|i| i.render(values)).collect())
            }
            DocumentTemplate::Map(entries) => Value::Object(
                entries
                    .iter()
                    .map(|(k, v)| (k.clone(), v.render(values)))
                    .collect(),
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn dedupe_keys_may_not_use_firing_fields_but_actions_may() {
        assert!(parse_key("{{ cluster }}/{{ key }}")
            .unwrap_err()
            .contains("unknown template field \"key\""));
        let t = parse_action("{{ trigger }}-{{ reason }}").unwrap();
        let values = Values::from([
            ("trigger", "t".to_string()),
            ("reason", "BackOff".to_string()),
        ]);
        assert_eq!(t.render(&values), "t-BackOff");
        assert!(parse_key("{{ reason").is_err());
        assert_eq!(EVENT_FIELDS.last(), Some(&"fingerprint"));
    }

    #[test]
    fn document_templates_fill_strings_at_any_depth_and_name_bad_paths() {
        let object = json!({"metadata": {"labels": {"why": "{{ reason }}"}}, "spec": {"args": ["{{ name }}", 3]}});
        let template = DocumentTemplate::parse(&object, "object").unwrap();
        let values = Values::from([
            ("reason", "BackOff".to_string()),
            ("name", "web-0".to_string()),
        ]);
        assert_eq!(
            template.render(&values),
            json!({"metadata": {"labels": {"why": "BackOff"}}, "spec": {"args": ["web-0", 3]}})
        );
        let bad = DocumentTemplate::parse(&json!({"spec": {"args": ["{{ nope }}"]}}), "object")
            .unwrap_err();
        assert!(bad.starts_with("object.spec.args[0]"), "{bad}");
    }
}
