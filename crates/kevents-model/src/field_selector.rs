//! Field selectors for Event (`fieldSelector=type=Warning,involvedObject.name!=web-0`).
//!
//! The labels accepted differ by API group, exactly as the apiserver's field label conversions.

use crate::record::EventRecord;
use crate::ApiGroup;

/// An Event field a selector can compare, independent of the group's label for it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventField {
    /// `metadata.name`
    Name,
    /// `metadata.namespace`
    Namespace,
    /// `involvedObject.kind` / `regarding.kind`
    ObjectKind,
    /// `involvedObject.namespace` / `regarding.namespace`
    ObjectNamespace,
    /// `involvedObject.name` / `regarding.name`
    ObjectName,
    /// `involvedObject.uid` / `regarding.uid`
    ObjectUid,
    /// `involvedObject.apiVersion` / `regarding.apiVersion`
    ObjectApiVersion,
    /// `involvedObject.resourceVersion` / `regarding.resourceVersion`
    ObjectResourceVersion,
    /// `involvedObject.fieldPath` / `regarding.fieldPath`
    ObjectFieldPath,
    /// `reason`
    Reason,
    /// `reportingComponent` / `reportingController`
    ReportingController,
    /// `source`: source.component, else reportingController
    Source,
    /// `type`
    Type,
    /// `cluster`: the cluster a collected event came from (a kevents extension).
    Cluster,
}

impl EventField {
    /// Resolves a field label as the given API group names it.
    pub fn from_label(label: &str, group: ApiGroup) -> Option<EventField> {
        let object_prefix = match group {
            ApiGroup::Core => "involvedObject.",
            ApiGroup::Events => "regarding.",
        };
        if let Some(sub) = label.strip_prefix(object_prefix) {
            return Some(match sub {
                "kind" => EventField::ObjectKind,
                "namespace" => EventField::ObjectNamespace,
                "name" => EventField::ObjectName,
                "uid" => EventField::ObjectUid,
                "apiVersion" => EventField::ObjectApiVersion,
                "resourceVersion" => EventField::ObjectResourceVersion,
                "fieldPath" => EventField::ObjectFieldPath,
                _ => return None,
            });
        }
        Some(match (label, group) {
            ("metadata.name", _) => EventField::Name,
            ("metadata.namespace", _) => EventField::Namespace,
            ("reason", _) => EventField::Reason,
            ("reportingComponent", ApiGroup::Core) => EventField::ReportingController,
            ("reportingController", ApiGroup::Events) => EventField::ReportingController,
            ("source", _) => EventField::Source,
            ("type", _) => EventField::Type,
            ("cluster", _) => EventField::Cluster,
            _ => return None,
        })
    }

    /// The value of this field in `event`; missing values are the empty string.
    pub fn value(self, event: &EventRecord) -> &str {
        let object = &event.involved_object;
        match self {
            EventField::Name => &event.name,
            EventField::Namespace => &event.namespace,
            EventField::ObjectKind => &object.kind,
            EventField::ObjectNamespace => &object.namespace,
            EventField::ObjectName => &object.name,
            EventField::ObjectUid => &object.uid,
            EventField::ObjectApiVersion => &object.api_version,
            EventField::ObjectResourceVersion => &object.resource_version,
            EventField::ObjectFieldPath => &object.field_path,
            EventField::Reason => &event.reason,
            EventField::ReportingController => &event.reporting_controller,
            EventField::Source => event.source_name(),
            EventField::Type => &event.event_type,
            EventField::Cluster => &event.cluster,
        }
    }
}

/// One `field=value` or `field!=value` term.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldRequirement {
    /// The field compared.
    pub field: EventField,
    /// The value compared with.
    pub value: String,
    /// True for `!=`.
    pub negated: bool,
}

impl FieldRequirement {
    /// True when a field whose value is `value` meets this requirement.
    pub fn accepts(&self, value: &str) -> bool {
        (value == self.value) != self.negated
    }
}

/// A parsed field selector: a conjunction of requirements. Empty matches everything.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FieldSelector {
    /// All must hold.
    pub requirements: Vec<FieldRequirement>,
}

/// Why a field selector was refused; the message is what the apiserver answers with 400.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum FieldSelectorError {
    /// A term has no operator or an invalid escape.
    #[error("invalid selector: '{selector}'; can't understand '{term}'")]
    Syntax {
        /// The whole selector.
        selector: String,
        /// The term that failed.
        term: String,
    },
    /// The field is not selectable on Event in this group.
    #[error("field label not supported: {0}")]
    UnsupportedLabel(String),
}

