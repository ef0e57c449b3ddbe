//! Carrying out a run's action: one attempt, and what it says about the next.

pub mod http;
pub mod kubernetes;
mod outcome;

pub use outcome::Outcome;

use crate::compile::Action;
use crate::run::TriggerRun;

/// One attempt of `run`'s action, configured by `action`.
pub async fn attempt(
    action: &Action,
    run: &TriggerRun,
    clusters: &kubernetes::Clusters,
) -> Outcome {
    match action {
        Action::Webhook {
            client,
            hmac_secret,
            headers,
            timeout,
            ..
        } => http::post_cloud_event(client, hmac_secret.as_deref(), headers, *timeout, run).await,
        Action::Slack {
            client, timeout, ..
        } => http::post_json(client, &[], *timeout, &run.spec.action.body).await,
        Action::Kubernetes {
            context,
            kubeconfig,
            ..
        } => {
            clusters
                .create(
                    context.as_deref(),
                    kubeconfig.as_deref(),
                    &run.spec.cluster,
                    &run.spec.action.body,
                )
                .await
        }
    }
}
