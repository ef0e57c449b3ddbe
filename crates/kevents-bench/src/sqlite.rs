//! The SQLite anchor: an events table with the indexes a sensible person would add, WAL mode,
//! `synchronous=FULL` so every commit is fsynced, like kevents' acknowledged writes.

use crate::latencies::Latencies;
use kevents_model::wire::EventView;
use kevents_model::{ApiGroup, EventRecord};
use std::path::Path;
use std::time::Instant;

/// Inserts `events` in transactions of `batch` rows; returns events/s and per-commit latencies.
pub fn ingest(
    path: &Path,
    events: &[EventRecord],
    batch: usize,
) -> anyhow::Result<(f64, Latencies)> {
    let mut db = rusqlite::Connection::open(path)?;
    db.execute_batch(
        "PRAGMA journal_mode=WAL;
         PRAGMA synchronous=FULL;
         CREATE TABLE events (
             rv INTEGER PRIMARY KEY,
             namespace TEXT NOT NULL,
             name TEXT NOT NULL,
             involved_kind TEXT, involved_name TEXT, type TEXT, reason TEXT,
             last_seen INTEGER,
             body TEXT NOT NULL);
         CREATE UNIQUE INDEX events_key ON events(namespace, name);
         CREATE INDEX events_object ON events(involved_name, involved_kind);
         CREATE INDEX events_type ON events(namespace, type, last_seen);
         CREATE INDEX events_time ON events(last_seen);",
    )?;
    let started = Instant::now();
    let mut latencies = Vec::new();
    let mut rv = 0i64;
    for chunk in events.chunks(batch.max(1)) {
        let t = Instant::now();
        let tx = db.transaction()?;
        {
            let mut insert = tx.prepare_cached(
                "INSERT INTO events (rv, namespace, name, involved_kind, involved_name, type, reason, last_seen, body)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            )?;
            for event in chunk {
                rv += 1;
                let body = serde_json::to_string(&EventView::new(event, ApiGroup::Core))?;
                insert.execute(rusqlite::params![
                    rv,
                    event.namespace,
                    event.name,
                    event.involved_object.kind,
                    event.involved_object.name,
                    event.event_type,
                    event.reason,
                    event.last_seen().map(|t| t.0),
                    body,
                ])?;
            }
        }
        tx.commit()?;
        latencies.push(t.elapsed());
    }
    Ok((
        events.len() as f64 / started.elapsed().as_secs_f64(),
        Latencies(latencies),
    ))
}

/// Bytes of the database and its WAL.
pub fn file_bytes(path: &Path) -> u64 {
    let wal = path.with_extension("db-wal");
    [path.to_path_buf(), wal]
        .iter()
        .filter_map(|p| std::fs::metadata(p).ok())
        .map(|m| m.len())
        .sum()
}
