//! Text templates for chat-style sinks: `{{ field }}` placeholders, checked when the config is
//! loaded so a typo never surfaces at send time.

use crate::delivery::Delivery;

/// Fields a template may use.
pub const FIELDS: &[&str] = &[
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
    "first_seen",
    "last_seen",
    "emission",
];

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

impl Template {
    /// Parses `text`; unknown fields and unclosed braces are errors.
    pub fn parse(text: &str) -> Result<Template, String> {
        let mut parts = Vec::new();
        let mut rest = text;
        while let Some(start) = rest.find("{{") {
            parts.push(Part::Text(rest[..start].to_string()));
            let after = &rest[start + 2..];
            let end = after
                .find("}}")
                .ok_or_else(|| format!("unclosed `{{{{` in {text:?}"))?;
            let name = after[..end].trim();
            let field = FIELDS.iter().find(|f| **f == name).ok_or_else(|| {
                format!(
                    "unknown template field {name:?}; known: {}",
                    FIELDS.join(", ")
                )
            })?;
            parts.push(Part::Field(field));
            rest = &after[end + 2..];
        }
        parts.push(Part::Text(rest.to_string()));
        Ok(Template { parts })
    }

    /// Fills the template from a delivery.
    pub fn render(&self, delivery: &Delivery) -> String {
        let record = &delivery.event.record;
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Text(text) => out.push_str(text),
                Part::Field(field) => out.push_str(&match *field {
                    "cluster" => delivery.cluster.clone(),
                    "namespace" => record.namespace.clone(),
                    "name" => record.involved_object.name.clone(),
                    "kind" => record.involved_object.kind.clone(),
                    "object" => format!(
                        "{}/{}",
                        record.involved_object.kind.to_lowercase(),
                        record.involved_object.name
                    ),
                    "type" => record.event_type.clone(),
                    "reason" => record.reason.clone(),
                    "message" => record.message.clone(),
                    "count" => record.occurrences().to_string(),
                    "source" => record.source_name().to_string(),
                    "first_seen" => record
                        .first_seen()
                        .map(|t| t.to_time_string())
                        .unwrap_or_default(),
                    "last_seen" => record
                        .last_seen()
                        .map(|t| t.to_time_string())
                        .unwrap_or_default(),
                    _ => delivery.emission.as_str().to_string(),
                }),
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::delivery::tests::delivery;

    #[test]
    fn template_renders_fields_and_rejects_unknown_ones_at_parse() {
        let template =
            Template::parse("{{ type }} {{reason}} {{ object }} x{{count}} in {{cluster}}")
                .unwrap();
        let d = delivery(7, 3);
        assert_eq!(
            template.render(&d),
            "Warning BackOff pod/web-0 x3 in prod-eu"
        );
        let err = Template::parse("{{ nope }}").unwrap_err();
        assert!(err.contains("unknown template field"), "{err}");
        assert!(Template::parse("{{ reason ").is_err());
    }
}
