//! `kevents top reasons|objects|namespaces|sources|patterns`: what is noisy now, ranked, with
//! rates and the change against the window before.

use crate::context::HubArgs;
use crate::error::Result;
use crate::filter::FilterArgs;
use crate::render::{clock, one_line, print_lines, table};
use crate::spread::occurrences_in;
use clap::{Args, ValueEnum};
use kevents_model::{human_duration, EventRecord, Micros};
use std::collections::HashMap;

/// What `top` ranks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TopKey {
    /// Event reasons (BackOff, FailedScheduling, …).
    Reasons,
    /// Involved objects (namespace/kind/name).
    Objects,
    /// Namespaces.
    Namespaces,
    /// Reporting components (kubelet, default-scheduler, …).
    Sources,
    /// Messages with numbers, ids, IPs and quoted values masked.
    Patterns,
}

/// Flags of `kevents top`.
#[derive(Args, Debug)]
pub struct TopArgs {
    /// What to rank.
    #[arg(value_enum)]
    key: TopKey,
    #[command(flatten)]
    filter: FilterArgs,
    /// Rows to show.
    #[arg(long, default_value_t = 10)]
    limit: usize,
    #[command(flatten)]
    hub: HubArgs,
}

const HOUR: i64 = 3_600_000_000;

/// One ranked row.
#[derive(Debug, Clone, PartialEq)]
pub struct Ranked {
    /// The key (a reason, an object, a pattern…).
    pub key: String,
    /// Occurrences in the window.
    pub count: f64,
    /// Occurrences in the window before.
    pub previous: f64,
}

/// Runs `kevents top`.
pub async fn run(args: TopArgs) -> Result<()> {
    let context = args.hub.connect().await?;
    let now = context.now;
    let (start, end) = match (args.filter.since, args.filter.from, args.filter.to) {
        (Some(since), _, to) => (Micros(to.unwrap_or(now).0 - since), to.unwrap_or(now)),
        (None, Some(from), to) => (from, to.unwrap_or(now)),
        (None, None, to) => (Micros(to.unwrap_or(now).0 - HOUR), to.unwrap_or(now)),
    };
    let length = (end.0 - start.0).max(1);
    let previous_start = Micros(start.0 - length);
    let fetch = FilterArgs {
        since: None,
        from: Some(previous_start),
        to: None,
        ..args.filter.clone()
    }
    .resolve(now)?;
    let (records, _) = crate::list::collect(&context.hub, &fetch).await?;
    let ranked = rank(&records, args.key, (previous_start, start, end));
    let total: f64 = ranked.iter().map(|r| r.count).sum();
    let total_before: f64 = ranked.iter().map(|r| r.previous).sum();
    let mut lines = vec![format!(
        "Top {} from {} to {} UTC ({}): {} occurrences, {} in the {} before",
        format!("{:?}", args.key).to_lowercase(),
        clock(start),
        clock(end),
        human_duration(length),
        total.round(),
        total_before.round(),
        human_duration(length)
    )];
    let shown: Vec<&Ranked> = ranked
        .iter()
        .filter(|r| r.count >= 0.5)
        .take(args.limit)
        .collect();
    if shown.is_empty() {
        lines.push("No events in this window.".into());
        return print_lines(&context.style, &lines);
    }
    let per_minute = length <= 2 * HOUR;
    let rate_header = if per_minute { "PER MIN" } else { "PER HOUR" };
    let unit = if per_minute {
        60_000_000.0
    } else {
        HOUR as f64
    };
    let header = match args.key {
        TopKey::Reasons => "REASON",
        TopKey::Objects => "OBJECT",
        TopKey::Namespaces => "NAMESPACE",
        TopKey::Sources => "SOURCE",
        TopKey::Patterns => "PATTERN",
    };
    let rows: Vec<Vec<String>> = shown
        .iter()
        .enumerate()
        .map(|(i, r)| {
            vec![
                (i + 1).to_string(),
                format!("{:.0}", r.count),
                format!("{:.1}", r.count * unit / length as f64),
                format!("{:.0}", r.previous),
                change(r.count, r.previous),
                r.key.clone(),
            ]
        })
        .collect();
    lines.push(String::new());
    lines.extend(table(
        &["#", "COUNT", rate_header, "BEFORE", "CHANGE", header],
        &rows,
    ));
    print_lines(&context.style, &lines)
}

/// The key of `record` for `key`.
fn key_of(record: &EventRecord, key: TopKey) -> String {
    match key {
        TopKey::Reasons => record.reason.clone(),
        TopKey::Objects => {
            let object = &record.involved_object;
            let namespace = if object.namespace.is_empty() {
                &record.namespace
            } else {
                &object.namespace
            };
            format!(
                "{namespace}/{}/{}",
                object.kind.to_ascii_lowercase(),
                object.name
            )
        }
        TopKey::Namespaces => record.namespace.clone(),
        TopKey::Sources => record.source_name().to_string(),
        TopKey::Patterns => one_line(&kevents_correlate::template(&record.message)),
    }
}

/// Counts per key in the window `(start, end]` and the one before, `(previous_start, start]`;
/// highest count first, ties by key.
pub fn rank(
    records: &[EventRecord],
    key: TopKey,
    (previous_start, start, end): (Micros, Micros, Micros),
) -> Vec<Ranked> {
    let mut counts: HashMap<String, (f64, f64)> = HashMap::new();
    for record in records {
        let now = occurrences_in(record, start, end);
        let before = occurrences_in(record, previous_start, start);
        if now == 0.0 && before == 0.0 {
            continue;
        }
        let entry = counts.entry(key_of(record, key)).or_default();
        entry.0 += now;
        entry.1 += before;
    }
    let mut ranked: Vec<Ranked> = counts
        .into_iter()
        .map(|(key, (count, previous))| Ranked {
            key,
            count,
            previous,
        })
        .collect();
    ranked.sort_by(|a, b| b.count.total_cmp(&a.count).then_with(|| a.key.cmp(&b.key)));
    ranked
}

/// `+150%`, `-20%`, `new`, `gone` or `=`.
pub fn change(count: f64, previous: f64) -> String {
    let (count, previous) = (count.round(), previous.round());
    if previous == 0.0 {
        return if count > 0.0 {
            "new".into()
        } else {
            "=".into()
        };
    }
    if count == 0.0 {
        return "gone".into();
    }
    let percent = (count - previous) / previous * 100.0;
    if percent.abs() < 0.5 {
        "=".into()
    } else {
        format!("{percent:+.0}%")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(reason: &str, last: i64, count: i32) -> EventRecord {
        EventRecord {
            reason: reason.into(),
            last_timestamp: Some(Micros(last)),
            first_timestamp: Some(Micros(last)),
            count,
            ..EventRecord::default()
        }
    }

    #[test]
    fn ranks_by_count_in_the_window_and_compares_with_the_one_before() {
        let records = [
            event("BackOff", 150, 5),
            event("BackOff", 50, 2),
            event("Pulled", 120, 1),
            event("Old", 10, 9),
        ];
        let ranked = rank(
            &records,
            TopKey::Reasons,
            (Micros(0), Micros(100), Micros(200)),
        );
        assert_eq!(
            ranked[0],
            Ranked {
                key: "BackOff".into(),
                count: 5.0,
                previous: 2.0
            }
        );
        assert_eq!(ranked[1].key, "Pulled");
        assert_eq!(change(5.0, 2.0), "+150%");
        assert_eq!(change(1.0, 0.0), "new");
        assert_eq!(change(0.0, 9.0), "gone");
    }
}
