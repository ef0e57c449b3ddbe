//! `kevents-cli`: the commands of `kevents` that talk to a hub — get, describe, timeline, top,
//! count, tail, export, import, anomalies, clusters, kubeconfig, archive list|restore, version —
//! through one hub client and one set of hub flags (`hub`), plus completion.
#![warn(missing_docs)]

pub mod anomalies;
#[cfg(feature = "archive")]
pub mod archive;
pub mod clusters;
pub mod completion;
pub mod context;
pub mod count;
pub mod describe;
pub mod error;
pub mod export;
pub mod filter;
pub mod get;
pub mod hub;
pub mod import;
pub mod kubeconfig;
pub mod list;
pub mod render;
pub mod spread;
pub mod tail;
pub mod timeline;
pub mod top;
pub mod version;

pub use error::CliError;

use clap::Subcommand;

/// The CLI's subcommands; `kevents` flattens them into its own.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// List events: history over any range, not just the last hour, paged transparently.
    #[command(after_help = "Examples:
  kevents get                                   # every event, oldest first
  kevents get -n prod --since 2h --type Warning
  kevents get --for pod/web-0 -o wide
  kevents get --from 2026-01-02T00:00:00Z --to 2026-01-03T00:00:00Z -o csv > day.csv
  kevents get -l app=web --field-selector reason=BackOff -o json")]
    Get(get::GetArgs),
    /// One object's event history in order, with counts, occurrence windows and quiet gaps.
    #[command(after_help = "Examples:
  kevents describe pod/web-0 -n prod
  kevents describe node/worker-1 --since 3d")]
    Describe(describe::DescribeArgs),
    /// Normal vs Warning per time bucket, as sparklines and a histogram with top reasons.
    #[command(after_help = "Examples:
  kevents timeline --since 6h
  kevents timeline -n prod --since 2d --buckets 48
  kevents timeline --for deploy/web --since 1h")]
    Timeline(timeline::TimelineArgs),
    /// What is noisy: reasons, objects, namespaces, sources or message patterns, ranked.
    #[command(after_help = "Examples:
  kevents top reasons                          # last hour vs the hour before
  kevents top objects --since 24h --type Warning
  kevents top patterns -n prod --limit 20")]
    Top(top::TopArgs),
    /// Count stored events by reason, type, namespace, kind, object, source or cluster over a
    /// time window; the hub counts, so weeks of millions of events take milliseconds.
    #[command(after_help = "Examples:
  kevents count                                # reasons, over all stored events
  kevents count reasons --since 24h
  kevents count namespaces --type Warning --since 7d
  kevents count types -n prod --from 2026-01-02T00:00:00Z --to 2026-01-03T00:00:00Z -o json")]
    Count(count::CountArgs),
    /// Follow new events live, one line each; resumes across hub restarts; Ctrl-C to stop.
    #[command(after_help = "Examples:
  kevents tail
  kevents tail -n prod --type Warning --lines 0
  kevents tail --for node/worker-1")]
    Tail(tail::TailArgs),
    /// Write events to a file (ndjson, json, csv or parquet), streaming in constant memory.
    #[command(after_help = "Examples:
  kevents export -o events.ndjson
  kevents export --since 7d --type Warning -o warnings.csv
  kevents export -n prod --format parquet -o prod.parquet")]
    Export(export::ExportArgs),
    /// Load events from NDJSON, a `kubectl get events -o json` List or a kevents export;
    /// importing twice adds nothing.
    #[command(after_help = "Examples:
  kubectl get events -A -o json > dump.json && kevents import dump.json
  kevents import events.ndjson --server http://hub:8080")]
    Import(import::ImportArgs),
    /// What the hub found unusual: new Warning patterns, rate spikes, rate drops of regular
    /// events (a stopped CronJob), first Warnings for key resources.
    #[command(after_help = "Examples:
  kevents anomalies                            # open ones and those of the last 24h
  kevents anomalies --since 7d --kind RateSpike
  kevents anomalies -n prod -o json")]
    Anomalies(anomalies::AnomaliesArgs),
    /// List the clusters a hub collects, with lag, event rate, events lost in gaps and last
    /// contact.
    #[command(after_help = "Examples:
  kevents clusters
  kevents clusters --server https://hub:8443 --certificate-authority ca.crt --token-file token -o json")]
    Clusters(clusters::ClustersArgs),
    /// Print a kubeconfig with one context per cluster of a hub.
    #[command(after_help = "Examples:
  kevents kubeconfig --server http://hub:8080 > hub.kubeconfig
  KUBECONFIG=hub.kubeconfig kubectl --context kevents-prod get events -A
  kevents kubeconfig --server http://hub:8080 --clusters prod,staging --prefix ''")]
    Kubeconfig(kubeconfig::KubeconfigArgs),
    /// List an event archive (an `archive` sink's Parquet objects) or restore a range of it.
    #[cfg(feature = "archive")]
    #[command(skip)]
    Archive(archive::ArchiveCommand),
    /// Print a shell completion script.
    #[command(after_help = "Examples:
  kevents completion bash > /etc/bash_completion.d/kevents
  kevents completion zsh > \"${fpath[1]}/_kevents\"
  kevents completion fish > ~/.config/fish/completions/kevents.fish")]
    Completion(completion::CompletionArgs),
    /// Print the version of kevents and of the hub.
    #[command(after_help = "Examples:
  kevents version
  kevents version --client")]
    Version(version::VersionArgs),
}

/// Runs a CLI command. `cli` is the whole `kevents` command (for completions). Errors are one
/// line each; a closed stdout (`kevents get | head`) is not an error.
pub fn run(command: Command, cli: clap::Command) -> Result<(), CliError> {
    let result = match command {
        Command::Completion(args) => completion::run(args, cli),
        command => context::runtime()?.block_on(async move {
            match command {
                Command::Get(args) => get::run(args).await,
                Command::Describe(args) => describe::run(args).await,
                Command::Timeline(args) => timeline::run(args).await,
                Command::Top(args) => top::run(args).await,
                Command::Count(args) => count::run(args).await,
                Command::Tail(args) => tail::run(args).await,
                Command::Export(args) => export::run(args).await,
                Command::Import(args) => import::run(args).await,
                Command::Version(args) => version::run(args).await,
                Command::Anomalies(args) => anomalies::run(args).await,
                Command::Clusters(args) => clusters::run(args).await,
                Command::Kubeconfig(args) => kubeconfig::run(args).await,
                #[cfg(feature = "archive")]
                Command::Archive(command) => archive::run(command).await,
                Command::Completion(_) => Ok(()),
            }
        }),
    };
    match result {
        Err(e) if e.is_broken_pipe() => Ok(()),
        other => other,
    }
}

/// Runs a CLI command as the whole process: exits 0 on success, or prints the error as one line
/// (`Error: …`, never a backtrace) and exits 1. Usage errors exit 2 earlier, in clap.
pub fn main(command: Command, cli: clap::Command) -> ! {
    let code = match run(command, cli) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("Error: {e}");
            1
        }
    };
    let _ = std::io::Write::flush(&mut std::io::stdout());
    std::process::exit(code)
}
