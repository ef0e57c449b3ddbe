//! The template miner: messages per second on one core over a simulated stream (the masking
//! rules alone are the anchor, measured in the same run), memory per 10,000 patterns, and that
//! the pattern caps bound memory.
//!
//! `cargo bench -p kevents-correlate --bench miner` (optionally `-- <messages>`). Prints numbers,
//! asserts nothing.

mod common;

use common::{cpu_nanos, LIVE_BYTES};
use kevents_correlate::miner::{Miner, MinerConfig};
use kevents_correlate::template_into;
use kevents_model::Micros;
use kevents_simulate::{Operation, Simulator};
use std::sync::atomic::Ordering;
use std::time::Instant;

/// (reason, message) of a simulated stream, with a short id the masking rules do not
/// recognise in every tenth message (as kubelets write them: `(1a3f2-7)`).
fn messages(count: usize) -> Vec<(String, String)> {
    let start = Micros(1_767_225_600_000_000);
    let mut simulator = Simulator::new(42, 0.0, start);
    (0..count)
        .map(|i| {
            let event = match simulator.next_operation(Micros(start.0 + i as i64 * 1000)) {
                Operation::Create(event) | Operation::Repeat(event) => event,
            };
            let message = if i % 10 == 0 {
                format!("{} ({:x}-{})", event.message, 0x1a3f2 + i % 4096, i % 8)
            } else {
                event.message
            };
            (event.reason, message)
        })
        .collect()
}

/// Best nanoseconds per message of five runs of `work` (CPU time when the platform has it).
fn best_of_five(count: usize, mut work: impl FnMut()) -> f64 {
    let mut best = f64::MAX;
    for _ in 0..5 {
        let (cpu, wall) = (cpu_nanos(), Instant::now());
        work();
        let nanos = match (cpu_nanos(), cpu) {
            (Some(after), Some(before)) => (after - before) as f64,
            _ => wall.elapsed().as_nanos() as f64,
        };
        best = best.min(nanos / count as f64);
    }
    best
}

fn throughput(messages: &[(String, String)]) {
    let masked: Vec<String> = messages
        .iter()
        .map(|(_, m)| {
            let mut out = String::new();
            template_into(m, &mut out);
            out
        })
        .collect();
    let mut out = String::new();
    let masking = best_of_five(messages.len(), || {
        for (_, message) in messages {
            template_into(message, &mut out);
        }
    });
    let mut miner = Miner::default();
    let mining = best_of_five(messages.len(), || {
        for ((reason, _), masked) in messages.iter().zip(&masked) {
            miner.learn(reason, masked, &mut out);
        }
    });
    let mut fresh = Miner::default();
    let mut buffer = String::new();
    let both = best_of_five(messages.len(), || {
        for (reason, message) in messages {
            template_into(message, &mut buffer);
            fresh.learn(reason, &buffer, &mut out);
        }
    });
    let per_second = |nanos: f64| 1e9 / nanos;
    println!(
        "{} simulated messages, {} patterns learned ({} gained a wildcard):",
        messages.len(),
        miner.stats().patterns,
        miner.stats().generalized
    );
    println!(
        "  masking rules (anchor): {masking:.0} ns/message, {:.0} messages/s",
        per_second(masking)
    );
    println!(
        "  miner alone:            {mining:.0} ns/message, {:.0} messages/s ({:.2}x the masking time)",
        per_second(mining),
        mining / masking
    );
    println!(
        "  masking + miner:        {both:.0} ns/message, {:.0} messages/s ({:.2}x the masking time)",
        per_second(both),
        both / masking
    );
}

/// `count` patterns of distinct words, spread over 100 reasons.
fn distinct(count: usize) -> impl Iterator<Item = (String, String)> {
    (0..count).map(|i| {
        let word: String = format!("{i:06}")
            .bytes()
            .map(|d| char::from(b'a' + (d - b'0')))
            .collect();
        (
            format!("Reason{}", i % 100),
            format!("MountVolume.SetUp failed for volume {word} : secret not found on node"),
        )
    })
}

fn memory() {
    let config = MinerConfig {
        max_patterns_per_reason: usize::MAX,
        max_patterns: usize::MAX,
        ..MinerConfig::default()
    };
    let before = LIVE_BYTES.load(Ordering::Relaxed);
    let mut miner = Miner::new(config);
    let mut out = String::new();
    for (reason, message) in distinct(10_000) {
        miner.learn(&reason, &message, &mut out);
    }
    let bytes = LIVE_BYTES.load(Ordering::Relaxed) - before;
    println!(
        "memory: {} patterns of 75-byte messages hold {:.1} MiB, {} bytes per pattern",
        miner.stats().patterns,
        bytes as f64 / (1 << 20) as f64,
        bytes / 10_000
    );
    drop(miner);
    let before = LIVE_BYTES.load(Ordering::Relaxed);
    let mut capped = Miner::default();
    for (_, message) in distinct(1_000_000) {
        capped.learn("FailedMount", &message, &mut out);
    }
    let bytes = LIVE_BYTES.load(Ordering::Relaxed) - before;
    println!(
        "bounded: 1,000,000 distinct messages of one reason with the default caps: {} patterns, \
         {} messages in <other>, {:.1} MiB",
        capped.stats().patterns,
        capped.stats().other,
        bytes as f64 / (1 << 20) as f64
    );
}

fn main() {
    let count = std::env::args()
        .skip(1)
        .find_map(|arg| arg.parse::<usize>().ok())
        .unwrap_or(400_000);
    throughput(&messages(count));
    memory();
}
