//! `kevents timeline`: Normal vs Warning occurrences per time bucket as sparklines and a
//! histogram, with the top reasons of each bucket; the bucket size follows the range.

use crate::context::HubArgs;
use crate::error::Result;
use crate::filter::{first_seen, FilterArgs};
use crate::render::{clock, print_lines, Style};
use crate::spread::occurrences_in;
use clap::Args;
use kevents_model::{human_duration, EventRecord, Micros};
use std::collections::HashMap;

/// Flags of `kevents timeline`.
#[derive(Args, Debug)]
pub struct TimelineArgs {
    #[command(flatten)]
    filter: FilterArgs,
    /// At most this many buckets (rows); the bucket size is the smallest round size that fits.
    #[arg(long, default_value_t = 24, value_parser = clap::value_parser!(u32).range(2..=500))]
    buckets: u32,
    #[command(flatten)]
    hub: HubArgs,
}

const MINUTE: i64 = 60_000_000;

/// Round bucket sizes, smallest first.
const SIZES: [i64; 14] = [
    MINUTE,
    2 * MINUTE,
    5 * MINUTE,
    10 * MINUTE,
    15 * MINUTE,
    30 * MINUTE,
    60 * MINUTE,
    120 * MINUTE,
    180 * MINUTE,
    360 * MINUTE,
    720 * MINUTE,
    1440 * MINUTE,
    2 * 1440 * MINUTE,
    7 * 1440 * MINUTE,
];

/// One bucket's tallies.
#[derive(Debug, Clone)]
pub struct Bucket {
    /// Start of the bucket (exclusive) — its label.
    pub start: Micros,
    /// Normal occurrences.
    pub normal: f64,
    /// Warning occurrences.
    pub warning: f64,
    /// Occurrences per reason.
    pub reasons: HashMap<String, f64>,
}

/// The smallest round size giving at most `max_buckets` aligned buckets over `(from, to]`.
pub fn bucket_size(from: Micros, to: Micros, max_buckets: i64) -> i64 {
    for size in SIZES {
        let count = (to.0 - 1).div_euclid(size) - from.0.div_euclid(size) + 1;
        if count <= max_buckets {
            return size;
        }
    }
    let span = to.0 - from.0;
    (span / max_buckets.max(1) / SIZES[11] + 1) * SIZES[11]
}

/// Tallies `records` into aligned buckets of `size` covering `(from, to]`.
pub fn buckets(records: &[EventRecord], from: Micros, to: Micros, size: i64) -> Vec<Bucket> {
    let mut out = Vec::new();
    let mut start = from.0.div_euclid(size) * size;
    while start < to.0 || out.is_empty() {
        out.push(Bucket {
            start: Micros(start),
            normal: 0.0,
            warning: 0.0,
            reasons: HashMap::new(),
        });
        start += size;
    }
    for record in records {
        for bucket in &mut out {
            let low = Micros(bucket.start.0.max(from.0));
            let high = Micros((bucket.start.0 + size).min(to.0));
            let n = occurrences_in(record, low, high);
            if n == 0.0 {
                continue;
            }
            if record.event_type == "Warning" {
                bucket.warning += n;
            } else {
                bucket.normal += n;
            }
            *bucket.reasons.entry(record.reason.clone()).or_default() += n;
        }
    }
    out
}

/// A sparkline of `values`, one block character each.
pub fn sparkline(values: &[f64]) -> String {
    const BLOCKS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    let max = values.iter().copied().fold(0.0, f64::max);
    values
        .iter()
        .map(|v| {
            if *v < 0.5 {
                ' '
            } else {
                BLOCKS[((v / max) * 7.0).round().clamp(0.0, 7.0) as usize]
            }
        })
        .collect()
}

/// Runs `kevents timeline`.
pub async fn run(args: TimelineArgs) -> Result<()> {
    let context = args.hub.connect().await?;
    let filter = args.filter.resolve(context.now)?;
    let (records, _) = crate::list::collect(&context.hub, &filter).await?;
    let to = filter.to.unwrap_or(context.now);
    let from = filter
        .from
        .unwrap_or_else(|| Micros(records.iter().map(first_seen).min().unwrap_or(to).0 - 1));
    let lines = render(&records, from, to, i64::from(args.buckets), &context.style);
    print_lines(&context.style, &lines)
}

