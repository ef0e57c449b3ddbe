//! Every run the hub knows: kept in memory, journaled (`journal.rs`), served as
//! `triggerruns` and audited. One lock; the engine creates runs and counts suppressions, the
//! executor records attempts.

use crate::journal::{Journal, KEPT_RUNS};
use crate::run::{Phase, TriggerRun};
use crate::safety::Reason;
use kevents_api::{AuditRecord, ServedObjects};
use kevents_model::Micros;
use parking_lot::Mutex;
use std::collections::{HashMap, HashSet, VecDeque};
use std::path::Path;
use std::sync::Arc;

/// The runs.
pub struct Ledger {
    inner: Mutex<Inner>,
    served: Arc<ServedObjects>,
    audit: Option<Arc<kevents_api::Security>>,
}

struct Inner {
    runs: HashMap<String, TriggerRun>,
    order: VecDeque<String>,
    journal: Journal,
    /// Runs whose suppression counts changed since the last flush.
    dirty: HashSet<String>,
}

fn served_object(run: &TriggerRun) -> serde_json::Value {
    serde_json::to_value(run).expect("a run serializes")
}

impl Ledger {
    /// Opens the journal in `dir` and serves its runs; returns the ledger and the runs read
    /// back (oldest first), for the engine's cooldowns and the executor's pending work.
    pub fn open(
        dir: &Path,
        served: Arc<ServedObjects>,
        audit: Option<Arc<kevents_api::Security>>,
    ) -> std::io::Result<(Ledger, Vec<TriggerRun>)> {
        let (journal, runs) = Journal::open(dir)?;
        served.restore(runs.iter().map(served_object));
        let inner = Inner {
            runs: runs
                .iter()
                .map(|r| (r.metadata.name.clone(), r.clone()))
                .collect(),
            order: runs.iter().map(|r| r.metadata.name.clone()).collect(),
            journal,
            dirty: HashSet::new(),
        };
        let ledger = Ledger {
            inner: Mutex::new(inner),
            served,
            audit,
        };
        Ok((ledger, runs))
    }

    fn audit(&self, run: &TriggerRun, verb: &str, code: u16) {
        let Some(log) = self.audit.as_ref().and_then(|s| s.audit.as_ref()) else {
            return;
        };
        let user = format!("system:kevents:trigger:{}", run.spec.trigger);
        log.write(&AuditRecord {
            time: Micros::now().to_time_string(),
            user: &user,
            source_ip: String::new(),
            verb,
            api_group: "kevents.io",
            resource: "triggerruns",
            namespace: Some(&run.metadata.namespace),
            name: Some(&run.metadata.name),
            code,
            decision: "allow",
        });
    }

    /// Records a new run durably, serves and audits it. A run of that name already known
    /// (the same firing replayed after a restart) is left as it is: returns false.
    pub fn create(&self, run: TriggerRun) -> std::io::Result<bool> {
        let mut inner = self.inner.lock();
        if inner.runs.contains_key(&run.metadata.name) {
            return Ok(false);
        }
        inner.journal.append(&run, true)?;
        self.served.put(served_object(&run));
        self.audit(&run, "create", 201);
        inner.order.push_back(run.metadata.name.clone());
        inner.runs.insert(run.metadata.name.clone(), run);
        while inner.order.len() > KEPT_RUNS {
            let Some(oldest) = inner.order.pop_front() else {
                break;
            };
            if let Some(old) = inner.runs.get(&oldest) {
                if old.status.phase == Phase::Pending {
                    inner.order.push_back(oldest);
                    break;
                }
                self.served.remove(&old.metadata.namespace, &oldest);
                inner.runs.remove(&oldest);
            }
        }
        Ok(true)
    }

    /// A copy of a run.
    pub fn get(&self, name: &str) -> Option<TriggerRun> {
        self.inner.lock().runs.get(name).cloned()
    }

    /// Changes a run and records it durably (an attempt's outcome); audits the run's end.
    pub fn update(&self, name: &str, change: impl FnOnce(&mut TriggerRun)) {
        let mut inner = self.inner.lock();
        let Some(run) = inner.runs.get_mut(name) else {
            return;
        };
        change(run);
        let run = run.clone();
        if let Err(e) = inner.journal.append(&run, true) {
            tracing::error!(journal = %inner.journal.path().display(), error = %e, "could not record a trigger run");
        }
        inner.dirty.remove(name);
        self.served.put(served_object(&run));
        match run.status.phase {
            Phase::Succeeded => self.audit(&run, "update", 200),
            Phase::Failed => self.audit(&run, "update", 500),
            Phase::Pending | Phase::DryRun => {}
        }
    }

    /// Counts a suppressed firing on a run; written out by the next [`Ledger::flush`].
    pub fn suppress(&self, name: &str, reason: Reason) {
        let mut inner = self.inner.lock();
        let Some(run) = inner.runs.get_mut(name) else {
            return;
        };
        let counts = &mut run.status.suppressed;
        match reason {
            Reason::Cooldown => counts.cooldown += 1,
            Reason::RateLimit => counts.rate_limit += 1,
            Reason::Paused => counts.paused += 1,
        }
        counts.total += 1;
        inner.dirty.insert(name.to_string());
    }

    /// Writes out and serves the runs whose counts changed.
    pub fn flush(&self) {
        let mut inner = self.inner.lock();
        let dirty: Vec<String> = inner.dirty.drain().collect();
        for (index, name) in dirty.iter().enumerate() {
            let Some(run) = inner.runs.get(name).cloned() else {
                continue;
            };
            let last = index + 1 == dirty.len();
            if let Err(e) = inner.journal.append(&run, last) {
                tracing::error!(error = %e, "could not record suppressed firings");
            }
            self.served.put(served_object(&run));
        }
    }
}
