//! Small hand-made streams: a week of a namespace's ordinary life (a CronJob every five minutes,
//! a few readiness warnings an hour, a rollout every weekday at 10:00 with a burst of them),
//! then one incident of each kind.

use super::*;

/// Monday 2026-01-05 00:00 UTC.
const MONDAY: i64 = 1_767_571_200_000_000;
/// The first minute after the week of history: Monday 2026-01-12 00:00.
const WEEK: i64 = 7 * 24 * 60;

fn minute(minute: i64) -> Micros {
    Micros(MONDAY + minute * MINUTE)
}

struct Stream {
    detector: Detector,
    found: Vec<Anomaly>,
    sequence: u64,
}

impl Stream {
    fn new() -> Stream {
        Stream {
            detector: Detector::new(DetectorConfig::default()),
            found: Vec::new(),
            sequence: 0,
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn emit(
        &mut self,
        at: i64,
        namespace: &str,
        reason: &str,
        kind: &str,
        object: &str,
        template: &str,
        count: u64,
    ) {
        self.sequence += 1;
        let event = format!("{object}.{}", self.sequence);
        let (object_kind, object_name) = object.split_once('/').expect("Kind/name");
        let occurrence = Occurrence {
            cluster: "",
            namespace,
            reason,
            event_type: kind,
            template,
            object_kind,
            object_namespace: namespace,
            object_name,
            event: &event,
            key_resource: object == "Deployment/api",
            at: minute(at),
            count,
        };
        let changed = self.detector.observe(&occurrence, minute(at));
        self.found.extend(changed);
    }

    /// Ordinary life from minute `from` to `to`, evaluating every minute when `evaluate`.
    fn ordinary(&mut self, from: i64, to: i64, evaluate: bool) {
        for at in from..to {
            let (day, minute_of_day) = (at / (24 * 60), at % (24 * 60));
            if at % 5 == 0 {
                self.emit(
                    at,
                    "jobs",
                    "SuccessfulCreate",
                    "Normal",
                    "CronJob/backup",
                    "Created job backup-<n>",
                    1,
                );
            }
            if at % 30 == 7 {
                self.emit(
                    at,
                    "web",
                    "Unhealthy",
                    "Warning",
                    "Pod/web-1",
                    "Readiness probe failed: <n>",
                    1,
                );
            }
            let weekday = !crate::baseline::is_weekend(minute(at).0.div_euclid(DAY));
            if weekday && (600..603).contains(&minute_of_day) {
                for pod in 0..7 {
                    let pod = format!("Pod/web-{day}-{pod}");
                    self.emit(
                        at,
                        "web",
                        "Unhealthy",
                        "Warning",
                        &pod,
                        "Readiness probe failed: <n>",
                        1,
                    );
                }
            }
            if evaluate {
                let changed = self.detector.evaluate(minute(at));
                self.found.extend(changed);
            }
        }
    }

    fn opened(&self, kind: AnomalyKind) -> Vec<&Anomaly> {
        let mut seen = std::collections::HashSet::new();
        self.found
            .iter()
            .filter(|a| a.kind == kind && seen.insert(a.name.clone()))
            .collect()
    }

    fn latest(&self, name: &str) -> &Anomaly {
        self.found
            .iter()
            .rev()
            .find(|a| a.name == name)
            .expect("reported")
    }
}

/// A week of history, then Monday until `until`, evaluated.
fn after_a_week(until: i64) -> Stream {
    let mut stream = Stream::new();
    stream.ordinary(0, WEEK, false);
    stream.ordinary(WEEK, WEEK + until, true);
    stream
}

#[test]
fn ordinary_days_and_their_rollouts_raise_nothing() {
    let stream = after_a_week(24 * 60);
    assert_eq!(
        stream.found,
        Vec::new(),
        "a rollout burst like every weekday's is no spike"
    );
}

#[test]
fn the_first_day_is_learning_even_for_new_warnings() {
    let mut stream = Stream::new();
    stream.ordinary(0, 600, true);
    stream.emit(
        600,
        "web",
        "FailedMount",
        "Warning",
        "Pod/web-1",
        "never seen before",
        1,
    );
    stream.ordinary(600, 700, true);
    assert_eq!(stream.found, Vec::new());
}

#[test]
fn a_crash_loop_storm_is_a_spike_that_ends_when_the_rate_returns() {
    let mut stream = after_a_week(14 * 60);
    let storm = WEEK + 14 * 60;
    for at in storm..storm + 10 {
        for pod in 0..12 {
            stream.emit(
                at,
                "web",
                "Unhealthy",
                "Warning",
                &format!("Pod/web-{pod}"),
                "Readiness probe failed: <n>",
                1,
            );
        }
        let changed = stream.detector.evaluate(minute(at));
        stream.found.extend(changed);
    }
    stream.ordinary(storm + 10, storm + 30, true);
    let spikes = stream.opened(AnomalyKind::RateSpike);
    assert_eq!(
        spikes.len(),
        2,
        "the namespace's and the cluster's: {spikes:?}"
    );
    assert!(spikes.iter().any(|s| s.message.contains("in the cluster")));
    let spike = spikes
        .iter()
        .find(|s| s.message.contains("in web"))
        .expect("the namespace's");
    let spike = stream.latest(&spike.name);
    assert_eq!(
        (spike.namespace.as_str(), spike.reason.as_str()),
        ("web", "Unhealthy")
    );
    assert!(
        spike.start <= minute(storm + 1),
        "detected within the first minutes"
    );
    let end = spike.end.expect("ended when the rate returned");
    assert!(
        end >= minute(storm + 10) && end <= minute(storm + 16),
        "{end:?}"
    );
    let baseline = spike.baseline.expect("compared with a baseline");
    assert!(baseline.per_hour <= 3.0, "{baseline:?}");
    assert!(spike.score >= 6.0 && !spike.events.is_empty());
    assert_eq!(stream.detector.open_count(), 0);
}

#[test]
fn a_stopped_cronjob_is_a_drop_that_ends_when_it_runs_again() {
    let mut stream = Stream::new();
    stream.ordinary(0, WEEK + 15 * 60, false);
    let stop = WEEK + 15 * 60;
    for at in stop..stop + 60 {
        // Everything but the CronJob.
        if at % 30 == 7 {
            stream.emit(
                at,
                "web",
                "Unhealthy",
                "Warning",
                "Pod/web-1",
                "Readiness probe failed: <n>",
                1,
            );
        }
        let changed = stream.detector.evaluate(minute(at));
        stream.found.extend(changed);
    }
    let drops: Vec<Anomaly> = stream
        .opened(AnomalyKind::RateDrop)
        .into_iter()
        .cloned()
        .collect();
    assert_eq!(drops.len(), 1, "{:?}", stream.found);
    assert_eq!(drops[0].template, "Created job backup-<n>");
    let detected_at = minute(stop - 5).0 + 15 * MINUTE;
    assert!(drops[0].version > 0 && drops[0].start.0 <= detected_at);
    stream.ordinary(stop + 60, stop + 70, true);
    let drop = stream.latest(&drops[0].name);
    assert_eq!(drop.end, Some(minute(stop + 60)), "ends with the next Job");
}

#[test]
fn a_new_warning_message_is_a_new_pattern_that_ends_when_quiet() {
    let mut stream = after_a_week(9 * 60);
    let at = WEEK + 9 * 60;
    stream.emit(
        at,
        "web",
        "FailedMount",
        "Warning",
        "Pod/web-1",
        "MountVolume.SetUp failed for volume \"*\"",
        1,
    );
    stream.emit(
        at + 1,
        "web",
        "FailedMount",
        "Warning",
        "Pod/web-2",
        "MountVolume.SetUp failed for volume \"*\"",
        1,
    );
    stream.emit(
        at + 1,
        "web",
        "Created",
        "Normal",
        "Pod/web-2",
        "Created container never-seen",
        1,
    );
    stream.ordinary(at + 2, at + 30, true);
    let new = stream.opened(AnomalyKind::NewPattern);
    assert_eq!(new.len(), 1, "only the Warning: {new:?}");
    let pattern = stream.latest(&new[0].name);
    assert_eq!(pattern.start, minute(at));
    assert_eq!(pattern.events.len(), 2, "links both events");
    assert_eq!(
        pattern.end,
        Some(minute(at + 1)),
        "ended at its last occurrence"
    );
}

#[test]
fn the_first_warning_for_a_key_resource_is_an_anomaly_once_a_day() {
    let mut stream = after_a_week(8 * 60);
    let at = WEEK + 8 * 60;
    for offset in [0, 1, 30] {
        stream.emit(
            at + offset,
            "payments",
            "ProgressDeadlineExceeded",
            "Warning",
            "Deployment/api",
            "Deployment has timed out progressing.",
            1,
        );
    }
    stream.emit(
        at,
        "payments",
        "ProgressDeadlineExceeded",
        "Warning",
        "Deployment/other",
        "Deployment has timed out progressing.",
        1,
    );
    stream.ordinary(at + 31, at + 50, true);
    let first = stream.opened(AnomalyKind::FirstWarning);
    assert_eq!(first.len(), 1, "{first:?}");
    assert_eq!(first[0].object, "Deployment/api");
    assert_eq!(stream.latest(&first[0].name).end, Some(minute(at + 30)));
}

#[test]
fn a_merged_pattern_is_not_new() {
    let mut stream = after_a_week(60);
    stream.emit(
        WEEK + 60,
        "web",
        "FailedSync",
        "Warning",
        "Pod/web-1",
        "failed (<n>a<n>)",
        1,
    );
    stream
        .detector
        .merge_pattern("", "FailedSync", "failed (<n>a<n>)", "failed <*>");
    stream.emit(
        WEEK + 61,
        "web",
        "FailedSync",
        "Warning",
        "Pod/web-1",
        "failed <*>",
        1,
    );
    assert_eq!(
        stream.opened(AnomalyKind::NewPattern).len(),
        1,
        "only the first message was new"
    );
}
