//! `kevents completion bash|zsh|fish`: shell completion scripts.

use crate::error::{CliError, Result};
use clap::Args;
use clap_complete::Shell;
use std::io::Write;

/// Flags of `kevents completion`.
#[derive(Args, Debug)]
pub struct CompletionArgs {
    /// The shell to complete for.
    #[arg(value_parser = ["bash", "zsh", "fish"])]
    shell: String,
}

/// Prints the completion script of `command` (the whole `kevents` CLI) for the shell.
pub fn run(args: CompletionArgs, mut command: clap::Command) -> Result<()> {
    let shell = match args.shell.as_str() {
        "zsh" => Shell::Zsh,
        "fish" => Shell::Fish,
        _ => Shell::Bash,
    };
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut command, "kevents", &mut script);
    std::io::stdout()
        .write_all(&script)
        .map_err(|e| CliError::io("writing to stdout", e))
}
