//! Anomaly detection against the static threshold rule of the README
//! (`rate(kube_event_count{type="Warning"}[5m]) > 0.5`) on one labelled stream
//! (`kevents_simulate::labelled_stream`: days of a cluster's life with injected incidents),
//! both evaluated every 15 seconds of simulated time: alerts, true and false, precision,
//! recall, F1 and detection delay; the static rule also at lower thresholds, to compare false
//! alerts at equal recall.
//!
//! `cargo bench -p kevents-anomaly --bench detection [-- DAYS INCIDENTS SEED]`. Prints numbers,
//! asserts nothing.

use kevents_anomaly::{Detector, DetectorConfig, Occurrence};
use kevents_correlate::{template_into, Miner};
use kevents_model::Micros;
use kevents_simulate::{labelled_stream, Incident, IncidentKind, LabelledStream};
use std::collections::{BTreeMap, HashSet, VecDeque};

const MINUTE: i64 = 60_000_000;
const TICK: i64 = 15_000_000;
/// An alert up to this long after an incident's end still belongs to it.
const SLACK: i64 = 10 * MINUTE;

/// When each anomaly was first reported.
fn anomaly_alerts(stream: &LabelledStream) -> Vec<(Micros, String)> {
    let mut detector = Detector::new(DetectorConfig::default());
    let mut miner = Miner::default();
    let (mut masked, mut learned) = (String::new(), String::new());
    let mut seen = HashSet::new();
    let mut alerts = Vec::new();
    let mut record =
        |at: Micros, found: Vec<kevents_anomaly::Anomaly>, alerts: &mut Vec<(Micros, String)>| {
            for anomaly in found {
                if seen.insert(anomaly.name.clone()) {
                    alerts.push((
                        at,
                        format!(
                            "{} {} {}",
                            anomaly.kind.as_str(),
                            anomaly.reason,
                            anomaly.namespace
                        ),
                    ));
                }
            }
        };
    let mut next_tick = stream.events.first().map_or(0, |e| e.at.0);
    for (index, event) in stream.events.iter().enumerate() {
        while next_tick <= event.at.0 {
            let found = detector.evaluate(Micros(next_tick));
            record(Micros(next_tick), found, &mut alerts);
            next_tick += TICK;
        }
        template_into(&event.message, &mut masked);
        if let Some(previous) = miner.learn(event.reason, &masked, &mut learned) {
            detector.merge_pattern("", event.reason, &previous, &learned);
        }
        let name = format!("{}.{index:x}", event.object);
        let occurrence = Occurrence {
            cluster: "",
            namespace: &event.namespace,
            reason: event.reason,
            event_type: event.event_type,
            template: &learned,
            object_kind: event.kind,
            object_namespace: &event.namespace,
            object_name: &event.object,
            event: &name,
            key_resource: false,
            at: event.at,
            count: u64::from(event.count),
        };
        let found = detector.observe(&occurrence, event.at);
        record(event.at, found, &mut alerts);
    }
    alerts
}

/// When the static rule starts firing, for each threshold (Warnings per second over 5 minutes).
fn static_alerts(stream: &LabelledStream, thresholds: &[f64]) -> Vec<Vec<(Micros, String)>> {
    let mut window: VecDeque<(i64, u32)> = VecDeque::new();
    let mut in_window = 0u64;
    let mut firing = vec![false; thresholds.len()];
    let mut alerts = vec![Vec::new(); thresholds.len()];
    let mut events = stream
        .events
        .iter()
        .filter(|e| e.event_type == "Warning")
        .peekable();
    let (Some(first), Some(last)) = (stream.events.first(), stream.events.last()) else {
        return alerts;
    };
    let mut tick = first.at.0;
    while tick <= last.at.0 {
        while let Some(event) = events.next_if(|e| e.at.0 <= tick) {
            window.push_back((event.at.0, event.count));
            in_window += u64::from(event.count);
        }
        while let Some(&(at, count)) = window.front().filter(|&&(at, _)| at <= tick - 5 * MINUTE) {
            let _ = at;
            window.pop_front();
            in_window -= u64::from(count);
        }
        let rate = in_window as f64 / 300.0;
        for (index, &threshold) in thresholds.iter().enumerate() {
            let now_firing = rate > threshold;
            if now_firing && !firing[index] {
                alerts[index].push((Micros(tick), format!("rate {rate:.2}/s")));
            }
            firing[index] = now_firing;
        }
        tick += TICK;
    }
    alerts
}

struct Score {
    alerts: usize,
    false_alerts: usize,
    detected: usize,
    delays: Vec<f64>,
    by_kind: BTreeMap<IncidentKind, (usize, usize, Vec<f64>)>,
}

fn score(alerts: &[(Micros, String)], incidents: &[Incident]) -> Score {
    let mut false_alerts = 0;
    for (at, _) in alerts {
        if !incidents
            .iter()
            .any(|i| i.start.0 <= at.0 && at.0 <= i.end.0 + SLACK)
        {
            false_alerts += 1;
        }
    }
    let mut by_kind: BTreeMap<IncidentKind, (usize, usize, Vec<f64>)> = BTreeMap::new();
    let mut delays = Vec::new();
    for incident in incidents {
        let first = alerts
            .iter()
            .filter(|(at, _)| incident.start.0 <= at.0 && at.0 <= incident.end.0 + SLACK)
            .map(|(at, _)| at.0)
            .min();
        let entry = by_kind.entry(incident.kind).or_default();
        entry.1 += 1;
        if let Some(at) = first {
            let delay = (at - incident.start.0) as f64 / MINUTE as f64;
            entry.0 += 1;
            entry.2.push(delay);
            delays.push(delay);
        }
    }
    Score {
        alerts: alerts.len(),
        false_alerts,
        detected: delays.len(),
        delays,
        by_kind,
    }
}

