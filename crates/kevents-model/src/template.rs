//! `{{ field }}` text templates, shared by alert annotations, chat sink lines and trigger keys,
//! objects and messages. Each user names the fields it knows; a template is checked against
//! them when its file is loaded, so an unknown field never surfaces when it is filled.

use std::collections::BTreeMap;

/// A parsed template: text with `{{ field }}` placeholders.
#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    parts: Vec<Part>,
}

#[derive(Debug, Clone, PartialEq)]
enum Part {
    Text(String),
    Field(&'static str),
}

/// A template that does not parse.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TemplateError {
    /// A `{{` without its `}}`.
    #[error("unclosed `{{{{` in {text:?}")]
    Unclosed {
        /// The whole template.
        text: String,
    },
    /// A placeholder names a field its user does not know.
    #[error("unknown template field {name:?}; known: {known}")]
    UnknownField {
        /// The field named.
        name: String,
        /// The fields allowed, comma-separated.
        known: String,
    },
}

impl Template {
    /// Parses `text`; a field outside `fields` and an unclosed `{{` are errors. Spaces inside
    /// the braces are optional.
    pub fn parse(text: &str, fields: &[&'static str]) -> Result<Template, TemplateError> {
        let mut parts = Vec::new();
        let mut rest = text;
        while let Some(start) = rest.find("{{") {
            parts.push(Part::Text(rest[..start].to_string()));
            let after = &rest[start + 2..];
            let end = after.find("}}").ok_or_else(|| TemplateError::Unclosed {
                text: text.to_string(),
            })?;
            let name = after[..end].trim();
            let field =
                fields
                    .iter()
                    .find(|f| **f == name)
                    .ok_or_else(|| TemplateError::UnknownField {
                        name: name.to_string(),
                        known: fields.join(", "),
                    })?;
            parts.push(Part::Field(field));
            rest = &after[end + 2..];
        }
        parts.push(Part::Text(rest.to_string()));
        Ok(Template { parts })
    }

    /// Fills the template from a map; a field without a value is empty.
    pub fn render(&self, values: &BTreeMap<&str, String>) -> String {
        self.render_with(|field| values.get(field).cloned().unwrap_or_default())
    }

    /// Fills the template, asking `value` for each placeholder's field.
    pub fn render_with(&self, mut value: impl FnMut(&'static str) -> String) -> String {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Text(text) => out.push_str(text),
                Part::Field(field) => out.push_str(&value(field)),
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIELDS: &[&str] = &["object", "count", "message"];

    #[test]
    fn fills_placeholders_with_or_without_spaces() {
        let template = Template::parse("{{ object }} failed {{count}}x: {{message}}", FIELDS)
            .expect("known fields");
        let values = BTreeMap::from([
            ("object", "pod/web-0".to_string()),
            ("count", "3".to_string()),
            ("message", "boom".to_string()),
        ]);
        assert_eq!(template.render(&values), "pod/web-0 failed 3x: boom");
    }

    #[test]
    fn a_field_without_a_value_is_empty() {
        let template = Template::parse("[{{ message }}]", FIELDS).expect("known field");
        assert_eq!(template.render(&BTreeMap::new()), "[]");
    }

    #[test]
    fn render_with_asks_for_each_placeholder_in_order() {
        let template = Template::parse("{{count}}-{{ object }}-{{count}}", FIELDS).expect("known");
        let mut asked = Vec::new();
        let text = template.render_with(|field| {
            asked.push(field);
            field.to_uppercase()
        });
        assert_eq!(text, "COUNT-OBJECT-COUNT");
        assert_eq!(asked, ["count", "object", "count"]);
    }

    #[test]
    fn text_without_placeholders_and_lone_closing_braces_stay_as_written() {
        let template = Template::parse("no fields }} here", FIELDS).expect("plain text");
        assert_eq!(template.render(&BTreeMap::new()), "no fields }} here");
    }

    #[test]
    fn unknown_fields_are_refused_with_the_known_ones_listed() {
        let err = Template::parse("{{ nope }}", FIELDS).unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown template field \"nope\"; known: object, count, message"
        );
    }

    #[test]
    fn unclosed_braces_are_refused_with_the_template_quoted() {
        let err = Template::parse("{{ object ", FIELDS).unwrap_err();
        assert_eq!(err.to_string(), "unclosed `{{` in \"{{ object \"");
    }
}
