//! `kevents serve`: wires the store and the API together and runs them until a signal.

use anyhow::Context;
use kevents_alert::alerting::{restore_firing, run_alerting, AlertingConfig, AlertingMetrics};
use kevents_alert::delivery::{AlertmanagerConfig, DeliveryConfig, Dispatcher, WebhookConfig};
use kevents_alert::rules::{RuleEngine, RuleSources};
use kevents_alert::{EventMetrics, EventMetricsConfig, KeyResources};
use kevents_api::auth::{AuditLog, PolicyFile, RateLimiter, TokenFile};
use kevents_api::{ApiConfig, ApiMetrics, AppState, ClusterRegistry, Security};
use kevents_correlate::SeriesConfig;
use kevents_store::{Store, StoreConfig};
use std::sync::Arc;
use std::time::Duration;

mod flags;

pub use flags::{LogFormat, ServeArgs};

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
        .on_thread_park(crate::allocator::on_worker_park)
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
    // Taken before the alerting loop starts: the first evaluation after the rebuild may come
    // at once, and the served alerts only change when an evaluation reaches them.
    let alerts_for_list = alerts_published.subscribe();
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
    let (series_done, series_rebuilt) = tokio::sync::oneshot::channel();
    let (series, series_feed, series_expiry) = crate::series::start(
        &store,
        from,
        SeriesConfig {
            ttl_micros: args.event_ttl,
            max_bytes: crate::memory::bytes(args.memory.series_max_bytes),
            miner: kevents_correlate::MinerConfig {
                max_bytes: crate::memory::bytes(args.memory.pattern_max_bytes),
                ..kevents_correlate::MinerConfig::default()
            },
            ..SeriesConfig::default()
        },
        {
            let key_resources = key_resources.clone();
            Box::new(move |event| key_resources.contains(event))
        },
        &mut registry,
        series_rebuilt,
        shutdown.clone(),
    );
    let rebuilt = crate::catchup::start(
        crate::catchup::CatchUp {
            store: store.clone(),
            from,
            series: series.clone(),
            series_rebuilding: rebuilds.begin("series"),
            engine: engine.clone(),
            alerts_rebuilding: rebuilds.begin("alert_groups"),
            series_done,
        },
        shutdown.clone(),
    );
    let listed_engine = engine.clone();
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
        alerts: Default::default(),
    };
    let folding = tokio::spawn(kevents_api::run_folding(state.clone()));
    let alert_list = crate::alert_list::start(
        listed_engine,
        state.alerts.clone(),
        alerts_for_list,
        shutdown.clone(),
    );
    let expiry = tokio::spawn(crate::periodic::expire_events(
        store.clone(),
        shutdown.clone(),
    ));
    let giving_back = tokio::spawn(crate::allocator::give_back_freed_memory(
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
    let _ = giving_back.await;
    let _ = following.await;
    let _ = series_expiry.await;
    let _ = alerting.await;
    let _ = rebuilt.await;
    let _ = sinks.await;
    let _ = triggers.await;
    let _ = folding.await;
    let _ = alert_list.await;
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
