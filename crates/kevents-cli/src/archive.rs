//! `kevents archive list|restore`: what an archive (an `archive` sink of `serve --sinks`) holds,
//! and bringing a range of it back into a hub through its API, idempotently (the import's
//! create-or-compare per event). The archive's format is `kevents-archive`'s; `archive serve`,
//! which starts a hub of its own, is the binary's.

use crate::context::{parse_time, HubArgs};
use crate::error::{CliError, Result};
use crate::import::{import_one, Outcome};
use clap::{Args, Subcommand, ValueEnum};
use kevents_archive::reader::{read_latest, Selection};
use kevents_archive::writer::read_manifest;
use kevents_archive::{ArchiveConfig, ArchiveError, Location};
use kevents_http::hub::HubClient;
use kevents_model::wire::EventView;
use kevents_model::{ApiGroup, EventRecord, Micros};

/// The subcommands of `kevents archive` that read an archive and talk to a hub.
#[derive(Subcommand, Debug)]
pub enum ArchiveCommand {
    /// List the archive's Parquet objects with their cluster, time range and rows.
    #[command(after_help = "Examples:
  kevents archive list --url file:///var/lib/kevents-archive
  AWS_ACCESS_KEY_ID=... AWS_SECRET_ACCESS_KEY=... kevents archive list --url s3://bucket/kevents \\
      --cluster prod --from 2026-01-02T00:00:00Z -o json")]
    List {
        /// The archive and the part of it.
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
        /// The archive and the part of it.
        #[command(flatten)]
        archive: ArchiveFlags,
        /// Requests in flight at once.
        #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..=256))]
        concurrency: u16,
        /// The hub to restore into.
        #[command(flatten)]
        hub: HubArgs,
    },
}

/// Output formats of `kevents archive list`.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum ListFormat {
    /// A table and a total.
    Table,
    /// The selected manifest entries as JSON.
    Json,
}

/// Where the archive is and which part of it.
#[derive(Args, Debug)]
pub struct ArchiveFlags {
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

fn archive_error(error: ArchiveError) -> CliError {
    CliError::Invalid(error.to_string())
}

impl ArchiveFlags {
    fn open(&self) -> Result<Location> {
        let s3 = self.url.starts_with("s3://");
        let config = ArchiveConfig {
            url: self.url.clone(),
            endpoint: self.endpoint.clone().filter(|_| s3),
            region: self.region.clone().filter(|_| s3),
            allow_http: (s3 && self.allow_http).then_some(true),
            ..ArchiveConfig::default()
        };
        Location::open(&config).map_err(archive_error)
    }

    fn selection(&self) -> Selection {
        Selection {
            cluster: self.cluster.clone(),
            from: self.from,
            to: self.to,
        }
    }

    /// Fails when the archive's manifest cannot be read.
    pub async fn check(&self) -> Result<()> {
        let location = self.open()?;
        read_manifest(&location)
            .await
            .map_err(|e| CliError::Invalid(format!("reading {}: {e}", location.url())))?;
        Ok(())
    }
}

/// Runs `kevents archive list|restore`.
pub async fn run(command: ArchiveCommand) -> Result<()> {
    match command {
        ArchiveCommand::List { archive, output } => list(archive, output).await,
        ArchiveCommand::Restore {
            archive,
            concurrency,
            hub,
        } => restore(&archive, concurrency, &hub.connect().await?.hub).await,
    }
}

fn print(line: impl std::fmt::Display) -> Result<()> {
    use std::io::Write;
    writeln!(std::io::stdout().lock(), "{line}").map_err(|e| CliError::io("writing stdout", e))
}

async fn list(flags: ArchiveFlags, output: ListFormat) -> Result<()> {
    let location = flags.open()?;
    let manifest = read_manifest(&location).await.map_err(archive_error)?;
    let selected = manifest.select(flags.cluster.as_deref(), flags.from, flags.to);
    if let ListFormat::Json = output {
        let json = serde_json::json!({"url": location.url(), "objects": selected});
        return print(serde_json::to_string_pretty(&json).expect("a JSON value prints"));
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
    for line in crate::render::table(&headers, &rows) {
        print(line)?;
    }
    let total: u64 = selected.iter().map(|o| o.rows).sum();
    let bytes: u64 = selected.iter().map(|o| o.bytes).sum();
    print(format!(
        "{} objects, {total} rows (archived event versions), {bytes} bytes",
        selected.len()
    ))
}

#[derive(Default)]
struct Tally {
    restored: u64,
    skipped: u64,
    rejected: Vec<String>,
}

/// Creates each event in its cluster: `/clusters/<name>/…` (the hub's own name means its own
/// events), or the root for rows without a cluster.
async fn restore_part(hub: HubClient, events: Vec<(String, EventRecord)>) -> Result<Tally> {
    let mut tally = Tally::default();
    for (cluster, record) in events {
        let prefix = match cluster.as_str() {
            "" => String::new(),
            name => format!("/clusters/{name}"),
        };
        let value = serde_json::to_value(EventView::new(&record, ApiGroup::Core))
            .expect("an event view is plain JSON");
        match import_one(&hub, &prefix, value).await? {
            Outcome::Imported => tally.restored += 1,
            Outcome::Skipped => tally.skipped += 1,
            Outcome::Rejected(why) => tally.rejected.push(format!("{cluster}: {why}")),
        }
    }
    Ok(tally)
}

/// Writes the latest archived version of each event the flags select into `hub`, with
/// `concurrency` requests in flight; fails when any event was rejected.
pub async fn restore(flags: &ArchiveFlags, concurrency: u16, hub: &HubClient) -> Result<()> {
    let location = flags.open()?;
    let found = read_latest(&location, &flags.selection())
        .await
        .map_err(|e| CliError::Invalid(format!("reading {}: {e}", location.url())))?;
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
        tasks.spawn(restore_part(hub.clone(), part));
    }
    let mut total = Tally::default();
    while let Some(done) = tasks.join_next().await {
        let tally =
            done.map_err(|e| CliError::Invalid(format!("a restore task failed: {e}")))??;
        total.restored += tally.restored;
        total.skipped += tally.skipped;
        total.rejected.extend(tally.rejected);
    }
    print(format!(
        "restored {}, skipped {} (already present), rejected {}",
        total.restored,
        total.skipped,
        total.rejected.len()
    ))?;
    total.rejected.sort();
    for reason in total.rejected.iter().take(20) {
        print(format!("  rejected {reason}"))?;
    }
    if !total.rejected.is_empty() {
        return Err(CliError::Invalid(format!(
            "{} event(s) rejected",
            total.rejected.len()
        )));
    }
    Ok(())
}
