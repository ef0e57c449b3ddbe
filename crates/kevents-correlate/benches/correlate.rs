//! Correlation cost per event over a realistic stream (kevents-simulate: rollouts, crash loops,
//! scheduling storms, 30% repeats), and what folding saves in a storm.
//!
//! `cargo bench -p kevents-correlate` (optionally `-- <events>`). Prints numbers, asserts nothing.

use kevents_correlate::fold::{AggregateWrite, FoldConfig, FoldDecision, Folder};
use kevents_correlate::{template_into, SeriesConfig, SeriesTracker};
use kevents_model::{EventRecord, Micros, ObjectRef};
use kevents_simulate::{Operation, Simulator};
use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::time::Instant;

mod common;

use common::{cpu_nanos, ALLOCATIONS, LIVE_BYTES};

const START: Micros = Micros(1_767_225_600_000_000);

/// (event as stored, its previous version, arrival time), one per simulated write.
/// `objects`: `None` keeps the simulator's objects (a new pod, with a new uid, for nearly every
/// new event); `Some(n)` maps them onto a fixed population of `n` objects, as in a cluster
/// whose pods keep emitting events.
fn stream(events: usize, objects: Option<u64>) -> Vec<(EventRecord, Option<EventRecord>, Micros)> {
    let mut simulator = Simulator::new(42, 0.3, START);
    let mut latest: HashMap<String, EventRecord> = HashMap::new();
    (0..events)
        .map(|i| {
            // 1,000 writes per second.
            let now = Micros(START.0 + i as i64 * 1000);
            let (mut event, previous) = match simulator.next_operation(now) {
                Operation::Create(event) => (event, None),
                Operation::Repeat(event) => {
                    let previous = latest.get(&event.name).cloned();
                    (event, previous)
                }
            };
            if let Some(population) = objects {
                let object = &mut event.involved_object;
                let index = twox_hash::XxHash3_64::oneshot(object.name.as_bytes()) % population;
                object.uid = format!("uid-{index}");
                object.name = format!("{}-{index}", object.kind.to_ascii_lowercase());
                // An object lives in one namespace and its kubelet on one node.
                if !object.namespace.is_empty() {
                    object.namespace = format!("namespace-{}", index % 20);
                    event.namespace = object.namespace.clone();
                }
                if !event.source_host.is_empty() {
                    event.source_host = format!("node-{}", index % 100);
                }
            }
            let previous = previous.map(|mut p| {
                p.involved_object = event.involved_object.clone();
                p.namespace = event.namespace.clone();
                p.source_host = event.source_host.clone();
                p
            });
            latest.insert(event.name.clone(), event.clone());
            (event, previous, now)
        })
        .collect()
}

fn correlation_cost(stream: &[(EventRecord, Option<EventRecord>, Micros)], config: SeriesConfig) {
    // One throwaway run warms caches and the allocator; each measured run starts from empty
    // state, so it includes creating every series, as a fresh hub would. The machine is
    // shared: the best of five runs is the cost, the median shows the spread.
    run(stream, config);
    let mut walls = Vec::new();
    let mut cpus = Vec::new();
    let mut last = None;
    let mut allocations = 0;
    let mut live = 0;
    for _ in 0..5 {
        drop(last.take());
        let live_before = LIVE_BYTES.load(Ordering::Relaxed);
        let allocations_before = ALLOCATIONS.load(Ordering::Relaxed);
        let cpu_before = cpu_nanos();
        let started = Instant::now();
        let result = run(stream, config);
        walls.push(started.elapsed().as_nanos() as f64 / stream.len() as f64);
        if let (Some(after), Some(before)) = (cpu_nanos(), cpu_before) {
            cpus.push((after - before) as f64 / stream.len() as f64);
        }
        allocations = ALLOCATIONS.load(Ordering::Relaxed) - allocations_before;
        live = LIVE_BYTES.load(Ordering::Relaxed) - live_before;
        last = Some(result);
    }
    let (tracker, folder) = last.expect("five runs");
    let (best_wall, median_wall) = best_and_median(&mut walls);
    println!(
        "correlation (template + series observe + fold decision) over {} events: \
         {best_wall:.0} ns/event (median of 5 runs {median_wall:.0})",
        stream.len()
    );
    if !cpus.is_empty() {
        let (best_cpu, median_cpu) = best_and_median(&mut cpus);
        println!("  CPU time: {best_cpu:.0} ns/event (median {median_cpu:.0})");
    }
    println!(
        "  allocations: {:.3} per event (new series)",
        allocations as f64 / stream.len() as f64
    );
    println!(
        "  series: {} (cap {}, evicted {}), heap {:.0} bytes per series",
        tracker.len(),
        tracker.config().max_series,
        tracker.stats().evicted,
        live as f64 / tracker.len().max(1) as f64
    );
    println!("  fold: {:?}", folder.stats());
}

fn templating_cost(stream: &[(EventRecord, Option<EventRecord>, Micros)]) {
    let mut buffer = String::with_capacity(1024);
    let mut best = f64::MAX;
    for _ in 0..5 {
        let started = Instant::now();
        for (event, _, _) in stream {
            template_into(&event.message, &mut buffer);
        }
        best = best.min(started.elapsed().as_nanos() as f64 / stream.len() as f64);
    }
    println!("templating alone: {best:.0} ns/event (best of 5)");
}

/// The write path's correlation work: for a new event, its series and the fold decision
/// before storing it; for every stored event, observing it (templated once: the tracker
/// remembers the last message it templated).
fn best_and_median(values: &mut [f64]) -> (f64, f64) {
    values.sort_by(f64::total_cmp);
    (values[0], values[values.len() / 2])
}

