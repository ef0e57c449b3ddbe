use super::*;

const S: i64 = 1_000_000;

fn now() -> Micros {
    Micros(1_800_000_000 * S)
}

fn healthy() -> ClusterFacts {
    ClusterFacts {
        name: "prod".into(),
        events: 1200,
        last_contact: Some(Micros(now().0 - 3 * S)),
        lag_seconds: 0.2,
        rate_per_minute: 40,
        ..ClusterFacts::default()
    }
}

fn status_of(findings: &[Finding], check: &str) -> Status {
    findings
        .iter()
        .find(|f| f.check == check)
        .unwrap_or_else(|| panic!("no {check} finding in {findings:#?}"))
        .status
}

#[test]
fn a_collector_in_contact_and_caught_up_is_ok() {
    let findings = cluster_findings(&healthy(), now());
    assert!(
        findings.iter().all(|f| f.status == Status::Ok),
        "{findings:#?}"
    );
}

#[test]
fn a_silent_collector_is_a_problem() {
    let cluster = ClusterFacts {
        last_contact: Some(Micros(now().0 - 120 * S)),
        ..healthy()
    };
    let findings = cluster_findings(&cluster, now());
    assert_eq!(status_of(&findings, "collector-contact"), Status::Problem);
    assert!(
        findings[0].summary.contains("last wrote 2m ago"),
        "{}",
        findings[0].summary
    );
}

#[test]
fn lag_is_a_warning_then_a_problem() {
    for (lag, expected) in [
        (10.0, Status::Ok),
        (45.0, Status::Warning),
        (400.0, Status::Problem),
    ] {
        let cluster = ClusterFacts {
            lag_seconds: lag,
            ..healthy()
        };
        assert_eq!(
            status_of(&cluster_findings(&cluster, now()), "collector-lag"),
            expected,
            "lag {lag}"
        );
    }
}

#[test]
fn a_recent_gap_names_the_window_and_the_estimate() {
    let gap = GapFacts {
        from: Micros(now().0 - 300 * S),
        to: Micros(now().0 - 210 * S),
        lost_events: 90,
        reported: Micros(now().0 - 150 * S),
    };
    let cluster = ClusterFacts {
        gaps: vec![gap],
        lost_events: 90,
        relists: 1,
        ..healthy()
    };
    let findings = cluster_findings(&cluster, now());
    let gaps = findings.iter().find(|f| f.check == "gaps").unwrap();
    assert_eq!(gaps.status, Status::Problem);
    assert!(gaps.summary.contains("about 90 events"), "{}", gaps.summary);
    assert!(
        gaps.evidence[0].contains(&gap.from.to_time_string()),
        "{:?}",
        gaps.evidence
    );
    assert!(gaps.evidence[0].contains("90s"), "{:?}", gaps.evidence);
    // A day later it is history, not news.
    let later = Micros(now().0 + 25 * 3600 * S);
    let cluster = ClusterFacts {
        last_contact: Some(later),
        ..cluster
    };
    assert_eq!(
        status_of(&cluster_findings(&cluster, later), "gaps"),
        Status::Ok
    );
}

#[test]
fn a_source_clock_ahead_of_the_hub_is_named() {
    let cluster = ClusterFacts {
        clock_ahead_seconds: 42.0,
        ..healthy()
    };
    assert_eq!(
        status_of(&cluster_findings(&cluster, now()), "clock-skew"),
        Status::Warning
    );
    assert!(cluster_findings(&healthy(), now())
        .iter()
        .all(|f| f.check != "clock-skew"));
}

#[test]
fn events_refused_at_ingest_are_named() {
    let cluster = ClusterFacts {
        invalid_events: 3,
        ..healthy()
    };
    let findings = cluster_findings(&cluster, now());
    assert_eq!(status_of(&findings, "rejected-events"), Status::Warning);
    assert!(cluster_findings(&healthy(), now())
        .iter()
        .all(|f| f.check != "rejected-events"));
}

#[test]
fn a_sink_falling_behind_is_a_problem_with_its_backlog() {
    let sink = SinkFacts {
        name: "es".into(),
        kind: "elasticsearch".into(),
        lag_seconds: 95.0,
        backlog: 340,
        failed: 12,
        ..SinkFacts::default()
    };
    let findings = sink_findings(&sink);
    assert_eq!(findings[0].status, Status::Problem);
    assert!(
        findings[0].summary.contains("340 changes waiting"),
        "{}",
        findings[0].summary
    );
    let delivering = SinkFacts {
        lag_seconds: 0.5,
        ..sink
    };
    assert_eq!(sink_findings(&delivering)[0].status, Status::Ok);
}

#[test]
fn rate_limited_writes_are_a_warning() {
    assert_eq!(write_findings(&WriteFacts::default())[0].status, Status::Ok);
    let limited = WriteFacts {
        event_rate_limited: 7,
        ..WriteFacts::default()
    };
    let findings = write_findings(&limited);
    assert_eq!(findings[0].status, Status::Warning);
    assert!(
        findings[0].evidence[0].starts_with("7 event writes"),
        "{:?}",
        findings[0].evidence
    );
}
