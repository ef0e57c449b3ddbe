//! `kevents describe KIND/NAME`: one object's full event history in order, like the Events
//! section of `kubectl describe`, with each event's occurrence window, counts and quiet gaps.

use crate::context::{parse_duration, HubArgs};
use crate::error::Result;
use crate::filter::{first_seen, last_seen, FilterArgs, ObjectName};
use crate::render::{age, clock, one_line, print_lines, table, Style};
use clap::Args;
use kevents_model::{human_duration, EventRecord, Micros};

/// Flags of `kevents describe`.
#[derive(Args, Debug)]
pub struct DescribeArgs {
    /// The object, as KIND/NAME (pod/web-0, node/worker-1).
    object: String,
    /// Only this namespace (default: the object in any namespace).
    #[arg(short = 'n', long)]
    namespace: Option<String>,
    /// Only events last seen within this long before now.
    #[arg(long, value_parser = parse_duration)]
    since: Option<i64>,
    #[command(flatten)]
    hub: HubArgs,
}

/// Runs `kevents describe`.
pub async fn run(args: DescribeArgs) -> Result<()> {
    let object = ObjectName::parse(&args.object)?;
    let context = args.hub.connect().await?;
    let filter = FilterArgs {
        namespace: args.namespace.clone(),
        since: args.since,
        for_object: Some(args.object.clone()),
        chunk_size: 500,
        ..FilterArgs::default()
    }
    .resolve(context.now)?;
    let (mut records, _) = crate::list::collect(&context.hub, &filter).await?;
    records.sort_by_key(|r| (first_seen(r), last_seen(r), r.name.clone()));
    let lines = render(
        &object,
        args.namespace.as_deref(),
        &records,
        context.now,
        &context.style,
    );
    print_lines(&context.style, &lines)
}

/// The quiet period worth a line between occurrence windows: 10 minutes, or 5% of the history.
fn gap_threshold(span: i64) -> i64 {
    (span / 20).max(600_000_000)
}

fn render(
    object: &ObjectName,
    namespace: Option<&str>,
    records: &[EventRecord],
    now: Micros,
    style: &Style,
) -> Vec<String> {
    let namespaces: std::collections::BTreeSet<&str> = records
        .iter()
        .map(|r| r.involved_object.namespace.as_str())
        .collect();
    let shown_namespace = namespace.map(str::to_string).unwrap_or_else(|| {
        namespaces
            .into_iter()
            .filter(|n| !n.is_empty())
            .collect::<Vec<_>>()
            .join(", ")
    });
    let mut lines = vec![
        format!("Name:         {}", object.name),
        format!("Kind:         {}", object.kind),
        format!(
            "Namespace:    {}",
            if shown_namespace.is_empty() {
                "<none>"
            } else {
                &shown_namespace
            }
        ),
    ];
    if records.is_empty() {
        lines.push("Events:       <none>".into());
        return lines;
    }
    let start = records.iter().map(first_seen).min().unwrap_or(now);
    let end = records.iter().map(last_seen).max().unwrap_or(now);
    let occurrences: i64 = records.iter().map(|r| i64::from(r.occurrences())).sum();
    let warnings: i64 = records
        .iter()
        .filter(|r| r.event_type == "Warning")
        .map(|r| i64::from(r.occurrences()))
        .sum();
    lines.push(format!(
        "History:      {} events, {occurrences} occurrences ({warnings} Warning) from {} to {} UTC ({})",
        records.len(),
        clock(start),
        clock(end),
        human_duration(end.0 - start.0)
    ));
    lines.push("Events:".into());
    let threshold = gap_threshold(end.0 - start.0);
    let mut rows: Vec<Vec<String>> = Vec::new();
    let mut covered_until: Option<Micros> = None;
    for record in records {
        let (first, last) = (first_seen(record), last_seen(record));
        if let Some(until) = covered_until {
            if first.0 - until.0 >= threshold {
                rows.push(vec![
                    String::new(),
                    style.dim("·····"),
                    style.dim(&format!("quiet for {}", human_duration(first.0 - until.0))),
                    String::new(),
                    String::new(),
                    String::new(),
                ]);
            }
        }
        covered_until = Some(covered_until.map_or(last, |u| u.max(last)));
        rows.push(vec![
            style.event_type(&record.event_type, &record.event_type),
            record.reason.clone(),
            age_with_count(record, now),
            window(first, last),
            record.source_name().to_string(),
            one_line(&record.message),
        ]);
    }
    let headers = ["Type", "Reason", "Age", "Window (UTC)", "From", "Message"];
    let underline: Vec<String> = headers.iter().map(|h| "-".repeat(h.len())).collect();
    let mut body = table(
        &headers,
        &[underline].into_iter().chain(rows).collect::<Vec<_>>(),
    );
    for line in &mut body {
        line.insert_str(0, "  ");
    }
    lines.extend(body);
    lines
}

