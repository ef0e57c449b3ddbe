//! `kevents serve`: wires the store and the API together and runs them until a signal.

use anyhow::Context;
use clap::{Args, ValueEnum};
use kevents_alert::alerting::{restore_firing, run_alerting, AlertingConfig, AlertingMetrics};
use kevents_alert::delivery::{AlertmanagerConfig, DeliveryConfig, Dispatcher, WebhookConfig};
use kevents_alert::rules::{RuleEngine, RuleSources};
use kevents_alert::{
    EventLabel, EventMetrics, EventMetricsConfig, KeyResourcePattern, KeyResources,
};
use kevents_api::auth::{AuditLog, PolicyFile, RateLimiter, TokenFile};
use kevents_api::{ApiConfig, ApiMetrics, AppState, ClusterRegistry, Security};
use kevents_correlate::SeriesConfig;
use kevents_model::parse_go_duration;
use kevents_store::{Store, StoreConfig};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// Log output format.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// Flags of `kevents serve`; each also reads `KEVENTS_<NAME>` from the environment.
#[derive(Args, Debug)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "KEVENTS_LISTEN", default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// Directory holding the event store.
    #[arg(long, env = "KEVENTS_DATA_DIR", default_value = "./kevents-data")]
    data_dir: PathBuf,
    /// How long an event is kept after its last update (Go duration, like the apiserver's flag).
    #[arg(long, env = "KEVENTS_EVENT_TTL", default_value = "168h", value_parser = duration_micros)]
    event_ttl: i64,
    /// Log written since the last checkpoint that triggers the next one (also at least twice
    /// the last hot checkpoint). Bytes or `128MiB`.
    #[arg(long, env = "KEVENTS_CHECKPOINT_LOG_BYTES", default_value = "128MiB", value_parser = kevents_store::parse_size)]
    checkpoint_log_bytes: u64,
    /// Log format.
    #[arg(long, env = "KEVENTS_LOG_FORMAT", value_enum, default_value = "text")]
    log_format: LogFormat,
    /// Interval between bookmarks on watches that allow them (Go duration).
    #[arg(long, env = "KEVENTS_WATCH_BOOKMARK_INTERVAL", default_value = "1m", value_parser = duration_micros)]
    watch_bookmark_interval: i64,
    /// Largest accepted request body in bytes.
    #[arg(long, env = "KEVENTS_MAX_REQUEST_BODY_BYTES", default_value_t = 3 * 1024 * 1024)]
    max_request_body_bytes: usize,
    /// Most disk the event store may take (log and checkpoints): past it the events written
    /// longest ago are deleted early, until the store fits in 90% of it. Bytes, or with a unit:
    /// `512MiB`, `10GiB`.
    #[arg(long, env = "KEVENTS_RETENTION_SIZE", default_value = "10GiB", value_parser = kevents_store::parse_size)]
    retention_size: u64,
    /// Name of the cluster this hub's events belong to (the `cluster` metric label; collected
    /// clusters have their own names).
    #[arg(long, env = "KEVENTS_CLUSTER_NAME", default_value = "default")]
    cluster_name: String,
    /// Labels of `kube_event_count` and `kube_event_unique_events_total` (comma-separated).
    #[arg(
        long,
        env = "KEVENTS_METRICS_LABELS",
        value_delimiter = ',',
        default_value = "type,reason,namespace,involved_object_kind,source,cluster"
    )]
    metrics_labels: Vec<EventLabel>,
    /// Most label combinations per event series; further values are folded into `other`.
    #[arg(long, env = "KEVENTS_METRICS_MAX_SERIES", default_value_t = 10_000)]
    metrics_max_series: usize,
    /// Rule files or directories of `*.yaml` (repeatable); reloaded when they change.
    #[arg(long = "rules", env = "KEVENTS_RULES", value_delimiter = ',')]
    rules: Vec<PathBuf>,
    /// Load the built-in rule pack (FailedScheduling, NodeNotReady, OOMKilled, ...).
    #[arg(long, env = "KEVENTS_BUILTIN_RULES", default_value_t = true, action = clap::ArgAction::Set)]
    builtin_rules: bool,
    /// Alertmanager to send alerts to (`http[s]://host:port`, repeatable).
    #[arg(
        long = "alertmanager-url",
        env = "KEVENTS_ALERTMANAGER_URL",
        value_delimiter = ','
    )]
    alertmanager_urls: Vec<String>,
    /// CA certificates (PEM) trusted besides the system's roots for `https://` Alertmanagers.
    #[arg(long, env = "KEVENTS_ALERTMANAGER_CA_FILE")]
    alertmanager_ca_file: Option<PathBuf>,
    /// Webhook to POST alert notifications to (repeatable).
    #[arg(
        long = "webhook-url",
        env = "KEVENTS_WEBHOOK_URL",
        value_delimiter = ','
    )]
    webhook_urls: Vec<String>,
    /// Secret for the `X-Kevents-Signature` HMAC-SHA256 header of webhook requests.
    #[arg(long, env = "KEVENTS_WEBHOOK_HMAC_SECRET", hide_env_values = true)]
    webhook_hmac_secret: Option<String>,
    /// CA certificates (PEM) trusted besides the system's roots for `https://` webhooks.
    #[arg(long, env = "KEVENTS_WEBHOOK_CA_FILE")]
    webhook_ca_file: Option<PathBuf>,
    /// A key resource, `cluster/namespace/kind/name` with globs (repeatable): gets per-object
    /// Warning gauges, and rules with `keyResources: true` watch only these.
    #[arg(
        long = "key-resource",
        env = "KEVENTS_KEY_RESOURCES",
        value_delimiter = ','
    )]
    key_resources: Vec<KeyResourcePattern>,
    /// How often rules are evaluated (Go duration).
    #[arg(long, env = "KEVENTS_RULE_EVALUATION_INTERVAL", default_value = "1s", value_parser = duration_micros)]
    rule_evaluation_interval: i64,
    /// Serve HTTPS with this certificate (PEM, chain first); reloaded when it changes.
    #[arg(long, env = "KEVENTS_TLS_CERT_FILE", requires = "tls_private_key_file")]
    tls_cert_file: Option<PathBuf>,
    /// The private key of `--tls-cert-file` (PEM).
    #[arg(long, env = "KEVENTS_TLS_PRIVATE_KEY_FILE", requires = "tls_cert_file")]
    tls_private_key_file: Option<PathBuf>,
    /// Bearer tokens in the apiserver's CSV format (`token,user,uid,"group1,group2"`); turns
    /// authentication on; reloaded when it changes.
    #[arg(long, env = "KEVENTS_TOKEN_AUTH_FILE")]
    token_auth_file: Option<PathBuf>,
    /// Authorization policy (YAML); with authentication on, what it does not grant is denied.
    #[arg(long, env = "KEVENTS_AUTHORIZATION_POLICY_FILE")]
    authorization_policy_file: Option<PathBuf>,
    /// Accept client certificates signed by this CA (PEM); user = CN, groups = O. Turns
    /// authentication on (bearer tokens keep working beside it).
    #[arg(long, env = "KEVENTS_CLIENT_CA_FILE", requires = "tls_cert_file")]
    client_ca_file: Option<PathBuf>,
    /// Allow listening beyond loopback without authentication.
    #[arg(long, env = "KEVENTS_INSECURE_ALLOW_UNAUTHENTICATED")]
    insecure_allow_unauthenticated: bool,
    /// Requests per second allowed per client address (0: no limit; bursts of twice that).
    #[arg(long, env = "KEVENTS_CLIENT_RATE_LIMIT", default_value_t = 0.0)]
    client_rate_limit: f64,
    /// Most open watches per client address (0: no limit).
    #[arg(long, env = "KEVENTS_MAX_WATCHES_PER_CLIENT", default_value_t = 1024)]
    max_watches_per_client: usize,
    /// Write an audit log (JSON lines) of every write and denied request here.
    #[arg(long, env = "KEVENTS_AUDIT_LOG_PATH")]
    audit_log_path: Option<PathBuf>,
    /// Rotate the audit log past this many MiB.
    #[arg(long, env = "KEVENTS_AUDIT_LOG_MAXSIZE", default_value_t = 100)]
    audit_log_maxsize: u64,
    /// Rotated audit logs to keep.
    #[arg(long, env = "KEVENTS_AUDIT_LOG_MAXBACKUP", default_value_t = 5)]
    audit_log_maxbackup: usize,
    /// How often firing alerts are re-sent to Alertmanager (Go duration).
    #[arg(long, env = "KEVENTS_ALERT_RESEND_INTERVAL", default_value = "30s", value_parser = duration_micros)]
    alert_resend_interval: i64,
    /// Sinks to deliver events to (YAML; see docs/sinks.md).
    #[arg(long, env = "KEVENTS_SINKS")]
    sinks: Option<PathBuf>,
    #[command(flatten)]
    memory: crate::memory::MemoryArgs,
    #[command(flatten)]
    collect: crate::embedded::EmbeddedCollectArgs,
    #[command(flatten)]
    correlation: crate::correlation::CorrelationArgs,
    #[command(flatten)]
    etcd: crate::etcd::EtcdArgs,
    #[command(flatten)]
    triggers: crate::triggers::TriggerArgs,
    #[command(flatten)]
    ui: crate::ui::UiArgs,
}

