//! The runs' journal: `<data-dir>/triggers/runs.ndjson`, one line per change of a run (its
//! whole object), appended; the last line of a run wins. A new run and each attempt's outcome
//! are synced before anything depends on them, so a `kill -9` never forgets a firing. At
//! start the journal is read back and rewritten with one line per kept run.

use crate::run::{Phase, TriggerRun};
use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

/// Runs kept across restarts (the newest; pending runs are always kept).
pub const KEPT_RUNS: usize = 10_000;

/// The append-only journal.
pub struct Journal {
    path: PathBuf,
    file: File,
}

/// Reads the runs of a journal, in creation order (a torn last line is skipped).
fn read(path: &Path) -> std::io::Result<Vec<TriggerRun>> {
    let file = match File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut order: Vec<String> = Vec::new();
    let mut latest: HashMap<String, TriggerRun> = HashMap::new();
    for line in BufReader::new(file).lines() {
        let line = line?;
        match serde_json::from_str::<TriggerRun>(&line) {
            Ok(run) => {
                let name = run.metadata.name.clone();
                if latest.insert(name.clone(), run).is_none() {
                    order.push(name);
                }
            }
            Err(e) => {
                tracing::warn!(journal = %path.display(), error = %e, "skipping an unreadable journal line")
            }
        }
    }
    Ok(order
        .into_iter()
        .filter_map(|name| latest.remove(&name))
        .collect())
}

impl Journal {
    /// Opens the journal in `dir`, returning it and its runs (oldest first), after rewriting
    /// it with one line per run kept.
    pub fn open(dir: &Path) -> std::io::Result<(Journal, Vec<TriggerRun>)> {
        std::fs::create_dir_all(dir)?;
        let path = dir.join("runs.ndjson");
        let mut runs = read(&path)?;
        let surplus = runs.len().saturating_sub(KEPT_RUNS);
        if surplus > 0 {
            let mut dropped = 0;
            runs.retain(|run| {
                let drop = dropped < surplus && run.status.phase != Phase::Pending;
                dropped += usize::from(drop);
                !drop
            });
        }
        let tmp = dir.join("runs.ndjson.tmp");
        {
            let mut file = File::create(&tmp)?;
            for run in &runs {
                let mut line = serde_json::to_vec(run).expect("a run serializes");
                line.push(b'\n');
                file.write_all(&line)?;
            }
            file.sync_all()?;
        }
        std::fs::rename(&tmp, &path)?;
        File::open(dir)?.sync_all()?;
        let file = OpenOptions::new().append(true).open(&path)?;
        Ok((Journal { path, file }, runs))
    }

    /// Appends a run's current state; with `sync`, durably before returning.
    pub fn append(&mut self, run: &TriggerRun, sync: bool) -> std::io::Result<()> {
        let mut line = serde_json::to_vec(run).expect("a run serializes");
        line.push(b'\n');
        self.file.write_all(&line)?;
        if sync {
            self.file.sync_data()?;
        }
        Ok(())
    }

    /// The journal's path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::run::{ActionRequest, RunMetadata, RunSpec, RunStatus};

    fn run(name: &str, phase: Phase, attempts: u32) -> TriggerRun {
        TriggerRun {
            api_version: "kevents.io/v1".into(),
            kind: "TriggerRun".into(),
            metadata: RunMetadata {
                name: name.into(),
                namespace: "prod".into(),
                uid: "u".into(),
                creation_timestamp: "2026-01-01T00:00:00Z".into(),
                labels: Default::default(),
                resource_version: None,
            },
            spec: RunSpec {
                trigger: "t".into(),
                cluster: "c".into(),
                dedupe_key: name.into(),
                idempotency_key: name.into(),
                window_start: "2026-01-01T00:00:00.000000Z".into(),
                dry_run: false,
                matched_events: Vec::new(),
                alert: None,
                action: ActionRequest {
                    kind: "webhook".into(),
                    target: "http://h".into(),
                    body: serde_json::json!({}),
                },
            },
            status: RunStatus {
                phase,
                attempts,
                message: String::new(),
                last_attempt_time: None,
                completion_time: None,
                created_object: None,
                suppressed: Default::default(),
            },
        }
    }

    #[test]
    fn the_last_line_of_a_run_wins_and_a_torn_tail_is_skipped() {
        let dir = tempfile::tempdir().unwrap();
        {
            let (mut journal, runs) = Journal::open(dir.path()).unwrap();
            assert!(runs.is_empty());
            journal.append(&run("a", Phase::Pending, 0), true).unwrap();
            journal.append(&run("b", Phase::Pending, 0), true).unwrap();
            journal
                .append(&run("a", Phase::Succeeded, 2), true)
                .unwrap();
        }
        // A kill -9 in the middle of a line.
        let path = dir.path().join("runs.ndjson");
        let mut text = std::fs::read(&path).unwrap();
        text.extend_from_slice(b"{\"apiVersion\":\"kevents.io/v1\",\"ki");
        std::fs::write(&path, text).unwrap();
        let (_, runs) = Journal::open(dir.path()).unwrap();
        let summary: Vec<(&str, Phase, u32)> = runs
            .iter()
            .map(|r| (r.metadata.name.as_str(), r.status.phase, r.status.attempts))
            .collect();
        assert_eq!(
            summary,
            [("a", Phase::Succeeded, 2), ("b", Phase::Pending, 0)]
        );
        // Rewritten with one line per run.
        assert_eq!(std::fs::read_to_string(&path).unwrap().lines().count(), 2);
    }
}