/// `5m (x12 over 3h)` like kubectl describe; just the age when it happened once.
fn age_with_count(record: &EventRecord, now: Micros) -> String {
    let (first, last) = (first_seen(record), last_seen(record));
    let count = record.occurrences();
    if count > 1 {
        format!(
            "{} (x{count} over {})",
            age(now, Some(last)),
            human_duration(last.0 - first.0)
        )
    } else {
        age(now, Some(last))
    }
}

/// `01-02 15:04–15:40`, or one time when the window is a point.
fn window(first: Micros, last: Micros) -> String {
    let short = |t: Micros| clock(t)[5..16].to_string();
    if last.as_seconds() / 60 == first.as_seconds() / 60 {
        short(first)
    } else if clock(first)[..10] == clock(last)[..10] {
        format!("{}–{}", short(first), &clock(last)[11..16])
    } else {
        format!("{}–{}", short(first), short(last))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> Micros {
        Micros::parse(text).unwrap()
    }

    #[test]
    fn windows_are_compact() {
        assert_eq!(
            window(at("2026-01-02T15:04:05Z"), at("2026-01-02T15:04:50Z")),
            "01-02 15:04"
        );
        assert_eq!(
            window(at("2026-01-02T15:04:05Z"), at("2026-01-02T16:40:00Z")),
            "01-02 15:04–16:40"
        );
        assert_eq!(
            window(at("2026-01-02T15:04:05Z"), at("2026-01-03T01:00:00Z")),
            "01-02 15:04–01-03 01:00"
        );
    }

    #[test]
    fn repeated_events_show_count_and_span() {
        let record = EventRecord {
            count: 12,
            first_timestamp: Some(at("2026-01-02T09:00:00Z")),
            last_timestamp: Some(at("2026-01-02T11:55:00Z")),
            ..EventRecord::default()
        };
        assert_eq!(
            age_with_count(&record, at("2026-01-02T12:00:00Z")),
            "5m (x12 over 175m)"
        );
    }

    #[test]
    fn quiet_periods_between_windows_get_a_line() {
        let event = |first: &str, last: &str| EventRecord {
            event_type: "Normal".into(),
            first_timestamp: Some(at(first)),
            last_timestamp: Some(at(last)),
            ..EventRecord::default()
        };
        let records = [
            event("2026-01-02T09:00:00Z", "2026-01-02T09:30:00Z"),
            event("2026-01-02T11:00:00Z", "2026-01-02T11:00:00Z"),
        ];
        let object = ObjectName {
            kind: "Pod".into(),
            name: "web-0".into(),
        };
        let lines = render(
            &object,
            Some("default"),
            &records,
            at("2026-01-02T12:00:00Z"),
            &Style::plain(),
        );
        assert!(
            lines.iter().any(|l| l.contains("quiet for 90m")),
            "{lines:#?}"
        );
    }
}
