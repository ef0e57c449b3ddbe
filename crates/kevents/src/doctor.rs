//! `kevents doctor`: why events are missing or late. Probes each source cluster through its
//! kubeconfig context, asks the hub for its own checks (`/doctor`: collectors, sinks, refused
//! writes, store), and prints every finding; exits 0 when all are ok, 1 with warnings, 2 with
//! problems.

use clap::Args;
use kevents_cli::hub::HubFlags;
use kevents_cli::render::Output;
use kevents_doctor::{probe_source, render_table, source_findings, Finding, Report, Status};
use std::io::Write;

/// Flags of `kevents doctor`.
#[derive(Args, Debug)]
#[command(after_help = "Examples:
  kevents doctor                                  # the current context and the hub at 127.0.0.1:8080
  kevents doctor --context prod --context staging --server http://hub:8080
  kevents doctor --no-sources -o json             # the hub's checks only, for machines

Exit status: 0 all ok, 1 warnings, 2 problems.")]
pub struct DoctorArgs {
    #[command(flatten)]
    sources: crate::contexts::ContextFlags,
    /// Skip the source clusters.
    #[arg(long, conflicts_with_all = ["contexts", "all_contexts"])]
    no_sources: bool,
    /// Skip the hub.
    #[arg(long)]
    no_hub: bool,
    #[command(flatten)]
    hub: HubFlags,
    /// Output format (`json`: `{"status", "findings": [{area, check, subject, status, summary,
    /// evidence, action}]}`).
    #[arg(short, long, value_enum, default_value = "table")]
    output: Output,
}

/// Runs the checks and prints the report; returns the exit code.
pub fn run(args: DoctorArgs) -> anyhow::Result<i32> {
    let report = kevents_cli::context::runtime()?.block_on(examine(&args));
    let mut out = std::io::stdout().lock();
    match args.output {
        Output::Json => {
            serde_json::to_writer_pretty(&mut out, &report)?;
            writeln!(out)?;
        }
        Output::Table => out.write_all(render_table(&report).as_bytes())?,
    }
    Ok(report.exit_code())
}

async fn examine(args: &DoctorArgs) -> Report {
    let mut findings = Vec::new();
    let mut collected = Vec::new();
    if !args.no_sources {
        match kevents_collect::sources::load(&args.sources.options(false)).await {
            Ok(sources) => {
                for source in sources {
                    findings.extend(source_findings(&probe_source(&source).await));
                    collected.push((source.context.unwrap_or_default(), source.name));
                }
            }
            Err(e) => findings.push(
                Finding::new("source", "kubeconfig", "kubeconfig", Status::Problem,
                    format!("no source cluster to check: {e}"))
                    .action("name contexts with --context (and --kubeconfig), or pass --no-sources to check the hub alone"),
            ),
        }
    }
    if !args.no_hub {
        findings.extend(hub_checks(&args.hub, &collected).await);
    }
    Report::new(findings)
}

/// The hub's findings, and whether it collects each checked context.
async fn hub_checks(hub: &HubFlags, sources: &[(String, String)]) -> Vec<Finding> {
    let unreachable = |why: String| {
        vec![Finding::new(
            "hub",
            "reachable",
            "hub",
            Status::Problem,
            format!(
                "cannot ask the hub at {} for its checks: {why}",
                hub.server()
            ),
        )
        .action("start the hub (`kevents serve`) or name it with --server; --no-hub skips it")]
    };
    let client = match hub.client() {
        Ok(client) => client,
        Err(e) => return unreachable(e.to_string()),
    };
    let report: Report = match client.get("/doctor").await {
        Ok(report) => report,
        Err(e) => return unreachable(e.to_string()),
    };
    let mut findings = vec![Finding::new(
        "hub",
        "reachable",
        "hub",
        Status::Ok,
        format!("the hub at {} answers", hub.server()),
    )];
    for (context, name) in sources {
        let known = report
            .findings
            .iter()
            .any(|f| f.check == "collector-contact" && f.subject == *name);
        if !known {
            findings.push(Finding::new("pipeline", "collected", name, Status::Warning,
                format!("the hub has no cluster {name}: context {context} is not collected"))
                .action(format!("run `kevents collect --context {context} --to {}` (or --cluster-name if it is collected under another name)", hub.server())));
        }
    }
    findings.extend(report.findings);
    findings
}