impl FieldSelector {
    /// Parses `text` for `group`.
    pub fn parse(text: &str, group: ApiGroup) -> Result<FieldSelector, FieldSelectorError> {
        let mut requirements = Vec::new();
        for term in split_unescaped(text, ',') {
            if term.is_empty() {
                continue;
            }
            let syntax = || FieldSelectorError::Syntax {
                selector: text.to_string(),
                term: term.clone(),
            };
            let (label, value, negated) = if let Some((l, v)) = split_operator(&term, "!=") {
                (l, v, true)
            } else if let Some((l, v)) = split_operator(&term, "==") {
                (l, v, false)
            } else if let Some((l, v)) = split_operator(&term, "=") {
                (l, v, false)
            } else {
                return Err(syntax());
            };
            let value = unescape(value).ok_or_else(syntax)?;
            let field = EventField::from_label(label, group)
                .ok_or_else(|| FieldSelectorError::UnsupportedLabel(label.to_string()))?;
            requirements.push(FieldRequirement {
                field,
                value,
                negated,
            });
        }
        Ok(FieldSelector { requirements })
    }

    /// True when every requirement holds for `event`.
    pub fn matches(&self, event: &EventRecord) -> bool {
        self.requirements
            .iter()
            .all(|r| r.accepts(r.field.value(event)))
    }

    /// The required value of `field` when the selector pins it with `=`.
    pub fn exact(&self, field: EventField) -> Option<&str> {
        self.requirements
            .iter()
            .find(|r| r.field == field && !r.negated)
            .map(|r| r.value.as_str())
    }

    /// True when nothing is required.
    pub fn is_empty(&self) -> bool {
        self.requirements.is_empty()
    }
}

fn split_operator<'a>(term: &'a str, operator: &str) -> Option<(&'a str, &'a str)> {
    // The operator must not be escaped; labels never contain a backslash.
    let position = term.find(operator)?;
    Some((&term[..position], &term[position + operator.len()..]))
}

fn split_unescaped(text: &str, separator: char) -> Vec<String> {
    let mut parts = Vec::new();
    let mut current = String::new();
    let mut escaped = false;
    for c in text.chars() {
        if escaped {
            current.push('\\');
            current.push(c);
            escaped = false;
        } else if c == '\\' {
            escaped = true;
        } else if c == separator {
            parts.push(std::mem::take(&mut current));
        } else {
            current.push(c);
        }
    }
    if escaped {
        current.push('\\');
    }
    parts.push(current);
    parts
}

fn unescape(value: &str) -> Option<String> {
    let mut out = String::with_capacity(value.len());
    let mut chars = value.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some(e @ ('\\' | ',' | '=')) => out.push(e),
                _ => return None,
            },
            ',' | '=' => return None,
            c => out.push(c),
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event() -> EventRecord {
        let mut e = EventRecord {
            name: "web-0.1".into(),
            namespace: "apps".into(),
            event_type: "Warning".into(),
            reason: "BackOff".into(),
            reporting_controller: "kubelet".into(),
            ..Default::default()
        };
        e.involved_object.kind = "Pod".into();
        e.involved_object.name = "web-0".into();
        e
    }

    #[test]
    fn operators_and_conjunction() {
        let e = event();
        let parse = |s| FieldSelector::parse(s, ApiGroup::Core).unwrap();
        assert!(parse("type=Warning").matches(&e));
        assert!(parse("type==Warning,involvedObject.kind=Pod").matches(&e));
        assert!(!parse("type!=Warning").matches(&e));
        assert!(parse("involvedObject.namespace=").matches(&e));
        assert!(parse("source=kubelet,reportingComponent=kubelet").matches(&e));
        assert!(parse("").matches(&e));
        assert!(!parse("involvedObject.name=web-0,reason=Other").matches(&e));
    }

    #[test]
    fn labels_differ_by_group() {
        assert!(
            FieldSelector::parse("regarding.name=web-0", ApiGroup::Events)
                .unwrap()
                .matches(&event())
        );
        assert_eq!(
            FieldSelector::parse("involvedObject.name=x", ApiGroup::Events),
            Err(FieldSelectorError::UnsupportedLabel(
                "involvedObject.name".into()
            ))
        );
        assert_eq!(
            FieldSelector::parse("spec.foo=x", ApiGroup::Core)
                .unwrap_err()
                .to_string(),
            "field label not supported: spec.foo"
        );
    }

    #[test]
    fn escapes_and_syntax_errors() {
        let mut e = event();
        e.reason = "a,b=c".into();
        assert!(FieldSelector::parse(r"reason=a\,b\=c", ApiGroup::Core)
            .unwrap()
            .matches(&e));
        assert_eq!(
            FieldSelector::parse("type", ApiGroup::Core)
                .unwrap_err()
                .to_string(),
            "invalid selector: 'type'; can't understand 'type'"
        );
        assert!(FieldSelector::parse(r"type=a\x", ApiGroup::Core).is_err());
    }
}
