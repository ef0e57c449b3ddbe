//! Which part of the key space a read covers.

use kevents_model::EventKey;

/// Which part of the key space a read covers: one cluster or all, one namespace or all.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Scope<'a> {
    /// Only this cluster (`""`: the hub's own events), when set.
    pub cluster: Option<&'a str>,
    /// Only this namespace, when set.
    pub namespace: Option<&'a str>,
}

impl Scope<'_> {
    /// Everything.
    pub const ALL: Scope<'static> = Scope {
        cluster: None,
        namespace: None,
    };

    /// True when `key` is inside the scope.
    pub fn contains(&self, key: &EventKey) -> bool {
        self.cluster.is_none_or(|c| key.cluster == c)
            && self.namespace.is_none_or(|ns| key.namespace == ns)
    }

    /// True when the key of `record` is inside the scope.
    pub(crate) fn contains_record(&self, record: &kevents_model::EventRecord) -> bool {
        self.cluster.is_none_or(|c| record.cluster == c)
            && self.namespace.is_none_or(|ns| record.namespace == ns)
    }

    /// True when `key` sorts after every key of this (contiguous) scope.
    pub(crate) fn after(&self, key: &EventKey) -> bool {
        match (self.cluster, self.namespace) {
            (Some(c), Some(ns)) => (key.cluster.as_str(), key.namespace.as_str()) > (c, ns),
            (Some(c), None) => key.cluster.as_str() > c,
            _ => false,
        }
    }

    /// True when the key of `record` sorts before every key of this (contiguous) scope.
    pub(crate) fn before(&self, record: &kevents_model::EventRecord) -> bool {
        match (self.cluster, self.namespace) {
            (Some(c), Some(ns)) => (record.cluster.as_str(), record.namespace.as_str()) < (c, ns),
            (Some(c), None) => record.cluster.as_str() < c,
            _ => false,
        }
    }
}
