//! `kevents`: keep, query, alert on and ship Kubernetes Events.

mod serve;

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

#[derive(Subcommand)]
enum Command {
    /// Run the hub: a Kubernetes-compatible Events API server over a durable store.
    Serve(serve::ServeArgs),
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Serve(args) => serve::run(args),
    }
}
