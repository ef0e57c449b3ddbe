//! `kevents serve --etcd-listen`: the etcd v3 endpoint the apiserver can store its events in
//! (`--etcd-servers-overrides=/events#...`). Off unless the flag is given.

use anyhow::Context;
use clap::Args;
use kevents_etcd::{EtcdConfig, EtcdServer, ProtobufEventCodec};
use kevents_store::Store;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::registry::Registry;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Flags of the etcd endpoint.
#[derive(Args, Debug)]
pub struct EtcdArgs {
    /// Serve the etcd v3 API for the apiserver's events on this address (off when unset).
    #[arg(long, env = "KEVENTS_ETCD_LISTEN")]
    etcd_listen: Option<SocketAddr>,
    /// Serve the etcd endpoint over TLS with this certificate (PEM).
    #[arg(long, env = "KEVENTS_ETCD_CERT_FILE", requires_all = ["etcd_key_file", "etcd_listen"])]
    etcd_cert_file: Option<PathBuf>,
    /// The private key of `--etcd-cert-file` (PEM).
    #[arg(long, env = "KEVENTS_ETCD_KEY_FILE", requires = "etcd_cert_file")]
    etcd_key_file: Option<PathBuf>,
    /// Require etcd clients to present a certificate signed by this CA (PEM).
    #[arg(long, env = "KEVENTS_ETCD_CLIENT_CA_FILE", requires = "etcd_cert_file")]
    etcd_client_ca_file: Option<PathBuf>,
    /// The apiserver's `--etcd-prefix`: events are served under `<prefix>/events/`.
    #[arg(long, env = "KEVENTS_ETCD_PREFIX", default_value = "/registry")]
    etcd_prefix: String,
    /// Most memory the etcd view's history may take (keys and values before and after each
    /// change, for reads at past revisions and watch resume); the oldest revisions are
    /// compacted past it. Bytes, or with a unit.
    #[arg(long, env = "KEVENTS_ETCD_HISTORY_BYTES", default_value = "64MiB", value_parser = kevents_store::parse_size)]
    etcd_history_bytes: u64,
}

/// `kevents_etcd_history_bytes`, read from the view at each scrape.
struct HistoryBytes(Arc<EtcdServer>);

impl std::fmt::Debug for HistoryBytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("HistoryBytes")
    }
}

impl Collector for HistoryBytes {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let gauge = ConstGauge::new(i64::try_from(self.0.history_bytes()).unwrap_or(i64::MAX));
        let metric = encoder.encode_descriptor(
            "kevents_etcd_history_bytes",
            "Bytes of history the etcd view keeps (bounded by --etcd-history-bytes)",
            None,
            gauge.metric_type(),
        )?;
        gauge.encode(metric)
    }
}

/// Starts the endpoint when `--etcd-listen` is set; the task ends after `shutdown` changes.
pub async fn start(
    args: &EtcdArgs,
    data_dir: &Path,
    store: &Store,
    registry: &mut Registry,
    shutdown: tokio::sync::watch::Receiver<bool>,
) -> anyhow::Result<Option<tokio::task::JoinHandle<()>>> {
    let Some(address) = args.etcd_listen else {
        return Ok(None);
    };
    let tls = match (&args.etcd_cert_file, &args.etcd_key_file) {
        (Some(cert), Some(key)) => Some(
            kevents_etcd::server_config(cert, key, args.etcd_client_ca_file.as_deref())
                .map_err(anyhow::Error::msg)
                .context("loading the etcd endpoint's TLS certificate")?,
        ),
        _ => None,
    };
    if tls.is_none() && !address.ip().is_loopback() {
        tracing::warn!(%address, "serving etcd beyond loopback WITHOUT TLS: anyone can write events");
    }
    let listener = tokio::net::TcpListener::bind(address)
        .await
        .with_context(|| format!("listening for etcd clients on {address}"))?;
    let scheme = if tls.is_some() { "https" } else { "http" };
    let local = listener.local_addr()?;
    let mut config = EtcdConfig::new(data_dir.join("etcd"));
    config.prefix = args.etcd_prefix.clone();
    config.history_bytes_limit = crate::memory::bytes(args.etcd_history_bytes);
    config.client_urls = vec![format!("{scheme}://{local}")];
    let server = EtcdServer::open(config, store.clone(), Arc::new(ProtobufEventCodec))
        .await
        .context("opening the etcd view")?;
    registry.register_collector(Box::new(HistoryBytes(server.clone())));
    tracing::info!(listen = %local, prefix = %args.etcd_prefix, "kevents is serving etcd v3 for the apiserver's events");
    Ok(Some(tokio::spawn(kevents_etcd::serve(
        listener, server, tls, shutdown,
    ))))
}
