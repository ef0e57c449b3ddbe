//! `kevents simulate`: a realistic event stream, printed as NDJSON or written into a hub the
//! way client-go's recorders do (POST new events, PATCH repeats), bounded in count and time.

use anyhow::Context;
use clap::Args;
use kevents_cli::hub::HubFlags;
use kevents_http::hub::{HubClient, HubOptions};
use kevents_model::wire::EventView;
use kevents_model::{parse_go_duration, ApiGroup, Micros};
use kevents_simulate::{labelled_stream, Operation, Simulator};
use std::io::Write;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// Flags of `kevents simulate`.
#[derive(Args, Debug)]
pub struct SimulateArgs {
    /// Hub to write into (`http://` or `https://`; the same as --server); without either,
    /// events are printed as NDJSON.
    #[arg(long, conflicts_with = "server")]
    to: Option<String>,
    /// The hub and how to authenticate; naming one with --server also writes into it.
    #[command(flatten)]
    hub: HubFlags,
    /// Operations to produce (creates plus repeats).
    #[arg(long, default_value_t = 1000)]
    events: u64,
    /// Operations per second when writing to a hub (0: as fast as the hub takes them).
    #[arg(long, default_value_t = 100.0)]
    rate: f64,
    /// Stop after this long even if not all operations were sent (Go duration).
    #[arg(long, default_value = "5m")]
    duration: String,
    /// Share of operations that repeat an earlier event (count++).
    #[arg(long, default_value_t = 0.3)]
    repeat_ratio: f64,
    /// Seed: the same seed gives the same stream.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Connections to the hub.
    #[arg(long, default_value_t = 4)]
    concurrency: usize,
    /// Instead: this many days of a cluster's life up to the last midnight (daily and weekly
    /// rhythm, rollouts, CronJobs) with injected incidents, for judging anomaly detection.
    #[arg(long)]
    days: Option<i64>,
    /// With `--days`: incidents to inject (crash loop storm, node failure, registry outage,
    /// stopped CronJob, new failure message, in turn).
    #[arg(long, default_value_t = 10)]
    incidents: usize,
    /// With `--days`: write the incidents (kind, start, end) here as NDJSON; default stderr.
    #[arg(long)]
    labels: Option<std::path::PathBuf>,
}

impl SimulateArgs {
    /// The hub to write into, when `--to` or `--server` names one.
    fn target(&self) -> Option<HubOptions> {
        let url = self.to.clone().or_else(|| self.hub.server.clone())?;
        Some(HubOptions {
            url,
            ..self.hub.options()
        })
    }
}

