//! Field and label selectors of `eventseries` and `eventpatterns`.

use crate::error::ApiError;
use kevents_correlate::{Pattern, Series};
use kevents_model::LabelSelector;
use std::collections::BTreeMap;

/// A field a series selector compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    Name,
    Namespace,
    Cluster,
    Type,
    Reason,
    ObjectKind,
    ObjectName,
    Source,
}

impl Field {
    fn parse(label: &str) -> Option<Field> {
        Some(match label {
            "metadata.name" => Field::Name,
            "metadata.namespace" => Field::Namespace,
            "cluster" | "spec.cluster" => Field::Cluster,
            "type" | "spec.type" => Field::Type,
            "reason" | "spec.reason" => Field::Reason,
            "involvedObject.kind" | "spec.involvedObject.kind" => Field::ObjectKind,
            "involvedObject.name" | "spec.involvedObject.name" => Field::ObjectName,
            "source" | "spec.source" => Field::Source,
            _ => return None,
        })
    }
}

/// A parsed `fieldSelector` and `labelSelector` for series or patterns.
#[derive(Debug, Default)]
pub(crate) struct Selector {
    fields: Vec<(Field, String, bool)>,
    labels: Option<LabelSelector>,
    own_cluster: String,
}

/// What a selector looks at in one object.
pub(crate) struct Subject<'a> {
    pub name: &'a str,
    pub namespace: &'a str,
    pub cluster: &'a str,
    pub event_type: &'a str,
    pub reason: &'a str,
    pub object_kind: &'a str,
    pub object_name: &'a str,
    pub source: &'a str,
}

impl Selector {
    /// Parses the selectors; `own_cluster` names the hub's own events (cluster `""`).
    pub fn parse(
        fields: Option<&str>,
        labels: Option<&str>,
        own_cluster: &str,
    ) -> Result<Selector, ApiError> {
        let mut selector = Selector {
            own_cluster: own_cluster.to_string(),
            ..Selector::default()
        };
        for term in fields.unwrap_or("").split(',').filter(|t| !t.is_empty()) {
            let (label, value, negated) = if let Some((l, v)) = term.split_once("!=") {
                (l, v, true)
            } else if let Some((l, v)) = term.split_once("==") {
                (l, v, false)
            } else if let Some((l, v)) = term.split_once('=') {
                (l, v, false)
            } else {
                return Err(ApiError::bad_request(format!(
                    "invalid selector: '{term}'; can't understand '{term}'"
                )));
            };
            let field = Field::parse(label.trim()).ok_or_else(|| {
                ApiError::bad_request(format!("field label not supported: {}", label.trim()))
            })?;
            selector
                .fields
                .push((field, value.trim().to_string(), negated));
        }
        if let Some(text) = labels.filter(|t| !t.is_empty()) {
            let parsed = LabelSelector::parse(text)
                .map_err(|e| ApiError::bad_request(format!("unable to parse requirement: {e}")))?;
            selector.labels = Some(parsed);
        }
        Ok(selector)
    }

    pub fn matches(&self, subject: &Subject<'_>) -> bool {
        let cluster = if subject.cluster.is_empty() {
            self.own_cluster.as_str()
        } else {
            subject.cluster
        };
        let fields_match = self.fields.iter().all(|(field, value, negated)| {
            let actual = match field {
                Field::Name => subject.name,
                Field::Namespace => subject.namespace,
                Field::Cluster => cluster,
                Field::Type => subject.event_type,
                Field::Reason => subject.reason,
                Field::ObjectKind => subject.object_kind,
                Field::ObjectName => subject.object_name,
                Field::Source => subject.source,
            };
            (actual == value) != *negated
        });
        fields_match
            && self.labels.as_ref().is_none_or(|labels| {
                let mut map = BTreeMap::new();
                if !subject.cluster.is_empty() {
                    map.insert(
                        crate::clusters::CLUSTER_LABEL.to_string(),
                        subject.cluster.to_string(),
                    );
                }
                labels.matches(&map)
            })
    }
}

/// The selector's view of a series named `name`.
pub(crate) fn series_subject<'a>(series: &'a Series, name: &'a str) -> Subject<'a> {
    let key = series.key();
    Subject {
        name,
        namespace: key.namespace,
        cluster: key.cluster,
        event_type: key.event_type,
        reason: key.reason,
        object_kind: key.object.kind,
        object_name: key.object.name,
        source: key.source,
    }
}

/// The selector's view of a pattern named `name`.
pub(crate) fn pattern_subject<'a>(pattern: &'a Pattern, name: &'a str) -> Subject<'a> {
    Subject {
        name,
        namespace: "",
        cluster: &pattern.cluster,
        event_type: &pattern.event_type,
        reason: &pattern.reason,
        object_kind: "",
        object_name: "",
        source: "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn subject<'a>(cluster: &'a str, reason: &'a str) -> Subject<'a> {
        Subject {
            name: "n",
            namespace: "default",
            cluster,
            event_type: "Warning",
            reason,
            object_kind: "Pod",
            object_name: "web-0",
            source: "kubelet",
        }
    }

    #[test]
    fn fields_and_cluster_names() {
        let s = Selector::parse(Some("reason=BackOff,type!=Normal"), None, "own").unwrap();
        assert!(s.matches(&subject("", "BackOff")));
        assert!(!s.matches(&subject("", "Pulled")));
        let own = Selector::parse(Some("cluster=own"), None, "own").unwrap();
        assert!(own.matches(&subject("", "BackOff")));
        assert!(!own.matches(&subject("prod", "BackOff")));
        let labels = Selector::parse(None, Some("kevents.io/cluster=prod"), "own").unwrap();
        assert!(labels.matches(&subject("prod", "x")));
        assert!(!labels.matches(&subject("", "x")));
        assert!(Selector::parse(Some("spec.color=blue"), None, "own").is_err());
        assert!(Selector::parse(Some("reason"), None, "own").is_err());
    }
}
