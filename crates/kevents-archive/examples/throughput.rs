//! Archive throughput: appends synthetic event versions in batches to an archive and reads them
//! back, printing events per second and bytes per event.
//!
//! `cargo run --release -p kevents-archive --example throughput -- URL [EVENTS] [BATCH]`, e.g.
//! `file:///tmp/bench-archive`, or `s3://bucket/prefix` with `AWS_ENDPOINT`, `AWS_ALLOW_HTTP`,
//! `AWS_ACCESS_KEY_ID` and `AWS_SECRET_ACCESS_KEY` set for an S3-compatible server.

use kevents_archive::columns::Row;
use kevents_archive::reader::{read_latest, Selection};
use kevents_archive::{ArchiveConfig, Archiver, Location};
use kevents_model::{EventRecord, Micros};
use std::time::Instant;

const REASONS: [(&str, &str); 4] = [
    ("BackOff", "Back-off restarting failed container app in pod"),
    (
        "Pulled",
        "Successfully pulled image \"registry.local/app:1.4.2\" in 812ms",
    ),
    (
        "FailedScheduling",
        "0/12 nodes are available: 3 Insufficient cpu, 9 node(s) had untolerated taint",
    ),
    (
        "Unhealthy",
        "Readiness probe failed: HTTP probe failed with statuscode: 503",
    ),
];

/// Event version `i`: 2,000 distinct events across 40 namespaces, each updated repeatedly.
fn event(i: usize, start: Micros) -> EventRecord {
    let id = i % 2000;
    let (reason, message) = REASONS[id % REASONS.len()];
    let mut record = EventRecord {
        namespace: format!("team-{}", id % 40),
        name: format!("app{id}-7d9f8b6c5-x{id:04}.{:x}", 0x17a0_0000 + id),
        uid: format!("{:08x}-0000-4000-8000-{:012x}", id, id * 7919),
        resource_version: i as u64 + 1,
        event_type: ["Warning", "Normal", "Normal"][id % 3].into(),
        reason: reason.into(),
        message: format!("{message} ({id})"),
        source_component: "kubelet".into(),
        source_host: format!("node-{}", id % 25),
        count: i32::try_from(i / 2000 + 1).unwrap_or(i32::MAX),
        first_timestamp: Some(start),
        last_timestamp: Some(Micros(start.0 + i as i64 * 1_000_000)),
        creation_timestamp: Some(start),
        ..Default::default()
    };
    record.involved_object.kind = "Pod".into();
    record.involved_object.namespace = record.namespace.clone();
    record.involved_object.name = format!("app{id}-7d9f8b6c5-x{id:04}");
    record.involved_object.api_version = "v1".into();
    record
}

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let url = args.next().expect("usage: throughput URL [EVENTS] [BATCH]");
    let total: usize = args.next().map_or(200_000, |n| n.parse().expect("EVENTS"));
    let batch: usize = args.next().map_or(10_000, |n| n.parse().expect("BATCH"));
    let config = ArchiveConfig {
        url,
        ..Default::default()
    };
    let location = Location::open(&config).expect("opening the archive");
    let archiver = Archiver::new(location.clone());
    let start = Micros::parse("2026-01-02T00:00:00Z").expect("a valid time");
    let events: Vec<EventRecord> = (0..total).map(|i| event(i, start)).collect();

    let began = Instant::now();
    let mut bytes = 0;
    for chunk in events.chunks(batch) {
        let rows: Vec<Row> = chunk
            .iter()
            .map(|record| Row {
                cluster: "default",
                record,
            })
            .collect();
        let added = archiver.append(&rows).await.expect("archiving");
        bytes += added.iter().map(|o| o.bytes).sum::<u64>();
    }
    let written = began.elapsed().as_secs_f64();

    let began = Instant::now();
    let restored = read_latest(&location, &Selection::default())
        .await
        .expect("reading back");
    let read = began.elapsed().as_secs_f64();
    println!(
        "{} events in batches of {batch}: archived in {written:.2} s ({:.0} events/s), \
         {:.1} bytes/event; read back and deduplicated in {read:.2} s ({:.0} events/s) \
         to {} latest versions",
        total,
        total as f64 / written,
        bytes as f64 / total as f64,
        restored.rows as f64 / read,
        restored.events.len(),
    );
}
