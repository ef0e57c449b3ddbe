//! Pipeline checks, judged on the hub: each collector (contact, lag, relists, gaps, clock),
//! each sink (backlog, failures, dead letters) and the writes the hub refused.

use crate::finding::{Finding, Status};
use kevents_model::{human_duration, Micros};
use serde::{Deserialize, Serialize};

/// A collector writes at least every `--heartbeat` (10 s by default): past this it is gone.
const CONTACT_PROBLEM_SECONDS: f64 = 60.0;
/// Collector lag past which events are late enough to notice.
const LAG_WARNING_SECONDS: f64 = 30.0;
/// Collector lag past which the collector is not keeping up.
const LAG_PROBLEM_SECONDS: f64 = 300.0;
/// A gap reported within this long is news.
const RECENT_GAP_MICROS: i64 = 24 * 3600 * 1_000_000;
/// Source event times this far ahead of the hub's clock mean a skewed clock.
const CLOCK_AHEAD_WARNING_SECONDS: f64 = 5.0;
/// Sink lag past which delivery is late.
const SINK_LAG_WARNING_SECONDS: f64 = 10.0;
/// Sink lag past which the destination is not taking events.
const SINK_LAG_PROBLEM_SECONDS: f64 = 60.0;

/// One collected cluster as the hub knows it.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClusterFacts {
    /// The cluster's name on the hub.
    pub name: String,
    /// Events the hub holds for it.
    pub events: u64,
    /// When a collector last wrote.
    pub last_contact: Option<Micros>,
    /// The lag its collector last reported.
    pub lag_seconds: f64,
    /// Events applied in the last minute.
    pub rate_per_minute: u64,
    /// Relists after the collector's first list.
    pub relists: u64,
    /// Events lost in every gap reported.
    pub lost_events: u64,
    /// The newest gaps, oldest first.
    pub gaps: Vec<GapFacts>,
    /// How far the source's newest event time was ahead of the hub's clock.
    pub clock_ahead_seconds: f64,
    /// Collected events the hub refused as invalid since it started.
    #[serde(default)]
    pub invalid_events: u64,
    /// The kevents version its collector last said it runs (its `User-Agent`, `kevents/…`).
    #[serde(default)]
    pub collector_version: Option<String>,
}

/// A span the source forgot before the collector saw it.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GapFacts {
    /// When the collector was last in sync.
    pub from: Micros,
    /// The oldest event the source still held when the collector came back.
    pub to: Micros,
    /// Events it probably held.
    pub lost_events: u64,
    /// When the hub heard of it.
    pub reported: Micros,
}

/// One sink's delivery.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SinkFacts {
    /// Its name.
    pub name: String,
    /// Its type.
    pub kind: String,
    /// Age of the oldest change not yet acknowledged.
    pub lag_seconds: f64,
    /// Changes committed after the sink's cursor.
    pub backlog: u64,
    /// Events acknowledged.
    pub sent: u64,
    /// Failed attempts.
    pub failed: u64,
    /// Events dead-lettered.
    pub dead_lettered: u64,
}

/// Writes the hub refused since it started.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WriteFacts {
    /// Event writes refused by EventRateLimit (`--event-rate-limit-config`).
    pub event_rate_limited: u64,
    /// Requests refused by the per-client limit (`--client-rate-limit`).
    pub client_rate_limited: u64,
    /// Writes refused because the disk was full (`507`).
    pub disk_full: u64,
}

