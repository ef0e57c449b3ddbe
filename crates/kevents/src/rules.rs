//! `kevents rules check|export`: validate rule files, or export them as Prometheus rules.

use clap::{Args, Subcommand, ValueEnum};
use kevents_alert::rules::{prometheus_rule_object, prometheus_rules, RuleSources};
use std::path::PathBuf;

/// `kevents rules …`.
#[derive(Args, Debug)]
pub struct RulesArgs {
    #[command(subcommand)]
    command: RulesCommand,
}

#[derive(Subcommand, Debug)]
enum RulesCommand {
    /// Validate rule files (and the built-in pack); exit 1 on the first error.
    Check(SourceArgs),
    /// Print the rules as a rule file for another evaluator.
    Export {
        /// Output format.
        #[arg(long, value_enum, default_value = "prometheus")]
        format: ExportFormat,
        /// `metadata.name` of the PrometheusRule (with `--format prometheus-rule`).
        #[arg(long, default_value = "kevents")]
        name: String,
        #[command(flatten)]
        sources: SourceArgs,
    },
}

#[derive(Args, Debug)]
struct SourceArgs {
    /// Leave out the built-in rule pack.
    #[arg(long)]
    no_builtin: bool,
    /// Rule files or directories.
    paths: Vec<PathBuf>,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum ExportFormat {
    /// A Prometheus rule file over `kube_event_count`.
    Prometheus,
    /// The same groups in a Prometheus operator `PrometheusRule` (monitoring.coreos.com/v1).
    PrometheusRule,
}

impl SourceArgs {
    fn sources(&self) -> RuleSources {
        RuleSources {
            builtin: !self.no_builtin,
            paths: self.paths.clone(),
        }
    }
}

/// Runs the subcommand.
pub fn run(args: RulesArgs) -> anyhow::Result<()> {
    match args.command {
        RulesCommand::Check(sources) => {
            let rules = sources.sources().load()?;
            println!("{} rules OK", rules.len());
            Ok(())
        }
        RulesCommand::Export {
            format,
            name,
            sources,
        } => {
            let rules = sources.sources().load()?;
            let (document, skipped) = match format {
                ExportFormat::Prometheus => prometheus_rules(&rules),
                ExportFormat::PrometheusRule => prometheus_rule_object(&rules, &name),
            };
            for (name, why) in skipped {
                println!("# {name} is not exported: {why}");
            }
            print!("{}", serde_saphyr::to_string(&document)?);
            Ok(())
        }
    }
}
