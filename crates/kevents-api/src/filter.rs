//! What a list or watch selects: the path's cluster, namespace and name plus the selectors.

use crate::query::ListOptions;
use crate::state::Target;
use kevents_model::{EventField, EventRecord};
use kevents_store::Scope;

/// The filter a list or watch applies: path cluster/namespace/name plus selectors.
pub(crate) struct Filter {
    pub cluster: Option<String>,
    pub namespace: Option<String>,
    pub name: Option<String>,
    pub options: ListOptions,
}

/// The hub's own events have no cluster: a `cluster` requirement naming the hub (`own`) is
/// rewritten to the empty cluster.
pub(crate) fn own_cluster_is_empty(fields: &mut kevents_model::FieldSelector, own: &str) {
    for requirement in &mut fields.requirements {
        if requirement.field == EventField::Cluster && requirement.value == own {
            requirement.value.clear();
        }
    }
}

/// The part of the key space a list or watch has to look at.
pub(crate) struct ScanScope {
    cluster: Option<String>,
    namespace: Option<String>,
}

impl ScanScope {
    pub fn as_scope(&self) -> Scope<'_> {
        Scope {
            cluster: self.cluster.as_deref(),
            namespace: self.namespace.as_deref(),
        }
    }
}

impl Filter {
    /// The filter of `target`; `own_cluster` is the hub's name for its own events, which the
    /// `cluster` field selector accepts for them.
    pub fn new(target: &Target, mut options: ListOptions, own_cluster: &str) -> Filter {
        own_cluster_is_empty(&mut options.fields, own_cluster);
        Filter {
            cluster: target.cluster.clone(),
            namespace: target.namespace.clone(),
            name: target.name.clone(),
            options,
        }
    }

    /// The range to scan: the path's cluster and namespace, else ones pinned by the field
    /// selector.
    pub fn scan_scope(&self) -> ScanScope {
        let fields = &self.options.fields;
        ScanScope {
            cluster: (self.cluster.clone())
                .or_else(|| fields.exact(EventField::Cluster).map(str::to_string)),
            namespace: (self.namespace.clone())
                .or_else(|| fields.exact(EventField::Namespace).map(str::to_string)),
        }
    }

    pub fn matches(&self, event: &EventRecord) -> bool {
        self.cluster.as_ref().is_none_or(|c| &event.cluster == c)
            && self
                .namespace
                .as_ref()
                .is_none_or(|ns| &event.namespace == ns)
            && self.name.as_ref().is_none_or(|name| &event.name == name)
            && self.options.fields.matches(event)
            && self.options.labels.matches(&event.labels)
            && self
                .options
                .seen
                .is_none_or(|w| w.contains(event.seen_at()))
    }
}
