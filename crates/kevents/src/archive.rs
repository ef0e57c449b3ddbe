//! `kevents archive list|restore|serve`: what an archive (an `archive` sink of `serve --sinks`)
//! holds, bringing a range of it back into a hub through its API, idempotently (the import's
//! create-or-compare per event), and serving a range through the Kubernetes API from a hub of
//! its own.

use anyhow::Context as _;
use clap::{Args, Subcommand, ValueEnum};
use kevents_archive::reader::{read_latest, Selection};
use kevents_archive::writer::read_manifest;
use kevents_archive::{ArchiveConfig, Location};
use kevents_cli::context::{parse_time, HubArgs};
use kevents_cli::hub::Hub;
use kevents_cli::import::{import_one, Outcome};
use kevents_model::wire::EventView;
use kevents_model::{ApiGroup, EventRecord, Micros};

/// Flags of `kevents archive`.
#[derive(Args, Debug)]
pub struct ArchiveArgs {
    #[command(subcommand)]
    command: ArchiveCommand,
}

#[derive(Subcommand, Debug)]
enum ArchiveCommand {
    /// List the archive's Parquet objects with their cluster, time range and rows.
    #[command(after_help = "Examples:
  kevents archive list --url file:///var/lib/kevents-archive
  AWS_ACCESS_KEY_ID=... AWS_SECRET_ACCESS_KEY=... kevents archive list --url s3://bucket/kevents \\
      --cluster prod --from 2026-01-02T00:00:00Z -o json")]
    List {
        #[command(flatten)]
        archive: ArchiveFlags,
        /// Output format.
        #[arg(short, long, value_enum, default_value = "table")]
        output: ListFormat,
    },
    /// Write the latest archived version of each event in the range into a hub; restoring
    /// twice adds nothing.
    #[command(after_help = "Examples:
  kevents archive restore --url file:///var/lib/kevents-archive --from 2026-01-02T00:00:00Z \\
      --to 2026-01-03T00:00:00Z --server http://127.0.0.1:8080")]
    Restore {
        #[command(flatten)]
        archive: ArchiveFlags,
        /// Requests in flight at once.
        #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..=256))]
        concurrency: u16,
        #[command(flatten)]
        hub: HubArgs,
    },
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

/// Output formats of `kevents archive list`.
#[derive(Clone, Copy, Debug, ValueEnum)]
enum ListFormat {
    /// A table and a total.
    Table,
    /// The selected manifest entries as JSON.
    Json,
}

/// Where the archive is and which part of it.
#[derive(Args, Debug)]
struct ArchiveFlags {
    /// The archive, as in the sink's `archive.url`: `s3://bucket/prefix` or `file:///dir`.
    #[arg(long, env = "KEVENTS_ARCHIVE_URL")]
    url: String,
    /// Endpoint of an S3-compatible server (default: AWS_ENDPOINT, else AWS; credentials come
    /// from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY).
    #[arg(long)]
    endpoint: Option<String>,
    /// S3 region (default: AWS_REGION, else us-east-1).
    #[arg(long)]
    region: Option<String>,
    /// Allow an `http://` endpoint.
    #[arg(long)]
    allow_http: bool,
    /// Only this cluster (the hub's own events are under its `--cluster-name`).
    #[arg(long)]
    cluster: Option<String>,
    /// Only events last seen at or after this time (RFC 3339).
    #[arg(long, value_parser = parse_time)]
    from: Option<Micros>,
    /// Only events last seen at or before this time (RFC 3339).
    #[arg(long, value_parser = parse_time)]
    to: Option<Micros>,
}

impl ArchiveFlags {
    fn open(&self) -> anyhow::Result<Location> {
        let s3 = self.url.starts_with("s3://");
        let config = ArchiveConfig {
            url: self.url.clone(),
            endpoint: self.endpoint.clone().filter(|_| s3),
            region: self.region.clone().filter(|_| s3),
            allow_http: (s3 && self.allow_http).then_some(true),
            ..ArchiveConfig::default()
        };
        Ok(Location::open(&config)?)
    }

