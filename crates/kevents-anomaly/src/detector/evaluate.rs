//! Spikes and drops against the baselines, and the end of every kind of anomaly.

use super::{Detector, KeyKind};
use crate::anomaly::{Anomaly, AnomalyKind};
use crate::baseline::{Expectation, Expected, MINUTE, WINDOW_MINUTES};
use crate::stats::MAD_TO_SIGMA;
use kevents_model::Micros;

/// A spike test of one five-minute count against a baseline.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct SpikeTest {
    /// Robust z-score of the count.
    pub(crate) score: f64,
    /// The count a spike needs.
    pub(crate) threshold: f64,
}

impl Detector {
    /// The spike test of `current` occurrences in five minutes against `expected`.
    pub(crate) fn spike_test(&self, current: f64, expected: &Expected) -> SpikeTest {
        let share = WINDOW_MINUTES as f64 / 60.0;
        let usual = expected.per_hour * share;
        let noise = (MAD_TO_SIGMA * expected.mad_per_hour * share)
            .max(usual.sqrt())
            .max(1.0);
        let threshold = (usual + self.config.spike_score * noise)
            .max(self.config.peak_factor * expected.peak_window)
            .max(f64::from(self.config.spike_min));
        SpikeTest {
            score: (current - usual) / noise,
            threshold,
        }
    }

    /// Finds spikes and drops at `now` and ends the anomalies that are over; returns what it
    /// opened, changed or ended.
    pub fn evaluate(&mut self, now: Micros) -> Vec<Anomaly> {
        let Some(known_since) = self.known_since else {
            return Vec::new();
        };
        let config = self.config.baseline;
        let mut opening = Vec::new();
        for (&key, tracked) in &self.keys {
            let warning = tracked.event_type == "Warning";
            let kind = match (tracked.kind, warning) {
                (KeyKind::Group | KeyKind::ClusterGroup, true) => AnomalyKind::RateSpike,
                (KeyKind::Pattern, false) => AnomalyKind::RateDrop,
                _ => continue,
            };
            if self.open.contains_key(&(key, kind)) {
                continue;
            }
            let baseline = &tracked.baseline;
            if kind == AnomalyKind::RateSpike
                && baseline.current_window(now) < self.config.spike_min
            {
                continue;
            }
            if kind == AnomalyKind::RateDrop
                && baseline
                    .last_seen()
                    .is_none_or(|l| now.0 - l.0 < (self.config.drop_min_minutes * 60e6) as i64)
            {
                continue;
            }
            let Expectation::Known(expected) = baseline.expected(now, known_since, &config) else {
                continue;
            };
            if kind == AnomalyKind::RateSpike {
                let current = f64::from(baseline.current_window(now));
                let test = self.spike_test(current, &expected);
                if current >= test.threshold && test.score >= self.config.spike_score {
                    let place = match tracked.kind {
                        KeyKind::ClusterGroup => "the cluster".to_string(),
                        _ => tracked.namespace.clone(),
                    };
                    let message = format!(
                        "{current} {} Warnings in 5 minutes in {place}, usually {:.1} (busiest 5 minutes of a usual day: {})",
                        tracked.reason,
                        expected.per_hour / 12.0,
                        expected.peak_window
                    );
                    let start = baseline.window_start(now).unwrap_or(now);
                    opening.push((key, kind, start, test.score, expected, message));
                }
            } else if expected.per_hour >= self.config.drop_min_per_hour
                && expected.active_share >= self.config.drop_active_share
            {
                let last = baseline.last_seen().unwrap_or(now);
                let gap_minutes = 60.0 / expected.per_hour;
                let quiet_minutes = (now.0 - last.0) as f64 / MINUTE as f64;
                // Regular: even on a usual day it is never quiet for long (a CronJob, not
                // traffic that happens to be frequent).
                let regular = expected
                    .longest_gap_minutes
                    .filter(|&longest| longest <= self.config.drop_gaps * gap_minutes);
                let needed = regular.map(|longest| {
                    (self.config.drop_gaps * gap_minutes)
                        .max(1.5 * longest)
                        .max(self.config.drop_min_minutes)
                });
                if needed.is_some_and(|needed| quiet_minutes >= needed) {
                    let message = format!(
                        "{} {} stopped: none for {quiet_minutes:.0} minutes, usually every {gap_minutes:.1}",
                        tracked.reason, tracked.template
                    );
                    let start = Micros(last.0 + (gap_minutes * MINUTE as f64) as i64);
                    let score = quiet_minutes / gap_minutes;
                    opening.push((key, kind, start, score, expected, message));
                }
            }
        }
        let mut changed = Vec::new();
        for (key, kind, start, score, expected, message) in opening {
            if let Some(index) = self.open(key, kind, start, score, Some(expected), message) {
                changed.push(self.anomalies[index].clone());
            }
        }
        changed.extend(self.close_over(now, known_since));
        self.forget_ended();
        changed
    }

