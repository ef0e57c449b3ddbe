//! `kevents collect`: watches the Events of kubeconfig contexts (or the pod's own cluster) and
//! writes them into a hub exactly once; serves its own `/metrics`.

use crate::listen::wait_for_signal;
use crate::serve::{init_logging, LogFormat};
use anyhow::Context as _;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use clap::Args;
use kevents_cli::hub::HubFlags;
use kevents_collect::{BatchLimits, CollectConfig, CollectorMetrics, Settings};
use kevents_http::hub::HubOptions;
use prometheus_client::encoding::prometheus_text;
use prometheus_client::registry::Registry;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// Flags of `kevents collect`.
#[derive(Args, Debug)]
#[command(after_help = "Examples:
  kevents collect --server http://hub:8080                     # the current context
  kevents collect --context prod --context staging --server http://hub:8080
  kevents collect --all-contexts --cluster-name Prod_EU=prod-eu --server https://hub:8443 \\
      --certificate-authority ca.crt --token-file token
  kevents collect --in-cluster --cluster-name prod --server http://kevents.monitoring:8080")]
pub struct CollectArgs {
    /// The hub to write into and how to authenticate (the `--to…` names of earlier releases
    /// still work).
    #[command(flatten)]
    hub: HubFlags,
    /// The hub to write into: the same as --server.
    #[arg(
        long,
        env = "KEVENTS_COLLECT_TO",
        hide = true,
        conflicts_with = "server"
    )]
    to: Option<String>,
    #[command(flatten)]
    sources: crate::contexts::ContextFlags,
    /// Collect from the cluster this pod runs in (its service account); needs --cluster-name.
    #[arg(long, conflicts_with_all = ["contexts", "all_contexts", "kubeconfig"])]
    in_cluster: bool,
    /// Serve /metrics (kevents_collector_*) on this address.
    #[arg(long, env = "KEVENTS_COLLECT_METRICS_ADDR")]
    metrics_addr: Option<SocketAddr>,
    /// Events per batch.
    #[arg(long, default_value_t = 500, value_parser = clap::value_parser!(u64).range(1..=10_000))]
    batch_size: u64,
    /// How long a batch waits for more events before it is sent (Go duration).
    #[arg(long, default_value = "200ms", value_parser = duration)]
    batch_wait: Duration,
    /// Longest delay between retries of a batch while the hub is unreachable (Go duration).
    #[arg(long, default_value = "30s", value_parser = duration)]
    max_retry_delay: Duration,
    /// Report liveness and lag to the hub at least this often (Go duration).
    #[arg(long, default_value = "10s", value_parser = duration)]
    heartbeat: Duration,
    /// Log format.
    #[arg(long, env = "KEVENTS_LOG_FORMAT", value_enum, default_value = "text")]
    log_format: LogFormat,
}

fn duration(text: &str) -> Result<Duration, String> {
    let micros = kevents_model::parse_go_duration(text)?;
    if micros <= 0 {
        return Err(format!("duration must be positive: {text:?}"));
    }
    Ok(Duration::from_micros(micros as u64))
}

/// Runs the collector until SIGINT or SIGTERM.
pub fn run(args: CollectArgs) -> anyhow::Result<()> {
    init_logging(args.log_format);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(collect(args))
}

/// The hub options: the shared hub flags, with `--to` and the `KEVENTS_COLLECT_TO_*`
/// variables of earlier releases where the flags leave a value unset.
fn hub_options(args: &CollectArgs) -> anyhow::Result<HubOptions> {
    let variable = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
    let mut options = args.hub.options();
    options.url = match (&args.to, &args.hub.server, variable("KEVENTS_SERVER")) {
        (Some(to), _, _) => to.clone(),
        (None, Some(_), _) | (None, None, Some(_)) => options.url,
        (None, None, None) => anyhow::bail!("name the hub to write into with --server"),
    };
    options.token = options
        .token
        .or_else(|| variable("KEVENTS_COLLECT_TO_TOKEN").map(|v| v.to_string_lossy().into_owned()));
    options.token_file = options
        .token_file
        .or_else(|| variable("KEVENTS_COLLECT_TO_TOKEN_FILE").map(PathBuf::from));
    options.ca_file = options
        .ca_file
        .or_else(|| variable("KEVENTS_COLLECT_TO_CA").map(PathBuf::from));
    Ok(options)
}

async fn collect(args: CollectArgs) -> anyhow::Result<()> {
    let hub = hub_options(&args)?;
    let sources = kevents_collect::sources::load(&args.sources.options(args.in_cluster)).await?;
    for source in &sources {
        tracing::info!(cluster = %source.name, context = ?source.context, server = %source.config.cluster_url, "source");
    }
    let mut registry = Registry::default();
    let metrics = CollectorMetrics::new(&mut registry);
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let metrics_server = match args.metrics_addr {
        Some(address) => Some(serve_metrics(address, Arc::new(registry), stopped).await?),
        None => None,
    };
    let limits = BatchLimits {
        max_events: args.batch_size as usize,
        ..BatchLimits::default()
    };
    let config = CollectConfig {
        sources,
        hub,
        settings: Settings {
            limits,
            linger: args.batch_wait,
            queue: limits.max_events,
            heartbeat: args.heartbeat,
            retry_cap: args.max_retry_delay,
            ..Settings::default()
        },
        metrics,
    };
    let result = kevents_collect::run(config, wait_for_signal()).await;
    let _ = stop.send(true);
    if let Some(server) = metrics_server {
        let _ = server.await;
    }
    tracing::info!("collector stopped");
    Ok(result?)
}

async fn serve_metrics(
    address: SocketAddr,
    registry: Arc<Registry>,
    mut stopped: tokio::sync::watch::Receiver<bool>,
) -> anyhow::Result<tokio::task::JoinHandle<()>> {
    let listener = tokio::net::TcpListener::bind(address)
        .await
        .with_context(|| format!("listening on {address} for /metrics"))?;
    tracing::info!(%address, "serving /metrics");
    let router = Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route(
            "/metrics",
            get(move || {
                let registry = registry.clone();
                async move {
                    let mut body = String::new();
                    match prometheus_text::encode(&mut body, &registry) {
                        Ok(()) => (
                            [(header::CONTENT_TYPE, prometheus_text::CONTENT_TYPE)],
                            body,
                        )
                            .into_response(),
                        Err(e) => (
                            axum::http::StatusCode::INTERNAL_SERVER_ERROR,
                            format!("encoding metrics: {e}"),
                        )
                            .into_response(),
                    }
                }
            }),
        );
    Ok(tokio::spawn(async move {
        let shutdown = async move {
            while !*stopped.borrow_and_update() {
                if stopped.changed().await.is_err() {
                    return;
                }
            }
        };
        if let Err(e) = axum::serve(listener, router)
            .with_graceful_shutdown(shutdown)
            .await
        {
            tracing::error!(error = %e, "metrics server");
        }
    }))
}