/// Runs the simulation.
pub fn run(args: SimulateArgs) -> anyhow::Result<()> {
    let limit = Duration::from_micros(
        parse_go_duration(&args.duration)
            .map_err(anyhow::Error::msg)?
            .max(0) as u64,
    );
    if let Some(days) = args.days {
        return labelled(&args, days);
    }
    let mut simulator = Simulator::new(args.seed, args.repeat_ratio, Micros::now());
    let Some(target) = args.target() else {
        let stdout = std::io::stdout();
        let mut out = std::io::BufWriter::new(stdout.lock());
        for _ in 0..args.events {
            let (Operation::Create(event) | Operation::Repeat(event)) =
                simulator.next_operation(Micros::now());
            serde_json::to_writer(&mut out, &EventView::new(&event, ApiGroup::Core))?;
            out.write_all(b"\n")?;
        }
        out.flush()?;
        return Ok(());
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(send(args, target, simulator, limit))
}

/// `--days`: the labelled stream, printed or written into a hub (one create per event).
fn labelled(args: &SimulateArgs, days: i64) -> anyhow::Result<()> {
    let stream = labelled_stream(days, args.incidents, args.seed, Micros::now());
    let mut labels: Box<dyn Write> = match &args.labels {
        Some(path) => Box::new(
            std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?,
        ),
        None => Box::new(std::io::stderr()),
    };
    for incident in &stream.incidents {
        let line = serde_json::json!({
            "kind": incident.kind.as_str(),
            "start": incident.start.to_time_string(),
            "end": incident.end.to_time_string(),
        });
        writeln!(labels, "{line}")?;
    }
    let records = stream
        .events
        .iter()
        .enumerate()
        .map(|(i, e)| e.to_record(i));
    let Some(target) = args.target() else {
        let stdout = std::io::stdout();
        let mut out = std::io::BufWriter::new(stdout.lock());
        for record in records {
            serde_json::to_writer(&mut out, &EventView::new(&record, ApiGroup::Core))?;
            out.write_all(b"\n")?;
        }
        return Ok(out.flush()?);
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(async {
        let client = HubClient::new(&target)?;
        let mut failed = 0u64;
        for record in records {
            if kevents_simulate::create(&client, &record).await? != 201 {
                failed += 1;
            }
        }
        println!(
            "sent {} events of {days} days with {} incidents, {failed} failed",
            stream.events.len(),
            stream.incidents.len()
        );
        anyhow::ensure!(failed == 0, "{failed} creates failed");
        Ok(())
    })
}

#[derive(Default)]
struct Tally {
    created: u64,
    repeated: u64,
    failed: u64,
}

async fn send(
    args: SimulateArgs,
    target: HubOptions,
    mut simulator: Simulator,
    limit: Duration,
) -> anyhow::Result<()> {
    let hub = HubClient::new(&target)?;
    let url = target.url;
    let workers = args.concurrency.max(1);
    let mut senders = Vec::new();
    let mut handles = Vec::new();
    for _ in 0..workers {
        let (sender, mut receiver) = mpsc::channel::<Operation>(256);
        let client = hub.clone();
        senders.push(sender);
        handles.push(tokio::spawn(async move {
            let mut tally = Tally::default();
            while let Some(operation) = receiver.recv().await {
                let (status, ok, repeat) = match &operation {
                    Operation::Create(event) => {
                        let status = kevents_simulate::create(&client, event).await?;
                        (status, status == 201, false)
                    }
                    Operation::Repeat(event) => {
                        let status = kevents_simulate::repeat(&client, event).await?;
                        (status, status == 200 || status == 201, true)
                    }
                };
                match (ok, repeat) {
                    (true, false) => tally.created += 1,
                    (true, true) => tally.repeated += 1,
                    (false, _) => {
                        tally.failed += 1;
                        eprintln!("hub answered {status}");
                    }
                }
            }
            anyhow::Ok(tally)
        }));
    }
    let started = Instant::now();
    let mut produced = 0u64;
    while produced < args.events && started.elapsed() < limit {
        if args.rate > 0.0 {
            let due = started + Duration::from_secs_f64(produced as f64 / args.rate);
            tokio::time::sleep_until(due.into()).await;
        }
        let operation = simulator.next_operation(Micros::now());
        let (Operation::Create(event) | Operation::Repeat(event)) = &operation;
        // One worker per event name keeps a repeat behind its create.
        let shard = event
            .name
            .bytes()
            .fold(0usize, |h, b| h.wrapping_mul(31).wrapping_add(b as usize));
        let worker = shard % workers;
        if senders[worker].send(operation).await.is_err() {
            // The worker ended early: its error says why (the hub went away, ...).
            drop(senders);
            return Err(match handles.swap_remove(worker).await {
                Ok(Err(error)) => error.context(format!("writing to {url}")),
                Ok(Ok(_)) => anyhow::anyhow!("writing to {url}: a connection stopped"),
                Err(join) => join.into(),
            });
        }
        produced += 1;
    }
    drop(senders);
    let mut total = Tally::default();
    for handle in handles {
        let tally = handle.await??;
        total.created += tally.created;
        total.repeated += tally.repeated;
        total.failed += tally.failed;
    }
    let elapsed = started.elapsed().as_secs_f64();
    println!(
        "sent {produced} operations in {elapsed:.1}s ({:.0}/s): {} created, {} repeats patched, {} failed",
        produced as f64 / elapsed.max(f64::EPSILON),
        total.created,
        total.repeated,
        total.failed
    );
    if total.failed > 0 {
        anyhow::bail!("{} operations failed", total.failed);
    }
    Ok(())
}
