//! What the hub knows about each collected cluster: the collector's durable cursor, its last
//! contact, reported lag and ingest rate, its relists and the spans of history the source
//! forgot before the collector saw them (gaps). Cursors, contacts and gaps persist in
//! `<data-dir>/clusters.json`.

use kevents_model::Micros;
use parking_lot::Mutex;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// Per-cluster ingest state, shared by the ingest endpoint and the cluster listing.
pub struct ClusterRegistry {
    path: Option<PathBuf>,
    clusters: Mutex<BTreeMap<String, ClusterState>>,
    /// One ingest at a time per cluster: a batch's cursor is only stored after its events, in
    /// order. Clusters ingest side by side.
    ingest: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    /// Cursor changes made (under `clusters`' lock) and the newest of them on disk (under
    /// this lock, held while the file is written): a writer whose change a concurrent writer
    /// already put on disk returns without writing again.
    changes: AtomicU64,
    persisted: Mutex<u64>,
    lag: Family<Vec<(&'static str, String)>, Gauge<f64, AtomicU64>>,
    ingested: Family<Vec<(&'static str, String)>, Counter>,
    lost: Family<Vec<(&'static str, String)>, Counter>,
    gaps: Family<Vec<(&'static str, String)>, Counter>,
    relists: Family<Vec<(&'static str, String)>, Counter>,
    /// Counts the registry's changes; watches of the cluster list wait on it.
    changed: tokio::sync::watch::Sender<u64>,
}

/// A span of a cluster's history its source forgot before the collector saw it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GapRecord {
    /// When the collector was last in sync with the source.
    pub from: Micros,
    /// The last update of the oldest event the source still held when the collector came back.
    pub to: Micros,
    /// Events the span probably held.
    pub lost_events: u64,
    /// When the hub heard of it.
    pub reported: Micros,
}

/// Gaps kept per cluster (the newest).
const GAPS_KEPT: usize = 10;

/// A contact on disk older than this is written again: after a hub restart a collector that
/// comes back takes the stored contact as the moment it was last in sync, and a quiet cluster
/// (no cursor to store) must not look away for longer than it was.
const CONTACT_PERSIST_MICROS: i64 = 60_000_000;

/// One cluster as the registry keeps it.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClusterState {
    /// Every source change at or below this resourceVersion has been applied.
    #[serde(default)]
    pub cursor: String,
    /// When a collector last wrote (on disk: as of the last stored cursor).
    #[serde(default)]
    pub last_contact: Option<Micros>,
    /// The lag the collector last reported.
    #[serde(skip)]
    pub lag_seconds: f64,
    /// Events applied per recent second: (second, count).
    #[serde(skip)]
    applied: VecDeque<(i64, u64)>,
    /// Lists of the source after a collector's first one (after `410 Gone`).
    #[serde(default)]
    pub relists: u64,
    /// Events lost in gaps, estimated, over every gap reported.
    #[serde(default)]
    pub lost_events: u64,
    /// The newest gaps, oldest first.
    #[serde(default)]
    pub gaps: Vec<GapRecord>,
    /// How far ahead of the hub's clock the newest source event time of the last batch was
    /// (0 when not ahead).
    #[serde(skip)]
    pub clock_ahead_seconds: f64,
    /// Collected events refused as invalid since the hub started.
    #[serde(skip)]
    pub invalid_events: u64,
    /// The kevents version the collector last said it runs (its `User-Agent`).
    #[serde(skip)]
    pub collector_version: Option<String>,
    /// The contact the file holds.
    #[serde(skip)]
    contact_on_disk: Option<Micros>,
}

impl ClusterState {
    /// Events applied in the last minute.
    pub fn rate_per_minute(&self, now: Micros) -> u64 {
        let since = now.as_seconds() - 60;
        self.applied
            .iter()
            .filter(|(second, _)| *second > since)
            .map(|(_, n)| n)
            .sum()
    }
}

#[derive(Serialize, Deserialize, Default)]
struct Persisted {
    clusters: BTreeMap<String, ClusterState>,
}

impl ClusterRegistry {
    /// A registry that keeps cursors in `data_dir/clusters.json`, loading what is there.
    pub fn open(data_dir: &Path) -> std::io::Result<ClusterRegistry> {
        let path = data_dir.join("clusters.json");
        let persisted = match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice::<Persisted>(&bytes).map_err(|e| {
                std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    format!("{}: {e}", path.display()),
                )
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Persisted::default(),
            Err(e) => return Err(e),
        };
        Ok(ClusterRegistry::with(Some(path), persisted.clusters))
    }

    /// A registry that keeps nothing on disk (tests, fuzzing).
    pub fn in_memory() -> ClusterRegistry {
        ClusterRegistry::with(None, BTreeMap::new())
    }

    fn with(path: Option<PathBuf>, clusters: BTreeMap<String, ClusterState>) -> ClusterRegistry {
        ClusterRegistry {
            path,
            clusters: Mutex::new(clusters),
            ingest: Mutex::new(HashMap::new()),
            changes: AtomicU64::new(0),
            persisted: Mutex::new(0),
            lag: Family::default(),
            ingested: Family::default(),
            lost: Family::default(),
            gaps: Family::default(),
            relists: Family::default(),
            changed: tokio::sync::watch::Sender::new(0),
        }
    }

    /// Registers the per-cluster metrics.
    pub fn register(&self, registry: &mut Registry) {
        registry.register(
            "kevents_cluster_lag_seconds",
            "Collector lag per cluster as last reported: age of its oldest event not yet in the hub",
            self.lag.clone(),
        );
        registry.register(
            "kevents_cluster_ingested_events",
            "Collected events per cluster by result (applied, skipped as already present, invalid)",
            self.ingested.clone(),
        );
        registry.register(
            "kevents_collector_lost_events",
            "Events a cluster's source forgot before its collector saw them (estimated from the source's event rate over each gap)",
            self.lost.clone(),
        );
        registry.register(
            "kevents_collector_gaps",
            "Spans of a cluster's history its source forgot before the collector came back (away longer than the source's --event-ttl)",
            self.gaps.clone(),
        );
        registry.register(
            "kevents_collector_relists",
            "Lists of a cluster after its collector's first one (410 Gone, or a watch that could not resume)",
            self.relists.clone(),
        );
    }

    /// Wakes when the registry changes (a collector wrote, listed, or moved its cursor).
    pub(crate) fn subscribe(&self) -> tokio::sync::watch::Receiver<u64> {
        self.changed.subscribe()
    }

    fn signal_change(&self) {
        self.changed.send_modify(|changes| *changes += 1);
    }

    /// Records what a collector's list found: a relist, and the gap before it if any.
    pub fn record_list(&self, cluster: &str, relist: bool, gap: Option<(Micros, Micros, u64)>) {
        let mut clusters = self.clusters.lock();
        let state = clusters.entry(cluster.to_string()).or_default();
        if relist {
            state.relists += 1;
            self.relists.get_or_create(&label(cluster)).inc();
        }
        if let Some((from, to, lost_events)) = gap {
            state.lost_events += lost_events;
            state.gaps.push(GapRecord {
                from,
                to,
                lost_events,
                reported: Micros::now(),
            });
            if state.gaps.len() > GAPS_KEPT {
                state.gaps.remove(0);
            }
            self.lost.get_or_create(&label(cluster)).inc_by(lost_events);
            self.gaps.get_or_create(&label(cluster)).inc();
        }
        drop(clusters);
        self.signal_change();
    }

    /// Records how far ahead of the hub's clock a batch's newest source time was.
    pub fn record_clock(&self, cluster: &str, ahead_seconds: f64) {
        if let Some(state) = self.clusters.lock().get_mut(cluster) {
            state.clock_ahead_seconds = ahead_seconds.max(0.0);
        }
    }

    /// The lock a cluster's ingest holds while it applies a batch and stores its cursor.
    pub(crate) fn ingest_lock(&self, cluster: &str) -> Arc<tokio::sync::Mutex<()>> {
        self.ingest
            .lock()
            .entry(cluster.to_string())
            .or_default()
            .clone()
    }

    /// A snapshot of one cluster.
    pub fn get(&self, cluster: &str) -> Option<ClusterState> {
        self.clusters.lock().get(cluster).cloned()
    }

    /// A snapshot of every cluster.
    pub fn all(&self) -> BTreeMap<String, ClusterState> {
        self.clusters.lock().clone()
    }

    /// Records the kevents version a collector of `cluster` says it runs.
    pub fn record_collector_version(&self, cluster: &str, version: &str) {
        let mut clusters = self.clusters.lock();
        clusters
            .entry(cluster.to_string())
            .or_default()
            .collector_version = Some(version.to_string());
    }

    /// Records a collector's write: counts, lag, contact time.
    pub fn touch(&self, cluster: &str, applied: u64, skipped: u64, invalid: u64, lag: Option<f64>) {
        let now = Micros::now();
        let mut clusters = self.clusters.lock();
        let state = clusters.entry(cluster.to_string()).or_default();
        state.last_contact = Some(now);
        state.invalid_events += invalid;
        let second = now.as_seconds();
        match state.applied.back_mut() {
            Some((at, n)) if *at == second => *n += applied,
            _ => state.applied.push_back((second, applied)),
        }
        while state
            .applied
            .front()
            .is_some_and(|(at, _)| *at <= second - 60)
        {
            state.applied.pop_front();
        }
        if let Some(lag) = lag.filter(|l| l.is_finite() && *l >= 0.0) {
            state.lag_seconds = lag;
            self.lag.get_or_create(&label(cluster)).set(lag);
        }
        for (result, n) in [
            ("applied", applied),
            ("skipped", skipped),
            ("invalid", invalid),
        ] {
            if n > 0 {
                let labels = vec![("cluster", cluster.to_string()), ("result", result.into())];
                self.ingested.get_or_create(&labels).inc_by(n);
            }
        }
        drop(clusters);
        self.signal_change();
    }

    /// Stores a cursor durably (write, fsync, rename) before returning. Concurrent calls share
    /// a write: each file written holds every change made before it was taken.
    pub fn set_cursor(&self, cluster: &str, cursor: &str) -> std::io::Result<()> {
        let change = {
            let mut clusters = self.clusters.lock();
            clusters.entry(cluster.to_string()).or_default().cursor = cursor.to_string();
            self.changes.fetch_add(1, Ordering::SeqCst) + 1
        };
        self.signal_change();
        self.persist(change)
    }

    /// The cluster's last contact is newer than the file's by more than a minute.
    pub fn contact_is_stale(&self, cluster: &str) -> bool {
        self.clusters.lock().get(cluster).is_some_and(|s| {
            match (s.last_contact, s.contact_on_disk) {
                (Some(last), Some(disk)) => last.0 - disk.0 > CONTACT_PERSIST_MICROS,
                (Some(_), None) => true,
                (None, _) => false,
            }
        })
    }

    /// Writes the contacts (with everything else) durably.
    pub fn persist_contacts(&self) -> std::io::Result<()> {
        self.persist(self.changes.fetch_add(1, Ordering::SeqCst) + 1)
    }

    /// Writes the file unless a write that includes `change` already happened.
    fn persist(&self, change: u64) -> std::io::Result<()> {
        let Some(path) = &self.path else {
            return Ok(());
        };
        let mut persisted = self.persisted.lock();
        if *persisted >= change {
            return Ok(());
        }
        let (snapshot, newest) = {
            let mut clusters = self.clusters.lock();
            for state in clusters.values_mut() {
                state.contact_on_disk = state.last_contact;
            }
            let snapshot = Persisted {
                clusters: clusters.clone(),
            };
            (snapshot, self.changes.load(Ordering::SeqCst))
        };
        let bytes = serde_json::to_vec_pretty(&snapshot).map_err(std::io::Error::other)?;
        let tmp = path.with_extension("json.tmp");
        let mut file = std::fs::File::create(&tmp)?;
        file.write_all(&bytes)?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)?;
        if let Some(dir) = path.parent() {
            std::fs::File::open(dir)?.sync_all()?;
        }
        *persisted = newest;
        Ok(())
    }
}

fn label(cluster: &str) -> Vec<(&'static str, String)> {
    vec![("cluster", cluster.to_string())]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_survive_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let registry = ClusterRegistry::open(dir.path()).unwrap();
        registry.set_cursor("prod", "1200").unwrap();
        registry.set_cursor("staging", "7").unwrap();
        registry.set_cursor("prod", "1300").unwrap();
        let reopened = ClusterRegistry::open(dir.path()).unwrap();
        assert_eq!(reopened.get("prod").unwrap().cursor, "1300");
        assert_eq!(reopened.get("staging").unwrap().cursor, "7");
        assert!(reopened.get("dev").is_none());
    }

    #[test]
    fn cursors_stored_side_by_side_all_reach_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let registry = Arc::new(ClusterRegistry::open(dir.path()).unwrap());
        let writers: Vec<_> = (0..8)
            .map(|c| {
                let registry = registry.clone();
                std::thread::spawn(move || {
                    for cursor in 1..=40 {
                        registry
                            .set_cursor(&format!("c{c}"), &cursor.to_string())
                            .unwrap();
                    }
                })
            })
            .collect();
        for writer in writers {
            writer.join().unwrap();
        }
        let reopened = ClusterRegistry::open(dir.path()).unwrap();
        for c in 0..8 {
            assert_eq!(reopened.get(&format!("c{c}")).unwrap().cursor, "40");
        }
    }