pub(crate) fn duration_micros(text: &str) -> Result<i64, String> {
    let micros = parse_go_duration(text)?;
    if micros <= 0 {
        return Err(format!("duration must be positive: {text:?}"));
    }
    Ok(micros)
}

/// Logs to stderr in `format`, at the level `RUST_LOG` asks for (default `info`).
pub(crate) fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

/// Runs the hub until SIGINT or SIGTERM.
pub fn run(args: ServeArgs) -> anyhow::Result<()> {
    init_logging(args.log_format);
    kevents_api::log_panics_briefly();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(serve(args))
}

async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let mut store_config = StoreConfig::new(&args.data_dir);
    store_config.ttl_micros = args.event_ttl;
    args.memory.apply(&mut store_config);
    store_config.retention_bytes = args.retention_size;
    store_config.log.checkpoint_min_bytes = args.checkpoint_log_bytes.max(4096);
    let store = Store::open(store_config)
        .with_context(|| format!("opening the store in {}", args.data_dir.display()))?;
    let (shutdown_sender, shutdown) = tokio::sync::watch::channel(false);
    let mut registry = prometheus_client::registry::Registry::default();
    let api_metrics = ApiMetrics::default();
    api_metrics.register(&mut registry);
    let event_metrics = Arc::new(EventMetrics::new(
        EventMetricsConfig {
            labels: args.metrics_labels.clone(),
            max_series: args.metrics_max_series,
            cluster: args.cluster_name.clone(),
        },
        &mut registry,
    ));
    let store_gauges = crate::metrics::StoreGauges::new(&mut registry);
    let (sinks, sink_metrics) = crate::sinks::start(
        args.sinks.as_deref(),
        &args.data_dir,
        &args.cluster_name,
        &store,
        &mut registry,
        shutdown.clone(),
    )?;
    let admission = Arc::new(kevents_api::Admission::new(args.correlation.config()?));
    admission.register(&mut registry);
    let clusters = Arc::new(
        ClusterRegistry::open(&args.data_dir)
            .with_context(|| format!("reading cluster cursors in {}", args.data_dir.display()))?,
    );
    clusters.register(&mut registry);
    let sources = RuleSources {
        builtin: args.builtin_rules,
        paths: args.rules.clone(),
    };
    let rules = sources.load().context("loading alerting rules")?;
    let key_resources = Arc::new(KeyResources::new(
        args.key_resources.clone(),
        args.cluster_name.clone(),
    ));
    key_resources.register(&mut registry);
    let engine = Arc::new(
        RuleEngine::new(rules, args.cluster_name.clone())
            .with_key_resources(key_resources.clone())
            .with_max_groups(args.memory.alert_max_groups)
            .with_max_bytes(crate::memory::bytes(args.memory.alert_max_bytes)),
    );
    engine.register(&mut registry);
    let firing_path = args.data_dir.join("alerts").join("firing.json");
    restore_firing(&engine, &firing_path);
    engine.begin_rebuild();
    // Earlier versions kept the engine's whole state here; it is rebuilt from the store now.
    let _ = std::fs::remove_file(args.data_dir.join("alerts").join("state.json"));
    let dispatcher = Dispatcher::start(
        DeliveryConfig {
            alertmanagers: args
                .alertmanager_urls
                .iter()
                .map(|url| AlertmanagerConfig {
                    url: url.clone(),
                    ca_file: args.alertmanager_ca_file.clone(),
                })
                .collect(),
            webhooks: args
                .webhook_urls
                .iter()
                .map(|url| WebhookConfig {
                    url: url.clone(),
                    hmac_secret: args.webhook_hmac_secret.clone(),
                    ca_file: args.webhook_ca_file.clone(),
                })
                .collect(),
            resend_interval: Duration::from_micros(args.alert_resend_interval as u64),
            state_path: Some(args.data_dir.join("alerts").join("delivery.json")),
            ..DeliveryConfig::default()
        },
        shutdown.clone(),
    )
    .context("configuring alert delivery")?;
    let alerting_metrics = AlertingMetrics::default();
    alerting_metrics.register(&mut registry);
    let alerts_published = tokio::sync::broadcast::channel(64).0;
    let alerts_for_triggers = alerts_published.subscribe();
    let alerting = tokio::spawn(run_alerting(
        AlertingConfig {
            sources,
            firing_path,
            evaluation_interval: Duration::from_micros(args.rule_evaluation_interval as u64),
            reload_interval: Duration::from_secs(2),
            published: Some(alerts_published.clone()),
        },
        engine.clone(),
        key_resources.clone(),
        dispatcher,
        alerting_metrics,
        shutdown.clone(),
    ));
    let from = store.resource_version();
    let rebuilds = crate::metrics::Rebuilds::new(&mut registry);
    let rules_rebuilt = crate::alerting::rebuild(
        &engine,
        &store,
        from,
        rebuilds.begin("alert_groups"),
        shutdown.clone(),
    );
    let (series, series_feed, series_expiry) = crate::series::start(
        &store,
        from,
        SeriesConfig {
            ttl_micros: args.event_ttl,
            max_bytes: crate::memory::bytes(args.memory.series_max_bytes),
            ..SeriesConfig::default()
        },
        {
            let key_resources = key_resources.clone();
            Box::new(move |event| key_resources.contains(event))
        },
        &mut registry,
        rebuilds.begin("series"),
        shutdown.clone(),
    );
    let following = tokio::spawn(kevents_alert::follow_store(
        store.clone(),
        vec![event_metrics, engine, key_resources, series_feed],
        from,
        shutdown.clone(),
    ));
    let security = Arc::new(security(&args)?);
    let reloader = tokio::spawn(crate::periodic::reload_security(
        security.clone(),
        shutdown.clone(),
    ));
    let state = AppState {
        store: store.clone(),
        config: Arc::new(ApiConfig {
            max_body_bytes: args.max_request_body_bytes,
            bookmark_interval: Duration::from_micros(args.watch_bookmark_interval as u64),
        }),
        shutdown: shutdown.clone(),
        metrics: api_metrics,
        security,
        clusters,
        series,
        admission,
        trigger_runs: Default::default(),
        triggers: Default::default(),
    };
    let folding = tokio::spawn(kevents_api::run_folding(state.clone()));
    let expiry = tokio::spawn(crate::periodic::expire_events(
        store.clone(),
        shutdown.clone(),
    ));
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("listening on {}", args.listen))?;
    tracing::info!(
        listen = %listener.local_addr()?,
        data_dir = %args.data_dir.display(),
        event_ttl = %kevents_model::human_duration(args.event_ttl),
        "kevents is serving the Kubernetes Events API"
    );
    let secured = args.tls_cert_file.is_some() || state.security.authentication_enabled();
    let collecting = crate::embedded::start(
        &args.collect,
        listener.local_addr()?,
        secured,
        &mut registry,
        shutdown.clone(),
    )
    .await
    .context("starting the embedded collectors")?;
    let etcd = crate::etcd::start(
        &args.etcd,
        &args.data_dir,
        &store,
        &mut registry,
        shutdown.clone(),
    )
    .await?;
    let (hub, data_dir) = (&args.cluster_name, &args.data_dir);
    let triggers = crate::triggers::start(
        &args.triggers,
        &args.collect,
        data_dir,
        hub,
        &state,
        alerts_for_triggers,
        shutdown.clone(),
    )
    .await?;
    let doctor = crate::doctor_endpoint::router(&state, sink_metrics, args.retention_size);
    let app = kevents_api::router(state)
        .merge(crate::metrics::router(
            Arc::new(registry),
            store_gauges,
            store.clone(),
        ))
        .merge(doctor);
    let app = crate::ui::add(&args.ui, app);
    let tls = match (&args.tls_cert_file, &args.tls_private_key_file) {
        (Some(cert), Some(key)) => Some(Arc::new(
            crate::listen::TlsFiles::load(cert.clone(), key.clone(), args.client_ca_file.clone())
                .context("loading the TLS certificate")?,
        )),
        _ => None,
    };
    crate::listen::serve(listener, app, tls, async move {
        crate::listen::wait_for_signal().await;
        tracing::info!("shutting down: finishing requests, ending watches");
        let _ = shutdown_sender.send(true);
    })
    .await
    .context("serving HTTP")?;
    let _ = reloader.await;
    let _ = expiry.await;
    let _ = following.await;
    let _ = series_expiry.await;
    let _ = alerting.await;
    let _ = rules_rebuilt.await;
    let _ = sinks.await;
    let _ = triggers.await;
    let _ = folding.await;
    if let Some(collecting) = collecting {
        let _ = collecting.await;
    }
    if let Some(etcd) = etcd {
        let _ = etcd.await;
    }
    store.close().await;
    tracing::info!("store closed; bye");
    Ok(())
}

/// Builds the security settings, refusing an unauthenticated hub beyond loopback.
fn security(args: &ServeArgs) -> anyhow::Result<Security> {
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
