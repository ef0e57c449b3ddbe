//! `kevents triggers check|pause|resume` and the hub's `--triggers` wiring: loads the triggers
//! file (every match, template, URL and duration is checked at load), gives the triggers the
//! collectors' credentials, and starts them beside the API.

use anyhow::Context;
use clap::{Args, Subcommand};
use kevents_api::AppState;
use kevents_cli::hub::HubFlags;
use kevents_trigger::actions::kubernetes::Clusters;
use kevents_trigger::HubContext;
use std::path::{Path, PathBuf};

/// The `serve` flag.
#[derive(Args, Debug, Clone, Default)]
pub struct TriggerArgs {
    /// Triggers: when events match, run an action exactly once (YAML; see docs/automation.md);
    /// reloaded when the file changes.
    #[arg(long = "triggers", env = "KEVENTS_TRIGGERS", value_name = "FILE")]
    file: Option<PathBuf>,
}

/// Flags of `kevents triggers`.
#[derive(Args, Debug)]
pub struct TriggersArgs {
    #[command(subcommand)]
    command: TriggersCommand,
}

#[derive(Subcommand, Debug)]
enum TriggersCommand {
    /// Validate a triggers file: syntax, matches, templates, actions and safety settings.
    Check {
        /// The triggers file (YAML).
        file: PathBuf,
    },
    /// Turn a trigger's kill switch on: it records suppressed firings and does nothing.
    Pause {
        /// The trigger.
        name: String,
        #[command(flatten)]
        hub: HubFlags,
    },
    /// Turn a trigger's kill switch off.
    Resume {
        /// The trigger.
        name: String,
        #[command(flatten)]
        hub: HubFlags,
    },
}

/// Runs `kevents triggers`.
pub fn run(args: TriggersArgs) -> anyhow::Result<()> {
    let (name, hub, paused) = match args.command {
        TriggersCommand::Check { file } => return check(&file),
        TriggersCommand::Pause { name, hub } => (name, hub, true),
        TriggersCommand::Resume { name, hub } => (name, hub, false),
    };
    kevents_cli::context::runtime()?.block_on(async {
        let client = hub.client()?;
        let patch = serde_json::json!({"spec": {"paused": paused}});
        client
            .patch::<serde_json::Value>(&format!("/apis/kevents.io/v1/triggers/{name}"), &patch)
            .await
            .with_context(|| format!("switching trigger {name}"))?;
        println!(
            "trigger {name} {}",
            if paused { "paused" } else { "resumed" }
        );
        Ok(())
    })
}

fn check(file: &Path) -> anyhow::Result<()> {
    let specs = kevents_trigger::load(file)?;
    for spec in &specs {
        let mut notes = vec![format!("{} action", spec.action.kind())];
        notes.push(format!(
            "cooldown {}",
            kevents_model::human_duration(spec.limits.cooldown)
        ));
        if let Some((count, per)) = spec.limits.rate_limit {
            notes.push(format!(
                "at most {count} per {}",
                kevents_model::human_duration(per)
            ));
        }
        if let Some((count, within)) = spec.limits.series {
            notes.push(format!(
                "when {count} occurrences within {}",
                kevents_model::human_duration(within)
            ));
        }
        if spec.dry_run {
            notes.push("dry run".into());
        }
        println!("{}: {}", spec.name, notes.join(", "));
    }
    println!("{}: {} triggers OK", file.display(), specs.len());
    Ok(())
}

/// Starts the triggers of `--triggers` (none without it); the handle ends after shutdown.
pub async fn start(
    args: &TriggerArgs,
    collect: &crate::embedded::EmbeddedCollectArgs,
    data_dir: &Path,
    hub_cluster: &str,
    state: &AppState,
    alerts: tokio::sync::broadcast::Receiver<std::sync::Arc<Vec<kevents_alert::Alert>>>,
    shutdown: tokio::sync::watch::Receiver<bool>,
) -> anyhow::Result<tokio::task::JoinHandle<()>> {
    let Some(file) = &args.file else {
        return Ok(tokio::spawn(async {}));
    };
    let specs = kevents_trigger::load(file).context("loading triggers")?;
    let (sources, kubeconfig) = crate::embedded::credentials(collect)
        .await
        .context("reading the collectors' credentials for triggers")?;
    tracing::info!(file = %file.display(), triggers = specs.len(), "running triggers");
    let hub = HubContext {
        data_dir: data_dir.to_path_buf(),
        hub_cluster: hub_cluster.to_string(),
        store: state.store.clone(),
        runs: state.trigger_runs.clone(),
        triggers: state.triggers.clone(),
        security: state.security.clone(),
        clusters: Clusters::new(
            sources.into_iter().map(|s| (s.name, s.config)).collect(),
            kubeconfig,
        ),
        alerts: Some(alerts),
    };
    kevents_trigger::start(file.clone(), specs, hub, shutdown)
        .with_context(|| format!("opening the trigger runs in {}", data_dir.display()))
}