fn render(
    records: &[EventRecord],
    from: Micros,
    to: Micros,
    max_buckets: i64,
    style: &Style,
) -> Vec<String> {
    let size = bucket_size(from, to, max_buckets);
    let buckets = buckets(records, from, to, size);
    let normal: f64 = buckets.iter().map(|b| b.normal).sum();
    let warning: f64 = buckets.iter().map(|b| b.warning).sum();
    let mut lines = vec![format!(
        "{} buckets of {} from {} to {} UTC: {normal:.0} Normal, {warning:.0} Warning",
        buckets.len(),
        human_duration(size),
        clock(from),
        clock(to)
    )];
    let warnings: Vec<f64> = buckets.iter().map(|b| b.warning).collect();
    let normals: Vec<f64> = buckets.iter().map(|b| b.normal).collect();
    lines.push(format!(
        "Warning │{}│",
        style.event_type(&sparkline(&warnings), "Warning")
    ));
    lines.push(format!("Normal  │{}│", sparkline(&normals)));
    lines.push(String::new());
    let same_day = clock(from)[..10] == clock(to)[..10];
    let label = |t: Micros| {
        if same_day {
            clock(t)[11..16].to_string()
        } else {
            clock(t)[5..16].to_string()
        }
    };
    let bar_width = style.width.map_or(30, |w| (w / 4).clamp(10, 40));
    let max_total = buckets
        .iter()
        .map(|b| b.normal + b.warning)
        .fold(0.0, f64::max)
        .max(1.0);
    for bucket in &buckets {
        let scale = |v: f64| ((v / max_total) * bar_width as f64).round() as usize;
        let warning_cells = scale(bucket.warning);
        let normal_cells = scale(bucket.normal + bucket.warning).saturating_sub(warning_cells);
        let bar = format!(
            "{}{}{}",
            style.event_type(&"█".repeat(warning_cells), "Warning"),
            "░".repeat(normal_cells),
            " ".repeat(bar_width.saturating_sub(warning_cells + normal_cells))
        );
        let mut reasons: Vec<(&String, &f64)> =
            bucket.reasons.iter().filter(|(_, n)| **n >= 0.5).collect();
        reasons.sort_by(|a, b| b.1.total_cmp(a.1).then_with(|| a.0.cmp(b.0)));
        let top: Vec<String> = reasons
            .iter()
            .take(3)
            .map(|(r, n)| format!("{r} {n:.0}"))
            .collect();
        lines.push(
            format!(
                "{}  {bar}  {:>5} W {:>5} N  {}",
                label(bucket.start),
                format!("{:.0}", bucket.warning),
                format!("{:.0}", bucket.normal),
                top.join(", ")
            )
            .trim_end()
            .to_string(),
        );
    }
    lines.push(format!(
        "{}  {} Warning  ░ Normal",
        " ".repeat(label(from).len()),
        style.event_type("█", "Warning")
    ));
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_size_follows_the_range() {
        let hour = 60 * MINUTE;
        assert_eq!(bucket_size(Micros(0), Micros(hour), 24), 5 * MINUTE);
        assert_eq!(bucket_size(Micros(0), Micros(24 * hour), 24), hour);
        assert_eq!(bucket_size(Micros(1), Micros(24 * hour), 24), hour);
        assert_eq!(bucket_size(Micros(1), Micros(24 * hour + 1), 24), 2 * hour);
        assert_eq!(bucket_size(Micros(0), Micros(7 * 24 * hour), 24), 12 * hour);
    }

    #[test]
    fn buckets_split_normal_and_warning_and_count_reasons() {
        let event = |t: &str, reason: &str, time: i64| EventRecord {
            event_type: t.into(),
            reason: reason.into(),
            last_timestamp: Some(Micros(time)),
            ..EventRecord::default()
        };
        let records = [
            event("Warning", "BackOff", 90),
            event("Normal", "Pulled", 30),
            event("Warning", "BackOff", 95),
        ];
        let tallies = buckets(&records, Micros(0), Micros(100), 50);
        assert_eq!((tallies[0].normal, tallies[0].warning), (1.0, 0.0));
        assert_eq!((tallies[1].normal, tallies[1].warning), (0.0, 2.0));
        assert_eq!(tallies[1].reasons["BackOff"], 2.0);
        assert_eq!(sparkline(&[0.0, 1.0, 8.0]), " ▂█");
    }
}
