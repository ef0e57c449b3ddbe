//! Timing one kind of query: median and 99th percentile over a number of runs.

use std::time::{Duration, Instant};

/// `--only`, for `measure`.
pub(crate) static ONLY: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();

fn percentile(samples: &mut [Duration], p: f64) -> f64 {
    samples.sort();
    let at = ((samples.len() as f64 - 1.0) * p).round() as usize;
    samples[at].as_secs_f64() * 1000.0
}

pub(crate) fn measure(label: &str, queries: usize, mut run: impl FnMut(usize) -> usize) {
    if ONLY
        .get()
        .and_then(Option::as_deref)
        .is_some_and(|only| !label.contains(only))
    {
        return;
    }
    let mut samples = Vec::with_capacity(queries);
    let mut rows = 0;
    for i in 0..queries {
        let started = Instant::now();
        rows += run(i);
        samples.push(started.elapsed());
    }
    println!(
        "| {label} | {:.2} ms | {:.2} ms | {} |",
        percentile(&mut samples, 0.5),
        percentile(&mut samples, 0.99),
        rows / queries.max(1)
    );
}