fn run(
    stream: &[(EventRecord, Option<EventRecord>, Micros)],
    config: SeriesConfig,
) -> (SeriesTracker, Folder) {
    let mut tracker = SeriesTracker::new(config);
    let mut folder = Folder::new(FoldConfig::default());
    for (event, previous, now) in stream {
        if previous.is_none() {
            let series = tracker.series_id("", event);
            let occurrences = u64::try_from(event.occurrences()).unwrap_or(1);
            let object = &event.involved_object.name;
            folder.offer(series, &event.namespace, object, occurrences, *now);
        }
        tracker.observe("", event, previous.as_ref(), *now);
    }
    (tracker, folder)
}

/// A model store for the storm: applies writes and feeds them to the tracker, as the hub's
/// change feed would.
struct StormStore {
    events: HashMap<String, EventRecord>,
    writes: u64,
}

impl StormStore {
    fn create(&mut self, tracker: &mut SeriesTracker, event: EventRecord, now: Micros) {
        tracker.observe("", &event, None, now);
        self.events.insert(event.name.clone(), event);
        self.writes += 1;
    }

    fn apply(
        &mut self,
        tracker: &mut SeriesTracker,
        write: AggregateWrite,
        template: &EventRecord,
        now: Micros,
    ) {
        let count = i32::try_from(write.count).unwrap_or(i32::MAX);
        if write.create {
            let mut aggregate = template.clone();
            aggregate.name = write.target.name;
            aggregate.count = count;
            aggregate.first_timestamp = Some(write.first_seen.truncate_to_seconds());
            aggregate.last_timestamp = Some(write.last_seen.truncate_to_seconds());
            self.create(tracker, aggregate, now);
        } else if let Some(stored) = self.events.get_mut(&write.target.name) {
            let previous = stored.clone();
            stored.count = count;
            stored.last_timestamp = Some(write.last_seen.truncate_to_seconds());
            tracker.observe("", stored, Some(&previous), now);
            self.writes += 1;
        }
    }
}

/// A FailedScheduling storm: one pod, 1,000 new events per second for `seconds`, through the
/// write path with folding; every write is a log record and a watch event.
fn storm(seconds: i64) {
    let mut tracker = SeriesTracker::new(SeriesConfig::default());
    let mut folder = Folder::new(FoldConfig::default());
    let mut store = StormStore {
        events: HashMap::new(),
        writes: 0,
    };
    let mut offered = 0u64;
    let mut last = None;
    for i in 0..seconds * 1000 {
        let now = Micros(START.0 + i * 1000);
        let event = EventRecord {
            namespace: "prod".into(),
            name: format!("api-5d8f7b9c4-x2k4q.{i:x}"),
            involved_object: ObjectRef {
                kind: "Pod".into(),
                namespace: "prod".into(),
                name: "api-5d8f7b9c4-x2k4q".into(),
                uid: "0b8e3a53-2a2c-4b8e-9f3c-2a1d3c4b5e6f".into(),
                ..Default::default()
            },
            reason: "FailedScheduling".into(),
            message: format!(
                "0/{} nodes are available: {} Insufficient cpu.",
                100 + i % 7,
                i % 5
            ),
            event_type: "Warning".into(),
            source_component: "default-scheduler".into(),
            first_timestamp: Some(now.truncate_to_seconds()),
            last_timestamp: Some(now.truncate_to_seconds()),
            count: 1,
            ..Default::default()
        };
        offered += 1;
        let series = tracker.series_id("", &event);
        match folder.offer(
            series,
            &event.namespace,
            &event.involved_object.name,
            1,
            now,
        ) {
            FoldDecision::Store => store.create(&mut tracker, event.clone(), now),
            FoldDecision::Folded { write, .. } => {
                if let Some(write) = write {
                    store.apply(&mut tracker, write, &event, now);
                }
            }
        }
        if i % 1000 == 999 {
            for write in folder.due_writes(now) {
                store.apply(&mut tracker, write, &event, now);
            }
        }
        last = Some((event, now));
    }
    if let Some((event, now)) = last {
        for write in folder.drain() {
            store.apply(&mut tracker, write, &event, now);
        }
    }
    let counted: u64 = tracker.iter().map(|s| s.count).sum();
    println!(
        "storm: {offered} FailedScheduling events in {seconds} s (1,000/s, one pod) -> {} store writes \
         ({} records) with folding, instead of {offered}: {:.0}x fewer log records and watch events; \
         series count {counted} (exact: {})",
        store.writes,
        store.events.len(),
        offered as f64 / store.writes as f64,
        counted == offered
    );
}

fn main() {
    let events = std::env::args()
        .skip(1)
        .find_map(|arg| arg.parse::<usize>().ok())
        .unwrap_or(400_000);
    let stream_of_new_objects = stream(events, None);
    templating_cost(&stream_of_new_objects);
    println!("simulated stream, a new object for nearly every new event (worst case):");
    correlation_cost(&stream_of_new_objects, SeriesConfig::default());
    println!("the same, series cap never reached:");
    correlation_cost(
        &stream_of_new_objects,
        SeriesConfig {
            max_series: usize::MAX,
            ..SeriesConfig::default()
        },
    );
    drop(stream_of_new_objects);
    println!("the same events about a population of 500 objects:");
    correlation_cost(&stream(events, Some(500)), SeriesConfig::default());
    storm(300);
}
