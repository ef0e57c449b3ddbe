//! Source-cluster checks, judged from what a probe of the cluster found.

use crate::apiserver_metrics::ApiserverMetrics;
use crate::finding::{Finding, Status};
use kevents_model::{human_duration, Micros};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Events written within this long count for the event rate.
pub(crate) const RATE_WINDOW_MICROS: i64 = 10 * 60 * 1_000_000;

/// What a probe of one cluster found.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SourceFacts {
    /// The kubeconfig context.
    pub context: String,
    /// The apiserver's URL.
    pub server: String,
    /// When the probe ran.
    pub now: Micros,
    /// The apiserver's version, or why it could not be reached.
    pub version: Result<String, String>,
    /// Whether the user may `list` and `watch` events in all namespaces (verb, allowed, or
    /// why it could not be asked).
    pub access: Vec<(String, Result<bool, String>)>,
    /// The events it holds, or why they could not be listed.
    pub events: Result<EventsFacts, String>,
    /// Its metrics about events, or why they could not be read.
    pub metrics: Result<ApiserverMetrics, String>,
}

/// The events a cluster holds.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EventsFacts {
    /// How many.
    pub total: u64,
    /// How many per namespace.
    pub per_namespace: BTreeMap<String, u64>,
    /// When the one written longest ago was last written.
    pub oldest_update: Option<Micros>,
    /// Written within the last ten minutes.
    pub recent: u64,
}

/// The findings about one source cluster.
pub fn source_findings(facts: &SourceFacts) -> Vec<Finding> {
    let subject = facts.context.as_str();
    let mut out = Vec::new();
    match &facts.version {
        Err(why) => {
            out.push(Finding::new("source", "reachable", subject, Status::Problem,
                format!("cannot reach the apiserver of {subject}: {why}"))
                .evidence(format!("server {}", facts.server))
                .action("check the context's server, CA and credentials (`kubectl --context CONTEXT get --raw /version`)"));
            return out;
        }
        Ok(version) => out.push(Finding::new(
            "source",
            "reachable",
            subject,
            Status::Ok,
            format!("{} answers ({version})", facts.server),
        )),
    }
    out.push(access_finding(subject, &facts.access));
    match &facts.events {
        Err(why) => out.push(
            Finding::new(
                "source",
                "events",
                subject,
                Status::Problem,
                format!("cannot list events in {subject}: {why}"),
            )
            .action("grant list and watch on events (see the rbac finding)"),
        ),
        Ok(events) => out.extend(events_findings(subject, events, facts.now)),
    }
    out.push(metrics_finding(subject, &facts.metrics));
    out
}

fn access_finding(subject: &str, access: &[(String, Result<bool, String>)]) -> Finding {
    let denied: Vec<&str> = access
        .iter()
        .filter(|(_, allowed)| !matches!(allowed, Ok(true)))
        .map(|(verb, _)| verb.as_str())
        .collect();
    let mut f = if denied.is_empty() {
        Finding::new(
            "source",
            "rbac",
            subject,
            Status::Ok,
            "the context's user may list and watch events in all namespaces",
        )
    } else {
        Finding::new("source", "rbac", subject, Status::Problem,
            format!("the context's user may not {} events in all namespaces: a collector with these credentials cannot follow the cluster", denied.join(" or ")))
            .action("bind a ClusterRole with verbs [list, watch] on resource events (apiGroup \"\") to the user or service account the collector runs as")
    };
    for (verb, allowed) in access {
        f = f.evidence(match allowed {
            Ok(true) => format!("{verb} events: allowed (SelfSubjectAccessReview)"),
            Ok(false) => format!("{verb} events: denied (SelfSubjectAccessReview)"),
            Err(why) => format!("{verb} events: could not ask ({why})"),
        });
    }
    f
}

fn events_findings(subject: &str, events: &EventsFacts, now: Micros) -> Vec<Finding> {
    let mut out = Vec::new();
    if events.total == 0 {
        out.push(Finding::new("source", "events", subject, Status::Warning,
            format!("{subject} holds no events at all"))
            .evidence("the apiserver keeps an event for --event-ttl (1h by default) after its last update")
            .action("if something happened longer ago than that, the cluster has forgotten it: collect events into kevents (`kevents collect`) to keep them"));
        return out;
    }
    let mut busiest: Vec<(&String, &u64)> = events.per_namespace.iter().collect();
    busiest.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    let mut f = Finding::new(
        "source",
        "events",
        subject,
        Status::Ok,
        format!(
            "{} events in {} namespaces",
            events.total,
            events.per_namespace.len()
        ),
    );
    for (namespace, count) in busiest.into_iter().take(5) {
        f = f.evidence(format!("{namespace}: {count}"));
    }
    out.push(f);
    if let Some(oldest) = events.oldest_update {
        let age = human_duration(now.0 - oldest.0);
        out.push(Finding::new("source", "event-ttl", subject, Status::Ok,
            format!("the oldest event was last written {age} ago: the apiserver keeps events about that long (its --event-ttl)"))
            .evidence(format!("oldest last update {}", oldest.to_time_string()))
            .evidence("events disappear from `kubectl get events` after --event-ttl (1h by default); a collector away longer than that loses them"));
    }
    let per_minute = events.recent as f64 / (RATE_WINDOW_MICROS as f64 / 60e6);
    out.push(Finding::new(
        "source",
        "event-rate",
        subject,
        Status::Ok,
        format!(
            "{per_minute:.1} events a minute ({} written in the last 10 minutes)",
            events.recent
        ),
    ));
    out
}

