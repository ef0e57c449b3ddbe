//! The hub's security settings from its flags (authentication, authorization, rate limits,
//! audit log), and their periodic reload.

use super::ServeArgs;
use anyhow::Context;
use kevents_api::auth::{AuditLog, PolicyFile, RateLimiter, TokenFile};
use kevents_api::Security;
use std::sync::Arc;
use std::time::Duration;

/// Builds the security settings, refusing an unauthenticated hub beyond loopback.
pub(super) fn security(args: &ServeArgs) -> anyhow::Result<Security> {
    let tokens = args
        .token_auth_file
        .as_ref()
        .map(|path| TokenFile::load(path.clone()).map_err(anyhow::Error::msg))
        .transpose()?;
    let authenticating = tokens.is_some() || args.client_ca_file.is_some();
    if !authenticating && !args.listen.ip().is_loopback() {
        anyhow::ensure!(
            args.insecure_allow_unauthenticated,
            "refusing to serve {} without authentication: give --token-auth-file, or \
             --insecure-allow-unauthenticated to accept anyone who can reach it",
            args.listen
        );
        tracing::warn!(listen = %args.listen, "serving beyond loopback WITHOUT authentication");
    }
    let policy = args
        .authorization_policy_file
        .as_ref()
        .map(|path| PolicyFile::load(path.clone()).map_err(anyhow::Error::msg))
        .transpose()?;
    if authenticating && policy.is_none() {
        tracing::warn!(
            "authentication is on without --authorization-policy-file: every request is denied"
        );
    }
    let audit = args
        .audit_log_path
        .as_ref()
        .map(|path| {
            AuditLog::open(
                path.clone(),
                args.audit_log_maxsize * 1024 * 1024,
                args.audit_log_maxbackup,
            )
            .with_context(|| format!("opening the audit log {}", path.display()))
        })
        .transpose()?;
    Ok(Security {
        tokens,
        client_certificates: args.client_ca_file.is_some(),
        policy,
        rate_limit: (args.client_rate_limit > 0.0)
            .then(|| RateLimiter::new(args.client_rate_limit, args.client_rate_limit * 2.0)),
        max_watches_per_client: args.max_watches_per_client,
        watches: Default::default(),
        audit,
        cluster: args.cluster_name.clone(),
    })
}

/// Re-reads token and policy files every two seconds, until shutdown.
pub(super) async fn reload_periodically(
    security: Arc<Security>,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) {
    let mut ticker = tokio::time::interval(Duration::from_secs(2));
    loop {
        tokio::select! {
            _ = ticker.tick() => security.reload(),
            _ = shutdown.changed() => return,
        }
    }
}
