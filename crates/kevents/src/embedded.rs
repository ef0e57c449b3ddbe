//! `kevents serve --collect-context …`: collectors running inside the hub, writing to the hub's
//! own listener exactly like a separate `kevents collect` would.

use clap::Args;
use kevents_collect::{CollectConfig, CollectorMetrics, Selection, Settings, SourceOptions};
use kevents_http::hub::HubOptions;
use prometheus_client::registry::Registry;
use std::net::SocketAddr;
use std::path::PathBuf;

/// Flags of `serve` for collecting clusters in-process.
#[derive(Args, Debug, Clone, Default)]
pub struct EmbeddedCollectArgs {
    /// Collect this kubeconfig context into the hub (repeatable); named after the context unless
    /// `--collect-cluster-name CONTEXT=NAME` says otherwise.
    #[arg(
        long = "collect-context",
        value_name = "CONTEXT",
        env = "KEVENTS_COLLECT_CONTEXTS",
        value_delimiter = ','
    )]
    contexts: Vec<String>,
    /// Collect every context of the kubeconfig.
    #[arg(long = "collect-all-contexts", conflicts_with = "contexts")]
    all_contexts: bool,
    /// The kubeconfig to read contexts from (default: $KUBECONFIG, else ~/.kube/config).
    #[arg(long = "collect-kubeconfig", value_name = "FILE")]
    kubeconfig: Option<PathBuf>,
    /// `CONTEXT=NAME`: the cluster name of a collected context (repeatable).
    #[arg(long = "collect-cluster-name", value_name = "CONTEXT=NAME")]
    names: Vec<String>,
}

impl EmbeddedCollectArgs {
    fn enabled(&self) -> bool {
        !self.contexts.is_empty() || self.all_contexts
    }

    fn source_options(&self) -> SourceOptions {
        SourceOptions {
            kubeconfig: self.kubeconfig.clone(),
            selection: if self.all_contexts {
                Selection::All
            } else {
                Selection::Contexts(self.contexts.clone())
            },
            names: self.names.clone(),
        }
    }
}

/// Starts the collectors when asked; they write to `listen` over plain HTTP, so the hub must
/// serve HTTP without authentication (otherwise run `kevents collect` with credentials).
pub async fn start(
    args: &EmbeddedCollectArgs,
    listen: SocketAddr,
    secured: bool,
    registry: &mut Registry,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) -> anyhow::Result<Option<tokio::task::JoinHandle<()>>> {
    if !args.enabled() {
        return Ok(None);
    }
    if secured {
        anyhow::bail!(
            "--collect-context needs a hub serving plain HTTP without authentication; with TLS or \
             authentication, run `kevents collect --server … --certificate-authority … --token-file …` instead"
        );
    }
    let sources = kevents_collect::sources::load(&args.source_options()).await?;
    for source in &sources {
        tracing::info!(cluster = %source.name, context = ?source.context, server = %source.config.cluster_url, "collecting");
    }
    let host = if listen.ip().is_unspecified() {
        SocketAddr::from(([127, 0, 0, 1], listen.port()))
    } else {
        listen
    };
    let config = CollectConfig {
        sources,
        hub: HubOptions {
            url: format!("http://{host}"),
            ..HubOptions::default()
        },
        settings: Settings::default(),
        metrics: CollectorMetrics::new(registry),
    };
    let stop = async move {
        let _ = shutdown.wait_for(|stopping| *stopping).await;
    };
    Ok(Some(tokio::spawn(async move {
        if let Err(e) = kevents_collect::run(config, stop).await {
            tracing::error!(error = %e, "embedded collectors stopped");
        }
    })))
}

/// The credentials of the clusters `args` collects, by cluster name (none when it collects
/// none), for triggers that create objects in an event's own cluster; and the kubeconfig
/// they come from.
pub async fn credentials(
    args: &EmbeddedCollectArgs,
) -> anyhow::Result<(Vec<kevents_collect::sources::Source>, Option<PathBuf>)> {
    if !args.enabled() {
        return Ok((Vec::new(), args.kubeconfig.clone()));
    }
    let sources = kevents_collect::sources::load(&args.source_options()).await?;
    Ok((sources, args.kubeconfig.clone()))
}
