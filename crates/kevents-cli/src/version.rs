//! `kevents version`: this binary's version, and the hub's when it can be reached.

use crate::context::HubArgs;
use crate::error::Result;
use clap::Args;
use serde_json::Value;

/// Flags of `kevents version`.
#[derive(Args, Debug)]
pub struct VersionArgs {
    /// Only this binary's version; do not ask the hub.
    #[arg(long)]
    client: bool,
    #[command(flatten)]
    hub: HubArgs,
}

/// Runs `kevents version`.
pub async fn run(args: VersionArgs) -> Result<()> {
    println!("kevents {}", env!("CARGO_PKG_VERSION"));
    if args.client {
        return Ok(());
    }
    let context = args.hub.connect().await?;
    let version = context.hub.get::<serde_json::Value>("/version").await?;
    let git_version = version
        .get("gitVersion")
        .and_then(Value::as_str)
        .unwrap_or("unknown");
    println!("hub {} at {}", git_version, context.hub.url());
    Ok(())
}
