//! Annotation templates: `{{ field }}` placeholders filled from an alert's latest event.

use std::collections::BTreeMap;

/// Fields a template may use.
pub const FIELDS: &[&str] = &[
    "object",
    "objects",
    "kind",
    "name",
    "namespace",
    "reason",
    "message",
    "type",
    "count",
    "first_seen",
    "last_seen",
    "cluster",
    "source",
];

/// A parsed template.
#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    parts: Vec<Part>,
}

#[derive(Debug, Clone, PartialEq)]
enum Part {
    Text(String),
    Field(String),
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
            let field = after[..end].trim();
            if !FIELDS.contains(&field) {
                return Err(format!(
                    "unknown template field {field:?}; known: {}",
                    FIELDS.join(", ")
                ));
            }
            parts.push(Part::Field(field.to_string()));
            rest = &after[end + 2..];
        }
        parts.push(Part::Text(rest.to_string()));
        Ok(Template { parts })
    }

    /// Fills the template.
    pub fn render(&self, values: &BTreeMap<&'static str, String>) -> String {
        self.parts
            .iter()
            .map(|part| match part {
                Part::Text(text) => text.as_str(),
                Part::Field(field) => values.get(field.as_str()).map_or("", String::as_str),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_fields_and_rejects_unknown_ones() {
        let template = Template::parse("{{ object }} failed {{count}}x: {{message}}").unwrap();
        let values = BTreeMap::from([
            ("object", "pod/web-0".to_string()),
            ("count", "3".to_string()),
            ("message", "boom".to_string()),
        ]);
        assert_eq!(template.render(&values), "pod/web-0 failed 3x: boom");
        assert!(Template::parse("{{ nope }}")
            .unwrap_err()
            .contains("unknown template field"));
        assert!(Template::parse("{{ object ").is_err());
    }
}
