//! Authorization policy: rules granting verbs on resources in namespaces (and clusters) to users
//! and groups. Deny by default. Loaded from YAML, reloaded when the file changes.

use super::identity::{Attributes, Identity};
use kevents_model::glob_match;
use parking_lot::RwLock;
use serde::Deserialize;
use std::path::PathBuf;
use std::time::SystemTime;

/// A policy file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    /// The grants; a request is allowed when one of them covers it.
    pub rules: Vec<Grant>,
}

/// One grant.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Grant {
    /// User names (`*`: any authenticated user).
    #[serde(default)]
    pub users: Vec<String>,
    /// Group names.
    #[serde(default)]
    pub groups: Vec<String>,
    /// Verbs: get, list, watch, create, update, patch, delete, deletecollection, or `*`.
    pub verbs: Vec<String>,
    /// Resources: events, eventseries, eventpatterns, or `*` (eventcounts are `list` of events).
    #[serde(default = "everything")]
    pub resources: Vec<String>,
    /// Namespace globs; `*` also allows requests across all namespaces.
    #[serde(default = "everything")]
    pub namespaces: Vec<String>,
    /// Cluster globs.
    #[serde(default = "everything")]
    pub clusters: Vec<String>,
}

fn everything() -> Vec<String> {
    vec!["*".to_string()]
}

impl Grant {
    fn covers(&self, who: &Identity, what: &Attributes) -> bool {
        let subject = self.users.iter().any(|u| u == "*" || *u == who.user)
            || self.groups.iter().any(|g| who.groups.contains(g));
        let namespace_ok = match &what.namespace {
            Some(ns) => self.namespaces.iter().any(|p| glob_match(p, ns)),
            None => self.namespaces.iter().any(|p| p == "*"),
        };
        subject
            && self.verbs.iter().any(|v| v == "*" || *v == what.verb)
            && self
                .resources
                .iter()
                .any(|r| r == "*" || *r == what.resource)
            && namespace_ok
            && self.clusters.iter().any(|p| glob_match(p, &what.cluster))
    }
}

impl Policy {
    /// True when some grant covers the request.
    pub fn allows(&self, who: &Identity, what: &Attributes) -> bool {
        self.rules.iter().any(|g| g.covers(who, what))
    }
}

/// The policy file, reloaded when it changes.
pub struct PolicyFile {
    path: PathBuf,
    policy: RwLock<(Policy, Option<SystemTime>)>,
}

fn read(path: &PathBuf) -> Result<Policy, String> {
    let text =
        std::fs::read_to_string(path).map_err(|e| format!("reading {}: {e}", path.display()))?;
    serde_saphyr::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
}

fn modified(path: &PathBuf) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

impl PolicyFile {
    /// Loads the policy; errors are fatal at start.
    pub fn load(path: PathBuf) -> Result<PolicyFile, String> {
        let policy = read(&path)?;
        let stamp = modified(&path);
        Ok(PolicyFile {
            path,
            policy: RwLock::new((policy, stamp)),
        })
    }

    /// Re-reads the file if it changed; a bad edit is logged and the previous policy stays.
    pub fn reload_if_changed(&self) {
        let stamp = modified(&self.path);
        if self.policy.read().1 == stamp {
            return;
        }
        let result = read(&self.path);
        let mut policy = self.policy.write();
        policy.1 = stamp;
        match result {
            Ok(parsed) => {
                tracing::info!(path = %self.path.display(), "reloaded authorization policy");
                policy.0 = parsed;
            }
            Err(e) => tracing::error!(error = %e, "keeping the previous authorization policy"),
        }
    }

    /// True when the current policy allows the request.
    pub fn allows(&self, who: &Identity, what: &Attributes) -> bool {
        self.policy.read().0.allows(who, what)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn who(user: &str, groups: &[&str]) -> Identity {
        Identity {
            user: user.into(),
            uid: String::new(),
            groups: groups.iter().map(|g| g.to_string()).collect(),
        }
    }

    fn what(verb: &str, namespace: Option<&str>) -> Attributes {
        Attributes {
            verb: verb.into(),
            group: String::new(),
            resource: "events".into(),
            namespace: namespace.map(str::to_string),
            name: None,
            cluster: "default".into(),
        }
    }

    #[test]
    fn grants_by_user_group_verb_and_namespace_glob() {
        let policy: Policy = serde_saphyr::from_str(
            "rules:\n- users: [alice]\n  verbs: [get, list, watch]\n  namespaces: ['team-a-*']\n- groups: [ops]\n  verbs: ['*']\n",
        )
        .unwrap();
        assert!(policy.allows(&who("alice", &[]), &what("list", Some("team-a-web"))));
        assert!(!policy.allows(&who("alice", &[]), &what("list", Some("team-b"))));
        assert!(
            !policy.allows(&who("alice", &[]), &what("list", None)),
            "all namespaces needs '*'"
        );
        assert!(!policy.allows(&who("alice", &[]), &what("delete", Some("team-a-web"))));
        assert!(policy.allows(&who("bob", &["ops"]), &what("delete", None)));
        assert!(
            !policy.allows(&who("eve", &[]), &what("get", Some("x"))),
            "deny by default"
        );
    }
}
