//! The SQLite anchor of the scale bench: the same events in `kevents-bench`'s events table
//! (with an occurrences column), loaded after kevents' ingest, and the same questions asked of
//! it in the query process.

use super::measure::measure;
use super::workload::{workload, HOUR};
use anyhow::Result;
use kevents_model::{ApiGroup, EventKey, EventRecord, Micros};

/// The SQLite anchor's database in a store directory.
pub(crate) fn path(dir: &std::path::Path) -> std::path::PathBuf {
    dir.join("anchor.sqlite")
}

/// Creates the anchor's table: the columns and indexes of `kevents-bench`'s SQLite anchor, plus
/// occurrences. Loading is not what is measured here, so commits are not fsynced.
fn open(dir: &std::path::Path) -> Result<rusqlite::Connection> {
    let db = rusqlite::Connection::open(path(dir))?;
    db.execute_batch(
        "PRAGMA journal_mode=WAL;
         PRAGMA synchronous=OFF;
         CREATE TABLE IF NOT EXISTS events (
             rv INTEGER PRIMARY KEY,
             namespace TEXT NOT NULL,
             name TEXT NOT NULL,
             involved_kind TEXT, involved_name TEXT, type TEXT, reason TEXT,
             last_seen INTEGER, occurrences INTEGER,
             body TEXT NOT NULL);
         CREATE UNIQUE INDEX IF NOT EXISTS events_key ON events(namespace, name);
         CREATE INDEX IF NOT EXISTS events_object ON events(involved_name, involved_kind);
         CREATE INDEX IF NOT EXISTS events_type ON events(namespace, type, last_seen);
         CREATE INDEX IF NOT EXISTS events_time ON events(last_seen);",
    )?;
    Ok(db)
}

fn insert(db: &mut rusqlite::Connection, events: &[EventRecord]) -> Result<()> {
    let tx = db.transaction()?;
    {
        let mut insert = tx.prepare_cached(
            "INSERT OR IGNORE INTO events (namespace, name, involved_kind, involved_name, type, \
             reason, last_seen, occurrences, body) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        )?;
        for event in events {
            let body =
                serde_json::to_string(&kevents_model::wire::EventView::new(event, ApiGroup::Core))?;
            insert.execute(rusqlite::params![
                event.namespace,
                event.name,
                event.involved_object.kind,
                event.involved_object.name,
                event.event_type,
                event.reason,
                event.seen_at().0,
                event.occurrences().max(1),
                body,
            ])?;
        }
    }
    tx.commit()?;
    Ok(())
}

/// Loads `events` events of the seeded workload starting at `start`, `step` apart, in batches of
/// `batch`: the same events kevents ingested, after its ingest so neither slows the other's
/// measurement.
pub(crate) fn load(
    dir: &std::path::Path,
    events: usize,
    batch: usize,
    start: Micros,
    step: i64,
) -> Result<()> {
    let mut db = open(dir)?;
    let mut workload = workload(start, step);
    let mut loaded = 0;
    while loaded < events {
        let records: Vec<EventRecord> = (loaded..(loaded + batch).min(events))
            .map(|i| workload.event(i as u64))
            .collect();
        loaded += records.len();
        insert(&mut db, &records)?;
    }
    db.execute_batch("ANALYZE;")?;
    Ok(())
}

/// Asks the anchor the questions the query process asked kevents: `per_query` times each
/// per-namespace question (namespaces from `names`), `queries` times each count.
pub(crate) fn queries(
    dir: &std::path::Path,
    names: &[(EventKey, String)],
    per_query: usize,
    queries: usize,
) -> Result<()> {
    let db = open(dir)?;
    let group = |sql: &str, params: &[&dyn rusqlite::ToSql]| -> usize {
        let mut statement = db.prepare_cached(sql).expect("a valid query");
        let rows = statement
            .query_map(params, |row| row.get::<_, i64>(1))
            .expect("the query runs");
        rows.map(|count| count.expect("a count") as usize).sum()
    };
    println!("\nSQLite anchor, the same counts (indexes on last_seen and (namespace, type, last_seen)):\n");
    println!("| query | p50 | p99 | rows |\n|---|---|---|---|");
    measure("events per reason, last 24 hours", queries, |_| {
        let from = Micros::now().0 - 24 * HOUR;
        group(
            "SELECT reason, count(*), sum(occurrences) FROM events \
             WHERE last_seen >= ?1 GROUP BY reason",
            &[&from],
        )
    });
    measure(
        "type=Warning in one namespace, last hour, per reason",
        per_query,
        |i| {
            let namespace = names[(i * 104_729) % names.len()].0.namespace.clone();
            let from = Micros::now().0 - HOUR;
            group(
                "SELECT reason, count(*), sum(occurrences) FROM events \
                 WHERE namespace = ?1 AND type = 'Warning' AND last_seen >= ?2 GROUP BY reason",
                &[&namespace, &from],
            )
        },
    );
    measure(
        "type=Warning in one namespace, last hour, every row (list)",
        per_query,
        |i| {
            let namespace = names[(i * 104_729) % names.len()].0.namespace.clone();
            let from = Micros::now().0 - HOUR;
            // Sorted here: with ORDER BY the planner walks the key index instead (140 ms
            // at 1M events).
            let mut statement = db
                .prepare_cached(
                    "SELECT name, body FROM events WHERE namespace = ?1 \
                     AND type = 'Warning' AND last_seen >= ?2",
                )
                .expect("a valid query");
            let mut rows: Vec<(String, String)> = statement
                .query_map(rusqlite::params![namespace, from], |row| {
                    Ok((row.get(0)?, row.get(1)?))
                })
                .expect("the query runs")
                .map(|row| row.expect("a row"))
                .collect();
            rows.sort_unstable();
            rows.len()
        },
    );
    measure("events per object name, last 24 hours", queries, |_| {
        let from = Micros::now().0 - 24 * HOUR;
        group(
            "SELECT involved_name, count(*), sum(occurrences) FROM events \
             WHERE last_seen >= ?1 GROUP BY involved_name",
            &[&from],
        )
    });
    measure("events per reason, all 7 days", queries, |_| {
        group(
            "SELECT reason, count(*), sum(occurrences) FROM events GROUP BY reason",
            &[],
        )
    });
    Ok(())
}