    #[test]
    fn a_corrupt_cursor_file_is_an_error_not_a_silent_reset() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("clusters.json"), b"{not json").unwrap();
        assert!(ClusterRegistry::open(dir.path()).is_err());
    }

    #[test]
    fn collector_writes_and_cursors_wake_the_cluster_watches() {
        let registry = ClusterRegistry::in_memory();
        let mut changes = registry.subscribe();
        assert!(!changes.has_changed().unwrap());
        registry.touch("prod", 1, 0, 0, None);
        assert!(changes.has_changed().unwrap());
        changes.borrow_and_update();
        registry.set_cursor("prod", "5").unwrap();
        assert!(changes.has_changed().unwrap());
        changes.borrow_and_update();
        registry.record_list("prod", true, None);
        assert!(changes.has_changed().unwrap());
    }

    #[test]
    fn rate_counts_the_last_minute() {
        let registry = ClusterRegistry::in_memory();
        registry.touch("prod", 5, 1, 0, Some(2.5));
        registry.touch("prod", 7, 0, 0, None);
        let state = registry.get("prod").unwrap();
        assert_eq!(state.rate_per_minute(Micros::now()), 12);
        assert_eq!(state.lag_seconds, 2.5);
        assert!(state.last_contact.is_some());
    }

    #[test]
    fn a_contact_is_stale_until_written_and_then_for_a_minute() {
        let dir = tempfile::tempdir().unwrap();
        let registry = ClusterRegistry::open(dir.path()).unwrap();
        assert!(!registry.contact_is_stale("quiet"));
        registry.touch("quiet", 0, 0, 0, Some(0.0));
        assert!(registry.contact_is_stale("quiet"));
        registry.persist_contacts().unwrap();
        assert!(!registry.contact_is_stale("quiet"));
        registry
            .clusters
            .lock()
            .get_mut("quiet")
            .unwrap()
            .contact_on_disk = Some(Micros(Micros::now().0 - 2 * CONTACT_PERSIST_MICROS));
        registry.touch("quiet", 0, 0, 0, Some(0.0));
        assert!(registry.contact_is_stale("quiet"));
        let reopened = ClusterRegistry::open(dir.path()).unwrap();
        assert!(reopened.get("quiet").unwrap().last_contact.is_some());
    }

    #[test]
    fn gaps_and_contacts_survive_reopening_and_only_the_newest_are_kept() {
        let dir = tempfile::tempdir().unwrap();
        let registry = ClusterRegistry::open(dir.path()).unwrap();
        registry.touch("prod", 1, 0, 0, None);
        for i in 0..12 {
            registry.record_list("prod", i > 0, Some((Micros(i), Micros(i + 10), 5)));
        }
        registry.set_cursor("prod", "9").unwrap();
        let reopened = ClusterRegistry::open(dir.path()).unwrap();
        let prod = reopened.get("prod").unwrap();
        assert_eq!(prod.lost_events, 60);
        assert_eq!(prod.relists, 11);
        assert_eq!(prod.gaps.len(), GAPS_KEPT);
        assert_eq!(prod.gaps.last().unwrap().from, Micros(11));
        assert!(prod.last_contact.is_some());
    }
}
