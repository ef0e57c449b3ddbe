//! The security settings every request is checked against.

use super::audit::AuditLog;
use super::identity::{Attributes, Identity, SUPERUSER_GROUP};
use super::limits::{RateLimiter, WatchCounter};
use super::policy::PolicyFile;
use super::tokens::TokenFile;

/// Security settings; everything off by default.
#[derive(Default)]
pub struct Security {
    /// Bearer tokens; authentication is on when set.
    pub tokens: Option<TokenFile>,
    /// Verified client certificates identify users; authentication is on when set.
    pub client_certificates: bool,
    /// Authorization policy; with authentication on and no policy, everything is denied.
    pub policy: Option<PolicyFile>,
    /// Requests per second per client.
    pub rate_limit: Option<RateLimiter>,
    /// Most open watches per client (0: no limit).
    pub max_watches_per_client: usize,
    /// Open watches per client.
    pub watches: WatchCounter,
    /// Writes and denials are recorded here.
    pub audit: Option<AuditLog>,
    /// The cluster name used in policy checks.
    pub cluster: String,
}

impl Security {
    /// True when requests must authenticate.
    pub fn authentication_enabled(&self) -> bool {
        self.tokens.is_some() || self.client_certificates
    }

    /// Re-reads token and policy files that changed.
    pub fn reload(&self) {
        if let Some(tokens) = &self.tokens {
            tokens.reload_if_changed();
        }
        if let Some(policy) = &self.policy {
            policy.reload_if_changed();
        }
    }

    /// Whether `who` may do `what`. Members of `system:masters` may do everything, with or
    /// without a policy, as on the apiserver (its authorizer short-circuits that group).
    pub fn allows(&self, who: &Identity, what: &Attributes) -> bool {
        if !self.authentication_enabled() || who.groups.iter().any(|g| g == SUPERUSER_GROUP) {
            return true;
        }
        self.policy.as_ref().is_some_and(|p| p.allows(who, what))
    }
}
