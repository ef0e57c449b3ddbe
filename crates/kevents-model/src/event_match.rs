//! The `match` language of alert rules and sink routes: globs on an event's type, reason,
//! namespace, object kind and name, source and cluster, globs on its labels, and a regular
//! expression on its message. Written once as a [`MatchSpec`], compiled once into an
//! [`EventMatcher`].

use crate::{glob_match, EventRecord};
use serde::Deserialize;
use std::collections::BTreeMap;

/// A field of an event (or of the cluster it came from) that a `match` section tests and alert
/// rules group by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MatchField {
    /// The cluster.
    Cluster,
    /// The event's namespace.
    Namespace,
    /// The involved object's kind.
    Kind,
    /// The involved object's name.
    Name,
    /// The event reason.
    Reason,
    /// The event type.
    Type,
    /// The reporting component.
    Source,
}

impl MatchField {
    /// The field called `text` (`cluster`, `namespace`, `kind`, `name`, `reason`, `type`,
    /// `source`).
    pub fn parse(text: &str) -> Option<MatchField> {
        Some(match text {
            "cluster" => MatchField::Cluster,
            "namespace" => MatchField::Namespace,
            "kind" => MatchField::Kind,
            "name" => MatchField::Name,
            "reason" => MatchField::Reason,
            "type" => MatchField::Type,
            "source" => MatchField::Source,
            _ => return None,
        })
    }

    /// The field's name, as `parse` reads it (and as alert labels carry it).
    pub fn label(self) -> &'static str {
        match self {
            MatchField::Cluster => "cluster",
            MatchField::Namespace => "namespace",
            MatchField::Kind => "kind",
            MatchField::Name => "name",
            MatchField::Reason => "reason",
            MatchField::Type => "type",
            MatchField::Source => "source",
        }
    }

    /// The field's value for `event` in `cluster`.
    pub fn value(self, event: &EventRecord, cluster: &str) -> String {
        match self {
            MatchField::Cluster => cluster.to_string(),
            MatchField::Namespace => event.namespace.clone(),
            MatchField::Kind => event.involved_object.kind.clone(),
            MatchField::Name => event.involved_object.name.clone(),
            MatchField::Reason => event.reason.clone(),
            MatchField::Type => event.event_type.clone(),
            MatchField::Source => event.source_name().to_string(),
        }
    }
}

/// One or several accepted values.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum OneOrMany {
    /// A single value.
    One(String),
    /// Any of these values.
    Many(Vec<String>),
}

impl OneOrMany {
    /// The values as a list.
    pub fn values(&self) -> Vec<String> {
        match self {
            OneOrMany::One(v) => vec![v.clone()],
            OneOrMany::Many(v) => v.clone(),
        }
    }
}

/// A `match` section as written; every given field must match. `Text` is the type the message
/// pattern is read as: `String`, or a wrapper that also keeps where it was written (rule files
/// report the pattern's line).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MatchSpec<Text = String> {
    /// `Normal` / `Warning` (globs allowed).
    #[serde(rename = "type")]
    pub event_type: Option<OneOrMany>,
    /// Event reason(s).
    pub reason: Option<OneOrMany>,
    /// Event namespace(s).
    pub namespace: Option<OneOrMany>,
    /// Involved object kind(s).
    pub kind: Option<OneOrMany>,
    /// Involved object name(s).
    pub name: Option<OneOrMany>,
    /// Reporting component(s).
    pub source: Option<OneOrMany>,
    /// Cluster name(s).
    pub cluster: Option<OneOrMany>,
    /// Event labels: key → value glob.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// A regular expression the message must match.
    pub message: Option<Text>,
    /// Only events about key resources (`--key-resource`); the alert engine knows which.
    #[serde(default, rename = "keyResources")]
    pub key_resources: bool,
}

impl<Text> Default for MatchSpec<Text> {
    fn default() -> Self {
        MatchSpec {
            event_type: None,
            reason: None,
            namespace: None,
            kind: None,
            name: None,
            source: None,
            cluster: None,
            labels: BTreeMap::new(),
            message: None,
            key_resources: false,
        }
    }
}

/// Why a `match` section does not compile.
#[derive(Debug, Clone, thiserror::Error)]
pub enum MatchError {
    /// `message` is not a regular expression.
    #[error("invalid regular expression: {0}")]
    Message(#[from] regex::Error),
}

impl MatchError {
    /// The field of the `match` section at fault.
    pub fn field(&self) -> &'static str {
        match self {
            MatchError::Message(_) => "message",
        }
    }
}

/// A compiled `match` section.
#[derive(Debug, Clone, Default)]
pub struct EventMatcher {
    fields: Vec<(MatchField, Vec<String>)>,
    labels: BTreeMap<String, String>,
    message: Option<regex::Regex>,
    key_resources_only: bool,
}

