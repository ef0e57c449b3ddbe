//! `kevents sinks check` and the hub's `--sinks` wiring: loads the sinks file (every template,
//! URL and match rule is checked at load) and starts delivery beside the API.

use anyhow::Context;
use clap::{Args, Subcommand};
use kevents_sink::{HubContext, SinkMetrics};
use kevents_store::Store;
use prometheus_client::registry::Registry;
use std::path::{Path, PathBuf};

/// Flags of `kevents sinks`.
#[derive(Args, Debug)]
pub struct SinksArgs {
    #[command(subcommand)]
    command: SinksCommand,
}

#[derive(Subcommand, Debug)]
enum SinksCommand {
    /// Validate a sinks file: syntax, sink settings, templates and match rules.
    Check {
        /// The sinks file (YAML).
        file: PathBuf,
    },
}

/// Runs `kevents sinks`.
pub fn run(args: SinksArgs) -> anyhow::Result<()> {
    match args.command {
        SinksCommand::Check { file } => {
            let specs = kevents_sink::load(&file)?;
            for spec in &specs {
                println!(
                    "{}: {} sink, {:?}, batches of up to {} events",
                    spec.name, spec.kind, spec.policy, spec.limits.max_events
                );
            }
            println!("{}: {} sinks OK", file.display(), specs.len());
            Ok(())
        }
    }
}

/// Starts the sinks of `file` (none without one); the handle ends after shutdown. Returns their
/// metrics too, which `/doctor` reads.
pub fn start(
    file: Option<&Path>,
    data_dir: &Path,
    hub_cluster: &str,
    store: &Store,
    registry: &mut Registry,
    shutdown: tokio::sync::watch::Receiver<bool>,
) -> anyhow::Result<(tokio::task::JoinHandle<()>, Option<SinkMetrics>)> {
    let Some(file) = file else {
        return Ok((tokio::spawn(async {}), None));
    };
    let specs = kevents_sink::load(file).context("loading sinks")?;
    let metrics = SinkMetrics::default();
    metrics.register(registry);
    tracing::info!(file = %file.display(), sinks = specs.len(), "delivering to sinks");
    let hub = HubContext {
        data_dir: data_dir.to_path_buf(),
        hub_cluster: hub_cluster.to_string(),
        store: store.clone(),
    };
    let delivering = kevents_sink::start(specs, hub, &metrics, shutdown);
    Ok((delivering, Some(metrics)))
}