/// The findings about one collected cluster at `now`.
pub(crate) fn cluster_findings(cluster: &ClusterFacts, now: Micros) -> Vec<Finding> {
    let subject = cluster.name.as_str();
    let mut out = Vec::new();
    let contact = match cluster.last_contact {
        None => Finding::new(
            "pipeline",
            "collector-contact",
            subject,
            Status::Warning,
            format!("no collector has written for cluster {subject} since the hub started"),
        )
        .evidence(format!("{} events held", cluster.events))
        .action("run `kevents collect` for this cluster, or drop its events if it is gone"),
        Some(at) => {
            let age = (now.0 - at.0) as f64 / 1e6;
            let ago = human_duration(now.0 - at.0);
            if age > CONTACT_PROBLEM_SECONDS {
                Finding::new("pipeline", "collector-contact", subject, Status::Problem,
                    format!("the collector of {subject} last wrote {ago} ago: it is stopped or cannot reach the hub"))
                    .evidence(format!("last contact {}", at.to_time_string()))
                    .action("check that `kevents collect` runs and reaches the hub (its log names what fails); while it is away longer than the cluster's --event-ttl, events are lost")
            } else {
                Finding::new(
                    "pipeline",
                    "collector-contact",
                    subject,
                    Status::Ok,
                    format!("the collector of {subject} wrote {ago} ago"),
                )
            }
        }
    };
    out.push(contact);
    let lag = cluster.lag_seconds;
    let lag_status = if lag > LAG_PROBLEM_SECONDS {
        Status::Problem
    } else if lag > LAG_WARNING_SECONDS {
        Status::Warning
    } else {
        Status::Ok
    };
    let mut lag_finding = Finding::new(
        "pipeline",
        "collector-lag",
        subject,
        lag_status,
        format!("events of {subject} reach the hub {lag:.1}s after the collector receives them"),
    )
    .evidence(format!(
        "{} events applied in the last minute",
        cluster.rate_per_minute
    ));
    if lag_status != Status::Ok {
        lag_finding = lag_finding.action(
            "the hub is slow to take batches or refuses them: see the collector's log, the hub's kevents_write_duration_seconds and its disk",
        );
    }
    out.push(lag_finding);
    let recent: Vec<&GapFacts> = cluster
        .gaps
        .iter()
        .filter(|g| now.0 - g.reported.0 < RECENT_GAP_MICROS)
        .collect();
    let gaps = if recent.is_empty() {
        let mut f = Finding::new(
            "pipeline",
            "gaps",
            subject,
            Status::Ok,
            format!("no events of {subject} lost in the last 24h"),
        )
        .evidence(format!("{} relists after 410 Gone", cluster.relists));
        if cluster.lost_events > 0 {
            f = f.evidence(format!(
                "about {} events lost in older gaps",
                cluster.lost_events
            ));
        }
        f
    } else {
        let lost: u64 = recent.iter().map(|g| g.lost_events).sum();
        let mut f = Finding::new("pipeline", "gaps", subject, Status::Problem,
            format!("about {lost} events of {subject} were lost: the cluster forgot them before its collector saw them"));
        for gap in recent.iter().rev().take(3) {
            f = f.evidence(format!(
                "{} to {} ({}): about {} events, reported {}",
                gap.from.to_time_string(),
                gap.to.to_time_string(),
                human_duration(gap.to.0 - gap.from.0),
                gap.lost_events,
                gap.reported.to_time_string()
            ));
        }
        f.evidence(format!("{} relists after 410 Gone", cluster.relists))
            .action("keep the collector running (it was away longer than the cluster's --event-ttl), or raise the apiserver's --event-ttl; what was lost cannot be recovered")
    };
    out.push(gaps);
    if cluster.invalid_events > 0 {
        out.push(Finding::new("pipeline", "rejected-events", subject, Status::Warning,
            format!("the hub refused {} events of {subject} as invalid since it started: they are not kept", cluster.invalid_events))
            .action("the collector's log names each refused event and why (`the hub refused an event`)"));
    }
    if cluster.clock_ahead_seconds > CLOCK_AHEAD_WARNING_SECONDS {
        out.push(Finding::new("pipeline", "clock-skew", subject, Status::Warning,
            format!("event times of {subject} are {:.0}s ahead of the hub's clock", cluster.clock_ahead_seconds))
            .evidence("the newest source time of the last batch is later than when the hub received it")
            .action("synchronise the clocks (NTP) of the cluster's nodes and the hub: ages, --since and TTLs are computed from these times"));
    }
    out
}

/// The findings about one sink.
pub(crate) fn sink_findings(sink: &SinkFacts) -> Vec<Finding> {
    let subject = format!("sink {}", sink.name);
    let lag = sink.lag_seconds;
    let status = if lag > SINK_LAG_PROBLEM_SECONDS {
        Status::Problem
    } else if lag > SINK_LAG_WARNING_SECONDS {
        Status::Warning
    } else {
        Status::Ok
    };
    let summary = if status == Status::Ok {
        format!(
            "sink {} ({}) is delivering ({lag:.1}s behind)",
            sink.name, sink.kind
        )
    } else {
        format!("sink {} ({}) is {lag:.0}s behind with {} changes waiting: its destination is not taking events", sink.name, sink.kind, sink.backlog)
    };
    let mut backlog =
        Finding::new("pipeline", "sink-backlog", &subject, status, summary).evidence(format!(
            "{} events sent, {} failed attempts, {} changes after its cursor",
            sink.sent, sink.failed, sink.backlog
        ));
    if status != Status::Ok {
        backlog = backlog.action("check the destination (its address, credentials, disk); nothing is lost while the hub keeps the events, and delivery resumes from the sink's cursor");
    }
    let mut out = vec![backlog];
    if sink.dead_lettered > 0 {
        out.push(Finding::new("pipeline", "dead-letters", &subject, Status::Warning,
            format!("sink {} rejected {} events for good", sink.name, sink.dead_lettered))
            .evidence("they are in the sink's dead-letter file")
            .action("read the dead-letter file for the destination's reason (mapping, size, permissions)"));
    }
    out
}

/// The findings about refused writes.
pub(crate) fn write_findings(writes: &WriteFacts) -> Vec<Finding> {
    let mut out = Vec::new();
    let limited = writes.event_rate_limited + writes.client_rate_limited;
    out.push(if limited > 0 {
        Finding::new("pipeline", "rate-limited-writes", "hub", Status::Warning,
            format!("the hub refused {limited} requests with 429 Too Many Requests since it started"))
            .evidence(format!("{} event writes refused by EventRateLimit (--event-rate-limit-config)", writes.event_rate_limited))
            .evidence(format!("{} requests refused by --client-rate-limit", writes.client_rate_limited))
            .action("recorders drop events they cannot write after their retries: raise the limits, or find the emitter with `kevents top`")
    } else {
        Finding::new("pipeline", "rate-limited-writes", "hub", Status::Ok, "no writes refused by a rate limit")
    });
    if writes.disk_full > 0 {
        out.push(
            Finding::new(
                "pipeline",
                "refused-writes",
                "hub",
                Status::Problem,
                format!(
                    "the hub refused {} writes because its disk was full (507)",
                    writes.disk_full
                ),
            )
            .action("free disk space or lower --retention-size below the volume's size"),
        );
    }
    out
}

#[cfg(test)]
#[path = "pipeline_tests.rs"]
mod tests;