    fn selection(&self) -> Selection {
        Selection {
            cluster: self.cluster.clone(),
            from: self.from,
            to: self.to,
        }
    }
}

/// Runs `kevents archive`.
pub fn run(args: ArchiveArgs) -> anyhow::Result<()> {
    let runtime = kevents_cli::context::runtime()?;
    match args.command {
        ArchiveCommand::List { archive, output } => runtime.block_on(list(archive, output)),
        ArchiveCommand::Restore {
            archive,
            concurrency,
            hub,
        } => runtime.block_on(async {
            let url = hub.connect().await?.hub.url().to_string();
            restore(archive, concurrency, url).await
        }),
        ArchiveCommand::Serve { archive, listen } => serve(&runtime, archive, listen),
    }
}

/// Starts a hub on `listen` with a temporary store, restores the range into it and serves
/// until the hub stops; the store is removed afterwards.
fn serve(
    runtime: &tokio::runtime::Runtime,
    archive: ArchiveFlags,
    listen: std::net::SocketAddr,
) -> anyhow::Result<()> {
    use clap::Parser as _;
    // Read the archive first: a bad URL or credentials fail before anything listens.
    runtime.block_on(list_objects(&archive))?;
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
    let restored = runtime.block_on(restore(archive, 8, format!("http://{listen}")));
    if let Err(e) = &restored {
        eprintln!("error: {e:#}");
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

/// Fails when the archive's manifest cannot be read.
async fn list_objects(flags: &ArchiveFlags) -> anyhow::Result<()> {
    let location = flags.open()?;
    read_manifest(&location)
        .await
        .with_context(|| format!("reading {}", location.url()))?;
    Ok(())
}

async fn list(flags: ArchiveFlags, output: ListFormat) -> anyhow::Result<()> {
    let location = flags.open()?;
    let manifest = read_manifest(&location).await?;
    let selected = manifest.select(flags.cluster.as_deref(), flags.from, flags.to);
    if let ListFormat::Json = output {
        let json = serde_json::json!({"url": location.url(), "objects": selected});
        println!("{}", serde_json::to_string_pretty(&json)?);
        return Ok(());
    }
    let rows: Vec<Vec<String>> = selected
        .iter()
        .map(|o| {
            vec![
                o.path.clone(),
                o.cluster.clone(),
                o.from.clone(),
                o.to.clone(),
                o.rows.to_string(),
                format!("{}-{}", o.first_resource_version, o.last_resource_version),
            ]
        })
        .collect();
    let headers = ["OBJECT", "CLUSTER", "FROM", "TO", "ROWS", "VERSIONS"];
    for line in kevents_cli::render::table(&headers, &rows) {
        println!("{line}");
    }
    let total: u64 = selected.iter().map(|o| o.rows).sum();
    let bytes: u64 = selected.iter().map(|o| o.bytes).sum();
    println!(
        "{} objects, {total} rows (archived event versions), {bytes} bytes",
        selected.len()
    );
    Ok(())
}

#[derive(Default)]
struct Tally {
    restored: u64,
    skipped: u64,
    rejected: Vec<String>,
}

/// Creates each event in its cluster: `/clusters/<name>/…` (the hub's own name means its own
/// events), or the root for rows without a cluster.
async fn restore_part(url: String, events: Vec<(String, EventRecord)>) -> anyhow::Result<Tally> {
    let mut hub = Hub::new(&url).await?;
    let mut tally = Tally::default();
    for (cluster, record) in events {
        let prefix = match cluster.as_str() {
            "" => String::new(),
            name => format!("/clusters/{name}"),
        };
        let value = serde_json::to_value(EventView::new(&record, ApiGroup::Core))?;
        match import_one(&mut hub, &prefix, value).await? {
            Outcome::Imported => tally.restored += 1,
            Outcome::Skipped => tally.skipped += 1,
            Outcome::Rejected(why) => tally.rejected.push(format!("{cluster}: {why}")),
        }
    }
    Ok(tally)
}

async fn restore(flags: ArchiveFlags, concurrency: u16, url: String) -> anyhow::Result<()> {
    let location = flags.open()?;
    let found = read_latest(&location, &flags.selection())
        .await
        .with_context(|| format!("reading {}", location.url()))?;
    eprintln!(
        "read {} objects: {} archived versions, {} events in the range",
        found.objects,
        found.rows,
        found.events.len()
    );
    let workers = usize::from(concurrency);
    let mut parts: Vec<Vec<(String, EventRecord)>> = vec![Vec::new(); workers];
    for (i, event) in found.events.into_iter().enumerate() {
        parts[i % workers].push(event);
    }
    let mut tasks = tokio::task::JoinSet::new();
    for part in parts.into_iter().filter(|p| !p.is_empty()) {
        tasks.spawn(restore_part(url.clone(), part));
    }
    let mut total = Tally::default();
    while let Some(done) = tasks.join_next().await {
        let tally = done.context("a restore task failed")??;
        total.restored += tally.restored;
        total.skipped += tally.skipped;
        total.rejected.extend(tally.rejected);
    }
    println!(
        "restored {}, skipped {} (already present), rejected {}",
        total.restored,
        total.skipped,
        total.rejected.len()
    );
    total.rejected.sort();
    for reason in total.rejected.iter().take(20) {
        println!("  rejected {reason}");
    }
    if !total.rejected.is_empty() {
        anyhow::bail!("{} event(s) rejected", total.rejected.len());
    }
    Ok(())
}
