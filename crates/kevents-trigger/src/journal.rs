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
