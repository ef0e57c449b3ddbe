//! Kubeconfigs and the hub: `kevents kubeconfig` writes one with a context per cluster of a hub
//! (`render`), and `--kubeconfig` reads how to reach a hub from one (`read`).

pub(crate) mod read;
pub mod render;

use crate::error::{CliError, Result};
use crate::hub::HubFlags;
use clap::Args;
use render::HubKubeconfig;
use std::io::Write;

/// Flags of `kevents kubeconfig`.
#[derive(Args, Debug)]
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

/// kubectl resolves a relative path against the kubeconfig's directory, not the shell's.
fn absolute(path: &Option<std::path::PathBuf>) -> Result<Option<String>> {
    path.as_ref()
        .map(|path| {
            std::path::absolute(path)
                .map(|p| p.to_string_lossy().into_owned())
                .map_err(|e| CliError::io(format!("resolving {}", path.display()), e))
        })
        .transpose()
}

/// Prints a kubeconfig for the hub's clusters.
pub async fn run(args: KubeconfigArgs) -> Result<()> {
    let known: Vec<String> = args
        .hub
        .client()?
        .clusters()
        .await?
        .into_iter()
        .map(|c| c.name)
        .collect();
    let clusters = if args.clusters.is_empty() {
        known
    } else {
        for name in &args.clusters {
            kevents_model::validate_cluster_name(name)
                .map_err(|why| CliError::Invalid(format!("cluster name {name:?}: {why}")))?;
            if !known.contains(name) {
                eprintln!(
                    "warning: the hub has no cluster {name:?} yet; its context is written anyway"
                );
            }
        }
        args.clusters
    };
    let yaml = render::render(&HubKubeconfig {
        server: args.hub.server(),
        clusters,
        prefix: args.prefix,
        certificate_authority: absolute(&args.hub.certificate_authority)?,
        token: args.hub.token.clone(),
        token_file: absolute(&args.hub.token_file)?,
        client_certificate: absolute(&args.hub.client_certificate)?,
        client_key: absolute(&args.hub.client_key)?,
    })
    .map_err(|e| CliError::Invalid(e.to_string()))?;
    std::io::stdout()
        .lock()
        .write_all(yaml.as_bytes())
        .map_err(|e| CliError::io("writing stdout", e))
}