    /// Ends the anomalies that are over at `now`; updates the score of open spikes.
    fn close_over(&mut self, now: Micros, known_since: Micros) -> Vec<Anomaly> {
        let config = self.config.baseline;
        let quiet = self.config.quiet_minutes * MINUTE;
        let mut changed = Vec::new();
        let open: Vec<((u64, AnomalyKind), usize)> =
            self.open.iter().map(|(&k, &i)| (k, i)).collect();
        for ((key, kind), index) in open {
            let last_seen = match kind {
                AnomalyKind::FirstWarning => self.warned.get(&key).copied(),
                _ => self.keys.get(&key).and_then(|t| t.baseline.last_seen()),
            };
            let end = match kind {
                AnomalyKind::NewPattern | AnomalyKind::FirstWarning => last_seen
                    .filter(|l| now.0 - l.0 >= quiet)
                    .or(last_seen.is_none().then_some(now)),
                // The pattern occurred again (it was quiet for a gap or more before `start`).
                AnomalyKind::RateDrop => last_seen.filter(|l| *l >= self.anomalies[index].start),
                AnomalyKind::RateSpike => {
                    let Some(tracked) = self.keys.get(&key) else {
                        continue;
                    };
                    let current = f64::from(tracked.baseline.current_window(now));
                    let Expectation::Known(expected) =
                        tracked.baseline.expected(now, known_since, &config)
                    else {
                        continue;
                    };
                    let test = self.spike_test(current, &expected);
                    let anomaly = &mut self.anomalies[index];
                    if current as u64 > anomaly.observed {
                        anomaly.observed = current as u64;
                        anomaly.score = anomaly.score.max(test.score);
                        self.version += 1;
                        anomaly.version = self.version;
                        changed.push(anomaly.clone());
                    }
                    (current < test.threshold / 2.0).then_some(now)
                }
            };
            if let Some(end) = end {
                self.open.remove(&(key, kind));
                self.version += 1;
                let anomaly = &mut self.anomalies[index];
                anomaly.end = Some(end.max(anomaly.start));
                anomaly.version = self.version;
                changed.push(anomaly.clone());
            }
        }
        changed
    }

    /// Drops the oldest ended anomalies beyond [`super::DetectorConfig::ended_kept`].
    fn forget_ended(&mut self) {
        let ended = self.anomalies.len() - self.open.len();
        if ended <= 2 * self.config.ended_kept.max(1) {
            return;
        }
        let mut excess = ended - self.config.ended_kept;
        self.anomalies.retain(|a| {
            let drop = excess > 0 && a.end.is_some();
            excess -= usize::from(drop);
            !drop
        });
        self.open.clear();
        for (index, anomaly) in self.anomalies.iter().enumerate() {
            if anomaly.end.is_none() {
                let key = anomaly_key(anomaly);
                self.open.insert((key, anomaly.kind), index);
            }
        }
    }
}

/// The key an anomaly's name holds (see `Detector::open`).
fn anomaly_key(anomaly: &Anomaly) -> u64 {
    anomaly
        .name
        .split('-')
        .nth(1)
        .and_then(|hex| u64::from_str_radix(hex, 16).ok())
        .unwrap_or(0)
}
