//! Correlation cost per event over a realistic stream (kevents-simulate: rollouts, crash loops,
//! scheduling storms, 30% repeats), and what folding saves in a storm.
//!
//! `cargo bench -p kevents-correlate` (optionally `-- <events>`). Prints numbers, asserts nothing.

use kevents_correlate::fold::{FoldConfig, FoldDecision, Folder};
use kevents_correlate::{template_into, SeriesConfig, SeriesTracker};
use kevents_model::{EventRecord, Micros, ObjectRef};
use kevents_simulate::{Operation, Simulator};
use std::alloc::{GlobalAlloc, Layout, System};
use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::Instant;

/// Counts allocations and live bytes, to check "allocates nothing per event" and measure
/// memory per series.
struct Counting;

static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);
static LIVE_BYTES: AtomicI64 = AtomicI64::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        LIVE_BYTES.fetch_add(layout.size() as i64, Ordering::Relaxed);
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE_BYTES.fetch_sub(layout.size() as i64, Ordering::Relaxed);
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        LIVE_BYTES.fetch_add(new_size as i64 - layout.size() as i64, Ordering::Relaxed);
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

const START: Micros = Micros(1_767_225_600_000_000);

/// (event as stored, its previous version, arrival time), one per simulated write.
fn stream(events: usize) -> Vec<(EventRecord, Option<EventRecord>, Micros)> {
    let mut simulator = Simulator::new(42, 0.3, START);
    let mut latest: HashMap<String, EventRecord> = HashMap::new();
    (0..events)
        .map(|i| {
            // 1,000 writes per second.
            let now = Micros(START.0 + i as i64 * 1000);
            let (event, previous) = match simulator.next_operation(now) {
                Operation::Create(event) => (event, None),
                Operation::Repeat(event) => {
                    let previous = latest.get(&event.name).cloned();
                    (event, previous)
                }
            };
            latest.insert(event.name.clone(), event.clone());
            (event, previous, now)
        })
        .collect()
}

fn correlation_cost(stream: &[(EventRecord, Option<EventRecord>, Micros)]) {
    // One throwaway run warms caches and the allocator; the measured run starts from empty
    // state, so it includes creating every series, as a fresh hub would.
    run(stream);
    let live_before = LIVE_BYTES.load(Ordering::Relaxed);
    let allocations_before = ALLOCATIONS.load(Ordering::Relaxed);
    let started = Instant::now();
    let (tracker, folder) = run(stream);
    let elapsed = started.elapsed();
    let allocations = ALLOCATIONS.load(Ordering::Relaxed) - allocations_before;
    let live = LIVE_BYTES.load(Ordering::Relaxed) - live_before;
    let per_event = elapsed.as_nanos() as f64 / stream.len() as f64;
    println!(
        "correlation (template + series observe + fold decision): {per_event:.0} ns/event over {} events",
        stream.len()
    );
    println!(
        "  allocations: {:.3} per event (new series and new aggregates)",
        allocations as f64 / stream.len() as f64
    );
    println!(
        "  series: {}, heap {:.0} bytes per series (tracker and folder)",
        tracker.len(),
        live as f64 / tracker.len().max(1) as f64
    );
    println!("  fold: {:?}", folder.stats());

    let mut buffer = String::with_capacity(1024);
    let started = Instant::now();
    for (event, _, _) in stream {
        template_into(&event.message, &mut buffer);
    }
    let template_ns = started.elapsed().as_nanos() as f64 / stream.len() as f64;
    println!("  of which templating alone: {template_ns:.0} ns/event");
}

fn run(stream: &[(EventRecord, Option<EventRecord>, Micros)]) -> (SeriesTracker, Folder) {
    let mut tracker = SeriesTracker::new(SeriesConfig::default());
    let mut folder = Folder::new(FoldConfig::default());
    for (event, previous, now) in stream {
        let observed = tracker.observe("", event, previous.as_ref(), *now);
        if previous.is_none() {
            let occurrences = u64::try_from(event.occurrences()).unwrap_or(1);
            let object = &event.involved_object.name;
            folder.offer(observed.series, &event.namespace, object, occurrences, *now);
        }
    }
    (tracker, folder)
}

/// A FailedScheduling storm: one pod, 1,000 new events per second for `seconds`.
fn storm(seconds: i64) {
    let mut tracker = SeriesTracker::new(SeriesConfig::default());
    let mut folder = Folder::new(FoldConfig::default());
    let (mut stored, mut aggregate_writes, mut offered) = (0u64, 0u64, 0u64);
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
        let observed = tracker.observe("", &event, None, now);
        match folder.offer(
            observed.series,
            &event.namespace,
            &event.involved_object.name,
            1,
            now,
        ) {
            FoldDecision::Store => stored += 1,
            FoldDecision::Folded { write, .. } => aggregate_writes += u64::from(write.is_some()),
        }
        if i % 1000 == 999 {
            aggregate_writes += folder.due_writes(now).len() as u64;
        }
    }
    aggregate_writes += folder.drain().len() as u64;
    let writes = stored + aggregate_writes;
    println!(
        "storm of {offered} FailedScheduling events over {seconds} s (1,000/s, one pod): \
         {writes} store writes with folding ({stored} records + {aggregate_writes} aggregate writes) \
         instead of {offered}: {:.1}x fewer; series count {}",
        offered as f64 / writes as f64,
        tracker.iter().map(|s| s.count).sum::<u64>()
    );
}

fn main() {
    let events = std::env::args()
        .skip(1)
        .find_map(|arg| arg.parse::<usize>().ok())
        .unwrap_or(400_000);
    let stream = stream(events);
    correlation_cost(&stream);
    storm(300);
}
