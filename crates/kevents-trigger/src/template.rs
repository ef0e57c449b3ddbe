//! `{{ field }}` templates of dedupe keys, object templates and messages, checked when the
//! triggers file is loaded so an unknown field never surfaces at firing time.

use kevents_model::EventRecord;
use std::collections::BTreeMap;

/// Fields of the event (or alert) that fired; `alert` and `fingerprint` (the alert's labels)
/// are empty for events.
pub const EVENT_FIELDS: &[&str] = &[
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
];

/// Fields only actions may use: the trigger's name, the idempotency key and the run's name.
pub const FIRING_FIELDS: &[&str] = &["trigger", "key", "run"];

/// A parsed template.
#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    parts: Vec<Part>,
}

#[derive(Debug, Clone, PartialEq)]
enum Part {
    Text(String),
    Field(&'static str),
}

/// The values a template is filled from.
pub type Values = BTreeMap<&'static str, String>;

impl Template {
    /// Parses `text`, allowing the event fields and, with `firing`, the firing fields.
    pub fn parse(text: &str, firing: bool) -> Result<Template, String> {
        let mut parts = Vec::new();
        let mut rest = text;
        while let Some(start) = rest.find("{{") {
            parts.push(Part::Text(rest[..start].to_string()));
            let after = &rest[start + 2..];
            let end = after
                .find("}}")
                .ok_or_else(|| format!("unclosed `{{{{` in {text:?}"))?;
            let name = after[..end].trim();
            let known = EVENT_FIELDS
                .iter()
                .chain(if firing { FIRING_FIELDS } else { &[] })
                .find(|f| **f == name);
            let field = known.ok_or_else(|| {
                let mut fields = EVENT_FIELDS.to_vec();
                if firing {
                    fields.extend(FIRING_FIELDS);
                }
                format!(
                    "unknown template field {name:?}; known: {}",
                    fields.join(", ")
                )
            })?;
            parts.push(Part::Field(field));
            rest = &after[end + 2..];
        }
        parts.push(Part::Text(rest.to_string()));
        Ok(Template { parts })
    }

    /// Fills the template; a field without a value is empty.
    pub fn render(&self, values: &Values) -> String {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Text(text) => out.push_str(text),
                Part::Field(field) => out.push_str(values.get(field).map_or("", String::as_str)),
            }
        }
        out
    }
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
            Value::String(text) => DocumentTemplate::Text(
                Template::parse(text, true).map_err(|e| format!("{path}: {e}"))?,
            ),
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
        assert!(Template::parse("{{ cluster }}/{{ key }}", false)
            .unwrap_err()
            .contains("unknown template field \"key\""));
        let t = Template::parse("{{ trigger }}-{{ reason }}", true).unwrap();
        let values = Values::from([
            ("trigger", "t".to_string()),
            ("reason", "BackOff".to_string()),
        ]);
        assert_eq!(t.render(&values), "t-BackOff");
        assert!(Template::parse("{{ reason", false).is_err());
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