fn median(values: &[f64]) -> f64 {
    let mut values = values.to_vec();
    values.sort_by(f64::total_cmp);
    match values.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => values[n / 2],
        n => (values[n / 2 - 1] + values[n / 2]) / 2.0,
    }
}

fn row(name: &str, score: &Score, incidents: usize) -> (f64, usize) {
    let precision = if score.alerts == 0 {
        0.0
    } else {
        (score.alerts - score.false_alerts) as f64 / score.alerts as f64
    };
    let recall = score.detected as f64 / incidents.max(1) as f64;
    let f1 = if precision + recall == 0.0 {
        0.0
    } else {
        2.0 * precision * recall / (precision + recall)
    };
    println!(
        "| {name} | {} | {} | {} | {precision:.2} | {recall:.2} | {f1:.2} | {:.1} min |",
        score.alerts,
        score.alerts - score.false_alerts,
        score.false_alerts,
        median(&score.delays)
    );
    (recall, score.false_alerts)
}

fn main() {
    let args: Vec<i64> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let days = args.first().copied().unwrap_or(14);
    let incidents = args.get(1).copied().unwrap_or(20) as usize;
    let seed = args.get(2).copied().unwrap_or(7) as u64;
    // A fixed end (Monday 2026-01-19 00:00 UTC), so the same seed gives the same stream.
    let stream = labelled_stream(days, incidents, seed, Micros(1_768_780_800_000_000));
    let warnings: u64 = stream
        .events
        .iter()
        .filter(|e| e.event_type == "Warning")
        .map(|e| u64::from(e.count))
        .sum();
    println!(
        "labelled stream: {days} days, {} events ({warnings} Warnings), {} incidents, seed {seed}",
        stream.events.len(),
        stream.incidents.len()
    );
    let started = std::time::Instant::now();
    let anomalies = anomaly_alerts(&stream);
    let seconds = started.elapsed().as_secs_f64();
    let thresholds = [0.5, 0.2, 0.1, 0.05, 0.02];
    let statics = static_alerts(&stream, &thresholds);
    println!();
    println!("| method | alerts | true | false | precision | recall | F1 | median delay |");
    println!("|---|---|---|---|---|---|---|---|");
    let anomaly_score = score(&anomalies, &stream.incidents);
    let (anomaly_recall, anomaly_false) = row("anomalies", &anomaly_score, stream.incidents.len());
    let mut equal_recall = None;
    let mut best_static: Option<(f64, f64, usize)> = None;
    for (threshold, alerts) in thresholds.iter().zip(&statics) {
        let static_score = score(alerts, &stream.incidents);
        let name = if *threshold == 0.5 {
            "static rule (README: > 0.5/s)".to_string()
        } else {
            format!("static rule > {threshold}/s")
        };
        let (recall, false_alerts) = row(&name, &static_score, stream.incidents.len());
        if best_static.is_none_or(|(_, best, _)| recall > best) {
            best_static = Some((*threshold, recall, false_alerts));
        }
        if equal_recall.is_none() && recall >= anomaly_recall {
            equal_recall = Some((*threshold, false_alerts));
        }
    }
    println!();
    match equal_recall {
        Some((threshold, false_alerts)) => println!(
            "at equal recall ({anomaly_recall:.2}) the static rule needs > {threshold}/s and raises {false_alerts} false alerts, \
             {:.1}x the anomalies' {anomaly_false}",
            false_alerts as f64 / anomaly_false.max(1) as f64
        ),
        None => {
            println!("no static threshold tried reaches the anomalies' recall ({anomaly_recall:.2})");
            if let Some((threshold, recall, false_alerts)) = best_static {
                println!(
                    "its best recall ({recall:.2}, at > {threshold}/s) costs {false_alerts} false alerts, {:.1}x the anomalies' {anomaly_false}",
                    false_alerts as f64 / anomaly_false.max(1) as f64
                );
            }
        }
    }
    println!();
    println!("| incident kind | detected (anomalies) | median delay | detected (static > 0.5/s) |");
    println!("|---|---|---|---|");
    let readme = score(&statics[0], &stream.incidents);
    for (kind, (detected, total, delays)) in &anomaly_score.by_kind {
        let statically = readme.by_kind.get(kind).map_or(0, |k| k.0);
        println!(
            "| {} | {detected}/{total} | {:.1} min | {statically}/{total} |",
            kind.as_str(),
            median(delays)
        );
    }
    println!();
    println!(
        "detector: {:.0} events/s ({seconds:.1} s for the stream, one core)",
        stream.events.len() as f64 / seconds
    );
    for (at, what) in anomalies
        .iter()
        .filter(|(at, _)| {
            !stream
                .incidents
                .iter()
                .any(|i| i.start.0 <= at.0 && at.0 <= i.end.0 + SLACK)
        })
        .take(10)
    {
        println!("false alert at {}: {what}", at.to_time_string());
    }
}