impl EventMatcher {
    /// Compiles `spec`, its message pattern read through `pattern`.
    pub fn compile<Text>(
        spec: MatchSpec<Text>,
        pattern: impl FnOnce(&Text) -> &str,
    ) -> Result<EventMatcher, MatchError> {
        let mut fields = Vec::new();
        for (field, values) in [
            (MatchField::Type, spec.event_type),
            (MatchField::Reason, spec.reason),
            (MatchField::Namespace, spec.namespace),
            (MatchField::Kind, spec.kind),
            (MatchField::Name, spec.name),
            (MatchField::Source, spec.source),
            (MatchField::Cluster, spec.cluster),
        ] {
            if let Some(values) = values {
                fields.push((field, values.values()));
            }
        }
        let message = match &spec.message {
            Some(text) => Some(regex::Regex::new(pattern(text))?),
            None => None,
        };
        Ok(EventMatcher {
            fields,
            labels: spec.labels,
            message,
            key_resources_only: spec.key_resources,
        })
    }

    /// True when `event` (in `cluster`) satisfies every condition but `keyResources`, which
    /// only the caller can decide ([`EventMatcher::key_resources_only`]).
    pub fn matches(&self, event: &EventRecord, cluster: &str) -> bool {
        self.fields.iter().all(|(field, globs)| {
            let value = field.value(event, cluster);
            globs.iter().any(|g| glob_match(g, &value))
        }) && self.labels.iter().all(|(key, glob)| {
            event
                .labels
                .get(key)
                .is_some_and(|value| glob_match(glob, value))
        }) && self
            .message
            .as_ref()
            .is_none_or(|re| re.is_match(&event.message))
    }

    /// The field globs, in the order they are tested.
    pub fn fields(&self) -> &[(MatchField, Vec<String>)] {
        &self.fields
    }

    /// True when the section looks at more than the fields: labels, the message or
    /// `keyResources`.
    pub fn looks_beyond_fields(&self) -> bool {
        !self.labels.is_empty() || self.message.is_some() || self.key_resources_only
    }

    /// Only events about key resources count.
    pub fn key_resources_only(&self) -> bool {
        self.key_resources_only
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event() -> EventRecord {
        let mut event = EventRecord {
            event_type: "Warning".into(),
            reason: "BackOff".into(),
            message: "Back-off restarting".into(),
            namespace: "prod".into(),
            ..Default::default()
        };
        event.involved_object.kind = "Pod".into();
        event.involved_object.name = "web-0".into();
        event.labels.insert("app".into(), "web".into());
        event
    }

    fn compile(spec: MatchSpec) -> EventMatcher {
        EventMatcher::compile(spec, String::as_str).unwrap()
    }

    #[test]
    fn every_given_field_label_and_the_message_must_match() {
        let matcher = compile(MatchSpec {
            event_type: Some(OneOrMany::One("Warning".into())),
            reason: Some(OneOrMany::Many(vec!["BackOff".into(), "Failed*".into()])),
            name: Some(OneOrMany::One("web-*".into())),
            cluster: Some(OneOrMany::One("eu-*".into())),
            labels: BTreeMap::from([("app".to_string(), "w*".to_string())]),
            message: Some("(?i)back-off".into()),
            ..Default::default()
        });
        assert!(matcher.matches(&event(), "eu-1"));
        assert!(!matcher.matches(&event(), "us-1"));
        let mut other = event();
        other.reason = "Pulled".into();
        assert!(!matcher.matches(&other, "eu-1"));
        let mut other = event();
        other.labels.clear();
        assert!(!matcher.matches(&other, "eu-1"));
        let mut other = event();
        other.message = "started".into();
        assert!(!matcher.matches(&other, "eu-1"));
        assert!(matcher.looks_beyond_fields());
    }

    #[test]
    fn an_empty_section_matches_everything() {
        let matcher = compile(MatchSpec::default());
        assert!(matcher.matches(&EventRecord::default(), ""));
        assert!(!matcher.looks_beyond_fields());
    }

    #[test]
    fn a_bad_message_pattern_names_the_field() {
        let spec = MatchSpec {
            message: Some("(unclosed".to_string()),
            ..Default::default()
        };
        let error = EventMatcher::compile(spec, String::as_str).unwrap_err();
        assert_eq!(error.field(), "message");
        assert!(error.to_string().starts_with("invalid regular expression"));
    }

    #[test]
    fn fields_parse_from_their_labels() {
        for field in [
            MatchField::Cluster,
            MatchField::Namespace,
            MatchField::Kind,
            MatchField::Name,
            MatchField::Reason,
            MatchField::Type,
            MatchField::Source,
        ] {
            assert_eq!(MatchField::parse(field.label()), Some(field));
        }
        assert_eq!(MatchField::parse("colour"), None);
    }
}