fn metrics_finding(subject: &str, metrics: &Result<ApiserverMetrics, String>) -> Finding {
    let metrics = match metrics {
        Err(why) => {
            return Finding::new(
                "source",
                "apiserver-metrics",
                subject,
                Status::Ok,
                format!(
                    "the apiserver's metrics are not readable with this context ({why}); skipped"
                ),
            )
        }
        Ok(metrics) => metrics,
    };
    let refused = metrics.events_too_many_requests + metrics.failed_event_writes;
    let mut f = if refused > 0.0 {
        Finding::new("source", "apiserver-metrics", subject, Status::Warning,
            format!("the apiserver refused {refused:.0} event requests since it started: their events were dropped by the components that wrote them"))
            .action("429s come from the EventRateLimit admission plugin or API priority and fairness: raise their limits, or find the noisy component (kubelet --event-qps/--event-burst)")
    } else {
        Finding::new(
            "source",
            "apiserver-metrics",
            subject,
            Status::Ok,
            "the apiserver refused no event writes since it started",
        )
    };
    if let Some(stored) = metrics.stored_events {
        f = f.evidence(format!(
            "{stored:.0} events in the apiserver's storage (apiserver_resource_objects)"
        ));
    }
    if let Some(bytes) = metrics.storage_bytes {
        f = f.evidence(format!(
            "storage database {:.1} MiB (apiserver_storage_size_bytes)",
            bytes / 1048576.0
        ));
    }
    f.evidence(format!("{:.0} event requests answered 429, {:.0} event writes failed otherwise (apiserver_request_total)", metrics.events_too_many_requests, metrics.failed_event_writes))
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: i64 = 1_000_000;

    fn healthy() -> SourceFacts {
        let now = Micros(1_800_000_000 * S);
        SourceFacts {
            context: "prod".into(),
            server: "https://127.0.0.1:6443".into(),
            now,
            version: Ok("v1.37.2".into()),
            access: vec![("list".into(), Ok(true)), ("watch".into(), Ok(true))],
            events: Ok(EventsFacts {
                total: 30,
                per_namespace: [("default".to_string(), 20), ("kube-system".to_string(), 10)]
                    .into(),
                oldest_update: Some(Micros(now.0 - 3500 * S)),
                recent: 12,
            }),
            metrics: Ok(ApiserverMetrics::default()),
        }
    }

    fn find<'a>(findings: &'a [Finding], check: &str) -> &'a Finding {
        findings.iter().find(|f| f.check == check).expect("finding")
    }

    #[test]
    fn a_healthy_cluster_is_ok_everywhere() {
        let findings = source_findings(&healthy());
        assert!(
            findings.iter().all(|f| f.status == Status::Ok),
            "{findings:#?}"
        );
        assert!(
            find(&findings, "event-ttl").summary.contains("58m"),
            "{findings:#?}"
        );
        assert!(find(&findings, "event-rate")
            .summary
            .starts_with("1.2 events a minute"));
    }

    #[test]
    fn without_watch_the_rbac_check_is_a_problem_naming_the_verb() {
        let facts = SourceFacts {
            access: vec![("list".into(), Ok(true)), ("watch".into(), Ok(false))],
            ..healthy()
        };
        let rbac = source_findings(&facts)
            .into_iter()
            .find(|f| f.check == "rbac")
            .unwrap();
        assert_eq!(rbac.status, Status::Problem);
        assert!(
            rbac.summary.contains("may not watch events"),
            "{}",
            rbac.summary
        );
        assert!(rbac
            .evidence
            .contains(&"watch events: denied (SelfSubjectAccessReview)".to_string()));
    }

    #[test]
    fn an_unreachable_cluster_stops_at_the_first_check() {
        let facts = SourceFacts {
            version: Err("connection refused".into()),
            ..healthy()
        };
        let findings = source_findings(&facts);
        assert_eq!(findings.len(), 1);
        assert_eq!(findings[0].status, Status::Problem);
    }

    #[test]
    fn no_events_and_refused_event_writes_are_warnings() {
        let facts = SourceFacts {
            events: Ok(EventsFacts::default()),
            metrics: Ok(ApiserverMetrics {
                events_too_many_requests: 4.0,
                ..ApiserverMetrics::default()
            }),
            ..healthy()
        };
        let findings = source_findings(&facts);
        assert_eq!(find(&findings, "events").status, Status::Warning);
        assert_eq!(find(&findings, "apiserver-metrics").status, Status::Warning);
    }
}
