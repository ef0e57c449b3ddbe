//! `kevents`: keep, query, alert on and ship Kubernetes Events.

mod alert_list;
mod allocator;
mod archive;
mod catchup;
mod certs;
mod collect;
mod contexts;
mod correlation;
mod doctor;
mod doctor_endpoint;
mod duration_flag;
mod embedded;
mod etcd;
mod head_errors;
mod listen;
mod memory;
mod metrics;
mod periodic;
mod rules;
mod series;
mod serve;
mod simulate;
mod sinks;
mod triggers;
mod ui;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "kevents",
    version,
    about = "Keep, query, alert on and ship Kubernetes Events"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

// Parsed once per process, so the size of the largest variant does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand)]
enum Command {
    /// Run the hub: a Kubernetes-compatible Events API server over a durable store.
    Serve(serve::ServeArgs),
    /// Generate a self-signed CA and a server certificate for trying TLS.
    Certs(certs::CertsArgs),
    /// Check rule files, or export them for Prometheus.
    Rules(rules::RulesArgs),
    /// Generate a realistic event stream: NDJSON on stdout, or written into a hub (`--to`).
    Simulate(simulate::SimulateArgs),
    /// Check a sinks file (`serve --sinks`).
    Sinks(sinks::SinksArgs),
    /// Check a triggers file (`serve --triggers`), or pause and resume a hub's trigger.
    Triggers(triggers::TriggersArgs),
    /// Watch the Events of Kubernetes clusters and write them into a hub, exactly once.
    Collect(collect::CollectArgs),
    /// Find out why events are missing or late: checks of source clusters, collectors, sinks and
    /// the hub, each ok, warning or problem, with the evidence and what to do.
    Doctor(doctor::DoctorArgs),
    /// List an event archive (an `archive` sink's Parquet objects) or restore a range of it.
    Archive(archive::ArchiveArgs),
    #[command(flatten)]
    Hub(kevents_cli::Command),
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Serve(args) => serve::run(args),
        Command::Simulate(args) => simulate::run(args),
        Command::Rules(args) => rules::run(args),
        Command::Hub(command) => {
            kevents_cli::main(command, <Cli as clap::CommandFactory>::command())
        }
        Command::Certs(args) => certs::run(args),
        Command::Sinks(args) => sinks::run(args),
        Command::Triggers(args) => triggers::run(args),
        Command::Collect(args) => collect::run(args),
        Command::Doctor(args) => std::process::exit(doctor::run(args)?),
        Command::Archive(args) => archive::run(args, <Cli as clap::CommandFactory>::command()),
    }
}
