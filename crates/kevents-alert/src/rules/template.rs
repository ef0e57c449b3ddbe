//! Annotation templates: `{{ field }}` placeholders filled from an alert's latest event.

use kevents_model::{Template, TemplateError};

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

/// Parses an annotation template; unknown fields and unclosed braces are errors.
pub fn parse(text: &str) -> Result<Template, TemplateError> {
    Template::parse(text, FIELDS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn annotations_may_use_the_alert_fields_only() {
        assert!(parse("{{ objects }} in {{ cluster }} since {{ first_seen }}").is_ok());
        let err = parse("{{ emission }}").unwrap_err().to_string();
        assert!(err.contains("unknown template field"), "{err}");
    }
}
