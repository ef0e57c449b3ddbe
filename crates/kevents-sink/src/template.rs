//! Text templates for chat-style sinks: `{{ field }}` placeholders, checked when the config is
//! loaded so a typo never surfaces at send time.

use crate::delivery::Delivery;
use kevents_model::{Template, TemplateError};

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

/// Parses a sink template; unknown fields and unclosed braces are errors.
pub fn parse(text: &str) -> Result<Template, TemplateError> {
    Template::parse(text, FIELDS)
}

/// Fills `template` from a delivery.
pub fn render(template: &Template, delivery: &Delivery) -> String {
    template.render_with(|field| field_value(field, delivery))
}

fn field_value(field: &str, delivery: &Delivery) -> String {
    let record = &delivery.event.record;
    match field {
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
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::delivery::tests::delivery;

    #[test]
    fn template_renders_fields_and_rejects_unknown_ones_at_parse() {
        let template =
            parse("{{ type }} {{reason}} {{ object }} x{{count}} in {{cluster}}").unwrap();
        let d = delivery(7, 3);
        assert_eq!(
            render(&template, &d),
            "Warning BackOff pod/web-0 x3 in prod-eu"
        );
        let err = parse("{{ nope }}").unwrap_err().to_string();
        assert!(err.contains("unknown template field"), "{err}");
        assert!(parse("{{ reason ").is_err());
    }
}
