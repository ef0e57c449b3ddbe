//! `kevents clusters` (the clusters a hub collects, with lag, rate and last contact) and
//! `kevents kubeconfig` (a kubeconfig with one context per cluster of the hub).

use anyhow::Context as _;
use clap::{Args, ValueEnum};
use kevents_collect::hub::ClusterStatus;
use kevents_collect::hubconfig::{self, HubKubeconfig};
use kevents_collect::{HubClient, HubOptions};
use kevents_model::Micros;
use std::io::Write;
use std::path::PathBuf;

/// How to reach the hub.
#[derive(Args, Debug)]
pub struct HubFlags {
    /// The hub's URL.
    #[arg(long, env = "KEVENTS_SERVER", default_value = "http://127.0.0.1:8080")]
    server: String,
    /// Bearer token for the hub.
    #[arg(long, env = "KEVENTS_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// CA certificate (PEM) of an `https://` hub.
    #[arg(long)]
    certificate_authority: Option<PathBuf>,
}

impl HubFlags {
    /// The hub's URL.
    pub(crate) fn server(&self) -> &str {
        &self.server
    }

    pub(crate) async fn client(&self) -> anyhow::Result<HubClient> {
        Ok(HubClient::new(&HubOptions {
            url: self.server.clone(),
            token: self.token.clone(),
            ca_file: self.certificate_authority.clone(),
            ..HubOptions::default()
        })
        .await?)
    }

    async fn clusters(&self) -> anyhow::Result<Vec<ClusterStatus>> {
        let client = self.client().await?;
        client
            .clusters()
            .await
            .with_context(|| format!("listing the clusters of {}", self.server))
    }
}

/// Output format of `kevents clusters` and `kevents doctor`.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum Output {
    /// A table.
    Table,
    /// JSON.
    Json,
}

/// Flags of `kevents clusters`.
#[derive(Args, Debug)]
#[command(after_help = "Examples:
  kevents clusters
  kevents clusters --server http://hub:8080 -o json")]
pub struct ClustersArgs {
    #[command(flatten)]
    hub: HubFlags,
    /// Output format.
    #[arg(short, long, value_enum, default_value = "table")]
    output: Output,
}

/// Flags of `kevents kubeconfig`.
#[derive(Args, Debug)]
#[command(after_help = "Examples:
  kevents kubeconfig --server http://hub:8080 > hub.kubeconfig
  KUBECONFIG=hub.kubeconfig kubectl --context kevents-prod get events -A
  kevents kubeconfig --server http://hub:8080 --clusters prod,staging --prefix ''")]
pub struct KubeconfigArgs {
    #[command(flatten)]
    hub: HubFlags,
    /// Only these clusters (comma-separated; default: every cluster the hub knows).
    #[arg(long, value_delimiter = ',')]
    clusters: Vec<String>,
    /// Prefix of the per-cluster context names.
    #[arg(long, default_value = "kevents-")]
    prefix: String,
}

pub(crate) fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")
}

/// Prints the hub's clusters.
pub fn run_clusters(args: ClustersArgs) -> anyhow::Result<()> {
    let clusters = runtime()?.block_on(args.hub.clusters())?;
    let mut out = std::io::stdout().lock();
    match args.output {
        Output::Json => {
            let items: Vec<serde_json::Value> = clusters.iter().map(cluster_json).collect();
            serde_json::to_writer_pretty(&mut out, &serde_json::json!({ "items": items }))?;
            writeln!(out)?;
        }
        Output::Table => {
            for line in table(&clusters, Micros::now()) {
                writeln!(out, "{line}")?;
            }
        }
    }
    Ok(())
}

fn cluster_json(cluster: &ClusterStatus) -> serde_json::Value {
    serde_json::json!({
        "name": cluster.name,
        "cursor": cluster.cursor,
        "events": cluster.events,
        "lastContact": cluster.last_contact,
        "lagSeconds": cluster.lag_seconds,
        "ratePerMinute": cluster.rate_per_minute,
        "collectorVersion": cluster.collector_version,
    })
}

/// NAME EVENTS LAG RATE/MIN LAST CONTACT, ages measured at `now`.
fn table(clusters: &[ClusterStatus], now: Micros) -> Vec<String> {
    let rows: Vec<Vec<String>> = clusters
        .iter()
        .map(|c| {
            vec![
                c.name.clone(),
                c.events.to_string(),
                c.lag_seconds
                    .map_or_else(|| "-".to_string(), |lag| format!("{lag:.1}s")),
                c.rate_per_minute
                    .map_or_else(|| "-".to_string(), |rate| format!("{rate:.1}")),
                match c.last_contact.as_deref().and_then(Micros::parse) {
                    Some(time) => format!("{} ago", kevents_cli::render::age(now, Some(time))),
                    None => "never".to_string(),
                },
            ]
        })
        .collect();
    kevents_cli::render::table(
        &["NAME", "EVENTS", "LAG", "RATE/MIN", "LAST CONTACT"],
        &rows,
    )
}

/// Prints a kubeconfig for the hub's clusters.
pub fn run_kubeconfig(args: KubeconfigArgs) -> anyhow::Result<()> {
    let known: Vec<String> = runtime()?
        .block_on(args.hub.clusters())?
        .into_iter()
        .map(|c| c.name)
        .collect();
    let clusters = if args.clusters.is_empty() {
        known
    } else {
        for name in &args.clusters {
            kevents_collect::sources::validate_cluster_name(name)
                .map_err(|why| anyhow::anyhow!("cluster name {name:?}: {why}"))?;
            if !known.contains(name) {
                eprintln!(
                    "warning: the hub has no cluster {name:?} yet; its context is written anyway"
                );
            }
        }
        args.clusters
    };
    let certificate_authority = match &args.hub.certificate_authority {
        // kubectl resolves a relative path against the kubeconfig's directory, not the shell's.
        Some(path) => Some(
            std::path::absolute(path)
                .with_context(|| format!("resolving {}", path.display()))?
                .to_string_lossy()
                .into_owned(),
        ),
        None => None,
    };
    let yaml = hubconfig::render(&HubKubeconfig {
        server: args.hub.server,
        clusters,
        prefix: args.prefix,
        certificate_authority,
        token: args.hub.token,
    })?;
    std::io::stdout().lock().write_all(yaml.as_bytes())?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_shows_lag_rate_and_last_contact_age() {
        let now = Micros::parse("2026-01-02T15:04:05Z").expect("time");
        let clusters = vec![
            ClusterStatus {
                name: "prod".into(),
                cursor: Some("812".into()),
                events: 1234,
                last_contact: Some("2026-01-02T15:03:55Z".into()),
                lag_seconds: Some(0.25),
                rate_per_minute: Some(42.0),
                own: false,
                collector_version: Some("0.1.0".into()),
            },
            ClusterStatus {
                name: "staging".into(),
                ..ClusterStatus::default()
            },
        ];
        assert_eq!(
            table(&clusters, now),
            [
                "NAME      EVENTS   LAG    RATE/MIN   LAST CONTACT",
                "prod      1234     0.2s   42.0       10s ago",
                "staging   0        -      -          never",
            ]
        );
    }
}
