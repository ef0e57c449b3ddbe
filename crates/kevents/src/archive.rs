//! `kevents archive`: `list` and `restore` are `kevents-cli`'s (they read an archive and talk
//! to a hub); `serve` is the binary's, because it starts a hub of its own: the archived range is
//! restored into it, with a store in a temporary directory, and served through the Kubernetes
//! API until SIGINT or SIGTERM.

use clap::{Args, Subcommand};
use kevents_cli::archive::ArchiveFlags;
use kevents_http::hub::{HubClient, HubOptions};

/// Flags of `kevents archive`.
#[derive(Args, Debug)]
pub struct ArchiveArgs {
    #[command(subcommand)]
    command: ArchiveCommand,
}

#[derive(Subcommand, Debug)]
enum ArchiveCommand {
    #[command(flatten)]
    Hub(kevents_cli::archive::ArchiveCommand),
    /// Serve an archived range through the Kubernetes API (kubectl, client-go, `kevents get`):
    /// the range is restored into a hub of its own, with a store in a temporary directory,
    /// which answers until SIGINT or SIGTERM.
    #[command(after_help = "Examples:
  kevents archive serve --url s3://bucket/kevents --from 2026-01-02T00:00:00Z \
      --to 2026-01-03T00:00:00Z --listen 127.0.0.1:8081
  kubectl --server http://127.0.0.1:8081 get events -A")]
    Serve {
        #[command(flatten)]
        archive: ArchiveFlags,
        /// Address the hub listens on.
        #[arg(long, default_value = "127.0.0.1:8081")]
        listen: std::net::SocketAddr,
    },
}

/// `kevents serve`'s flags, parsed on their own for the hub of `archive serve`.
#[derive(clap::Parser, Debug)]
struct ServeFlags {
    #[command(flatten)]
    serve: crate::serve::ServeArgs,
}

/// Runs `kevents archive`; `cli` is the whole `kevents` command.
pub fn run(args: ArchiveArgs, cli: clap::Command) -> anyhow::Result<()> {
    match args.command {
        ArchiveCommand::Hub(command) => {
            kevents_cli::main(kevents_cli::Command::Archive(command), cli)
        }
        ArchiveCommand::Serve { archive, listen } => serve(archive, listen),
    }
}

/// Starts a hub on `listen` with a temporary store, restores the range into it and serves
/// until the hub stops; the store is removed afterwards.
fn serve(archive: ArchiveFlags, listen: std::net::SocketAddr) -> anyhow::Result<()> {
    use clap::Parser as _;
    let runtime = kevents_cli::context::runtime()?;
    // Read the archive first: a bad URL or credentials fail before anything listens.
    runtime.block_on(archive.check())?;
    let dir = std::env::temp_dir().join(format!("kevents-archive-serve-{}", std::process::id()));
    let flags = ServeFlags::try_parse_from([
        "kevents-archive-serve".into(),
        "--listen".into(),
        listen.to_string(),
        "--data-dir".into(),
        dir.display().to_string(),
    ])?;
    let hub = std::thread::spawn(move || crate::serve::run(flags.serve));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while std::net::TcpStream::connect(listen).is_err() {
        if hub.is_finished() || std::time::Instant::now() > deadline {
            let outcome = hub.join();
            let _ = std::fs::remove_dir_all(&dir);
            return match outcome {
                Ok(Err(e)) => Err(e.context("starting the hub")),
                _ => Err(anyhow::anyhow!(
                    "the hub did not start listening on {listen}"
                )),
            };
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let restored = runtime.block_on(async {
        let client = HubClient::new(&HubOptions {
            url: format!("http://{listen}"),
            ..HubOptions::default()
        })?;
        kevents_cli::archive::restore(&archive, 8, &client).await
    });
    if let Err(e) = &restored {
        eprintln!("error: {e}");
    }
    eprintln!(
        "serving the archived range on http://{listen} (kubectl --server http://{listen} get events -A); \
         Ctrl-C stops it"
    );
    let served = hub
        .join()
        .map_err(|_| anyhow::anyhow!("the hub panicked"))?;
    let _ = std::fs::remove_dir_all(&dir);
    served
}
