//! Hub checks: disk use against `--retention-size`, how far back the history reaches, damaged
//! blocks, whether the store takes writes; and the assembly of every check the hub judges.

use crate::finding::{Finding, Status};
use crate::pipeline::{
    cluster_findings, sink_findings, write_findings, ClusterFacts, SinkFacts, WriteFacts,
};
use crate::version::collector_version_finding;
use kevents_model::{human_duration, Micros};
use serde::{Deserialize, Serialize};

/// Past this share of `--retention-size` the hub is about to delete events early.
const DISK_WARNING_SHARE: f64 = 0.9;

/// The store as the hub sees it.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StoreFacts {
    /// Live events.
    pub events: u64,
    /// Bytes of log and checkpoints.
    pub disk_bytes: u64,
    /// `--retention-size`.
    pub retention_bytes: u64,
    /// Events deleted early because the store outgrew `--retention-size`.
    pub retention_deleted: u64,
    /// `--event-ttl`, in microseconds.
    pub ttl_micros: i64,
    /// When the event kept longest without a write was last written.
    pub oldest_update: Option<Micros>,
    /// Damaged blocks (their events are missing from reads).
    pub corrupt_blocks: u64,
    /// Why the store refuses writes, if it does.
    pub refuses_writes: Option<String>,
}

/// Everything the hub knows that its checks judge.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HubFacts {
    /// When the facts were gathered (the hub's clock).
    pub now: Micros,
    /// The store.
    pub store: StoreFacts,
    /// Collected clusters.
    pub clusters: Vec<ClusterFacts>,
    /// Sinks.
    pub sinks: Vec<SinkFacts>,
    /// Refused writes.
    pub writes: WriteFacts,
    /// The hub's kevents version, which collectors should pair with.
    #[serde(default)]
    pub version: String,
}

/// Every hub and pipeline finding.
pub fn hub_findings(facts: &HubFacts) -> Vec<Finding> {
    let mut out = store_findings(&facts.store, facts.now);
    for cluster in &facts.clusters {
        out.extend(cluster_findings(cluster, facts.now));
        out.extend(collector_version_finding(cluster, &facts.version));
    }
    for sink in &facts.sinks {
        out.extend(sink_findings(sink));
    }
    out.extend(write_findings(&facts.writes));
    out
}

fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
}

fn store_findings(store: &StoreFacts, now: Micros) -> Vec<Finding> {
    let mut out = Vec::new();
    out.push(match &store.refuses_writes {
        Some(why) => Finding::new(
            "hub",
            "writes",
            "hub",
            Status::Problem,
            format!("the store refuses writes: {why}"),
        )
        .action("free disk space (the store recovers by itself once a write succeeds)"),
        None => Finding::new("hub", "writes", "hub", Status::Ok, "the store takes writes"),
    });
    let share = if store.retention_bytes == 0 {
        0.0
    } else {
        store.disk_bytes as f64 / store.retention_bytes as f64
    };
    let percent = share * 100.0;
    let status = if share >= DISK_WARNING_SHARE || store.retention_deleted > 0 {
        Status::Warning
    } else {
        Status::Ok
    };
    let summary = if share >= DISK_WARNING_SHARE {
        format!("the store uses {percent:.0}% of --retention-size: past 100% the events written longest ago are deleted before their TTL")
    } else if store.retention_deleted > 0 {
        format!(
            "{} events were deleted before their TTL because the store outgrew --retention-size",
            store.retention_deleted
        )
    } else {
        format!("the store uses {percent:.0}% of --retention-size")
    };
    let mut disk = Finding::new("hub", "disk", "hub", status, summary)
        .evidence(format!(
            "{} of {} on disk, {} events",
            mib(store.disk_bytes),
            mib(store.retention_bytes),
            store.events
        ))
        .evidence(format!(
            "{} events deleted early since the hub started",
            store.retention_deleted
        ));
    if status != Status::Ok {
        disk = disk.action("raise --retention-size (and the volume), or shorten --event-ttl so that events leave by age first");
    }
    out.push(disk);
    let ttl = human_duration(store.ttl_micros);
    out.push(match store.oldest_update {
        None => Finding::new("hub", "history", "hub", Status::Ok, format!("no events kept yet (--event-ttl {ttl})")),
        Some(oldest) => {
            let age = now.0 - oldest.0;
            let mut f = Finding::new("hub", "history", "hub", Status::Ok,
                format!("the oldest kept event was written {} ago (--event-ttl {ttl})", human_duration(age)))
                .evidence(format!("oldest kept event last written {}", oldest.to_time_string()));
            if store.retention_deleted > 0 && age < store.ttl_micros {
                f.status = Status::Warning;
                f.summary = format!("history reaches back {} only, less than --event-ttl {ttl}: --retention-size decides how long events stay", human_duration(age));
                f = f.action("raise --retention-size to keep events for the whole --event-ttl");
            }
            f
        }
    });
    out.push(if store.corrupt_blocks > 0 {
        Finding::new("hub", "corrupt-blocks", "hub", Status::Problem,
            format!("{} damaged blocks in the cold tier: their events are missing from reads", store.corrupt_blocks))
            .action("check the disk (dmesg, SMART); restore the missing range from an archive sink with `kevents archive restore` if there is one")
    } else {
        Finding::new("hub", "corrupt-blocks", "hub", Status::Ok, "no damaged blocks in the cold tier")
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: u64 = 1024 * 1024;

    fn store(disk: u64, limit: u64) -> StoreFacts {
        StoreFacts {
            events: 1000,
            disk_bytes: disk,
            retention_bytes: limit,
            ttl_micros: 3600 * 1_000_000,
            ..StoreFacts::default()
        }
    }

    fn find<'a>(findings: &'a [Finding], check: &str) -> &'a Finding {
        findings.iter().find(|f| f.check == check).expect("finding")
    }

    #[test]
    fn a_store_near_its_retention_size_is_a_warning() {
        let now = Micros(0);
        let healthy = store_findings(&store(10 * MIB, 100 * MIB), now);
        assert!(
            healthy.iter().all(|f| f.status == Status::Ok),
            "{healthy:#?}"
        );
        let full = store_findings(&store(95 * MIB, 100 * MIB), now);
        let disk = find(&full, "disk");
        assert_eq!(disk.status, Status::Warning);
        assert!(
            disk.summary.contains("95% of --retention-size"),
            "{}",
            disk.summary
        );
    }

    #[test]
    fn early_deletions_shorten_the_history_below_the_ttl() {
        let now = Micros(7200 * 1_000_000);
        let facts = StoreFacts {
            retention_deleted: 500,
            oldest_update: Some(Micros(now.0 - 600 * 1_000_000)),
            ..store(80 * MIB, 100 * MIB)
        };
        let findings = store_findings(&facts, now);
        assert_eq!(find(&findings, "history").status, Status::Warning);
        assert_eq!(find(&findings, "disk").status, Status::Warning);
    }

    #[test]
    fn damaged_blocks_and_refused_writes_are_problems() {
        let facts = StoreFacts {
            corrupt_blocks: 2,
            refuses_writes: Some("no space left on device".into()),
            ..store(MIB, 100 * MIB)
        };
        let findings = store_findings(&facts, Micros(0));
        assert_eq!(find(&findings, "corrupt-blocks").status, Status::Problem);
        assert_eq!(find(&findings, "writes").status, Status::Problem);
    }
}
