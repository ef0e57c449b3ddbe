//! `kevents count [reasons|types|namespaces|kinds|objects|sources|clusters]`: the hub counts
//! the stored events by one field over a window of last-seen times (`eventcounts`), so a week
//! of millions of events is counted in milliseconds without listing them.

use crate::context::HubArgs;
use crate::error::{CliError, Result};
use crate::filter::FilterArgs;
use crate::hub::encode_query;
use crate::render::{clock, print_lines, table};
use clap::{Args, ValueEnum};
use kevents_model::Micros;
use serde_json::Value;

/// What `count` groups by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CountBy {
    /// Event reasons.
    Reasons,
    /// Normal / Warning.
    Types,
    /// Namespaces.
    Namespaces,
    /// Involved object kinds.
    Kinds,
    /// Involved object names.
    Objects,
    /// Reporting components (source.component, else reportingController).
    Sources,
    /// Clusters (collected ones, and the hub's own under its `--cluster-name`).
    Clusters,
}

impl CountBy {
    fn field(self) -> (&'static str, &'static str) {
        match self {
            CountBy::Reasons => ("reason", "REASON"),
            CountBy::Types => ("type", "TYPE"),
            CountBy::Namespaces => ("namespace", "NAMESPACE"),
            CountBy::Kinds => ("kind", "KIND"),
            CountBy::Objects => ("object", "OBJECT"),
            CountBy::Sources => ("source", "SOURCE"),
            CountBy::Clusters => ("cluster", "CLUSTER"),
        }
    }
}

/// Output of `count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CountOutput {
    /// A table.
    Table,
    /// The hub's `EventCountList` as JSON.
    Json,
}

/// Flags of `kevents count`.
#[derive(Args, Debug)]
pub struct CountArgs {
    /// What to count by.
    #[arg(value_enum, default_value = "reasons")]
    by: CountBy,
    #[command(flatten)]
    filter: FilterArgs,
    /// Rows to show (0: all).
    #[arg(long, default_value_t = 20)]
    limit: usize,
    /// Output format.
    #[arg(short = 'o', long, value_enum, default_value = "table")]
    output: CountOutput,
    #[command(flatten)]
    hub: HubArgs,
}

/// The `eventcounts` path for `filter`'s flags.
fn counts_path(args: &CountArgs, now: Micros) -> Result<String> {
    if args.filter.label_selector.is_some() {
        return Err(CliError::Invalid(
            "count selects by fields only (-l is for get, top and export)".into(),
        ));
    }
    let filter = args.filter.resolve(now)?;
    let mut path = match &args.filter.cluster {
        Some(cluster) => format!("/clusters/{cluster}"),
        None => String::new(),
    };
    path.push_str("/apis/kevents.io/v1");
    if let Some(namespace) = &filter.namespace {
        path.push_str(&format!("/namespaces/{}", encode_query(namespace)));
    }
    path.push_str(&format!(
        "/eventcounts?by={}&limit={}",
        args.by.field().0,
        args.limit
    ));
    // The list query's field selector, and the kind of `--for` (checked exactly here).
    let mut fields: Vec<String> = filter
        .list_path
        .split_once('?')
        .map(|(_, query)| query)
        .unwrap_or("")
        .split('&')
        .filter_map(|p| p.strip_prefix("fieldSelector="))
        .map(str::to_string)
        .collect();
    if let Some(kind) = &filter.kind {
        let kind = crate::filter::escape_selector_value(kind);
        fields.push(encode_query(&format!("involvedObject.kind={kind}")));
    }
    if !fields.is_empty() {
        path.push_str(&format!("&fieldSelector={}", fields.join("%2C")));
    }
    if let Some(from) = filter.from {
        path.push_str(&format!(
            "&from={}",
            encode_query(&from.to_micro_time_string())
        ));
    }
    if let Some(to) = filter.to {
        path.push_str(&format!("&to={}", encode_query(&to.to_micro_time_string())));
    }
    Ok(path)
}

/// Runs `kevents count`.
pub async fn run(args: CountArgs) -> Result<()> {
    let context = args.hub.connect().await?;
    let path = counts_path(&args, context.now)?;
    let answer: Value = context.hub.get(&path).await?;
    if args.output == CountOutput::Json {
        let text = serde_json::to_string_pretty(&answer).expect("a JSON value prints");
        return print_lines(&context.style, &[text]);
    }
    let number = |v: &Value, key: &str| v.get(key).and_then(Value::as_u64).unwrap_or(0);
    let items = answer["items"].as_array().cloned().unwrap_or_default();
    let total_events = number(&answer["total"], "events");
    let window = match (
        answer["from"].as_str().and_then(Micros::parse),
        answer["to"].as_str().and_then(Micros::parse),
    ) {
        (Some(from), Some(to)) => format!("from {} to {} UTC", clock(from), clock(to)),
        (Some(from), None) => format!("since {} UTC", clock(from)),
        (None, Some(to)) => format!("until {} UTC", clock(to)),
        (None, None) => "over all stored events".into(),
    };
    let mut lines = vec![format!(
        "{} events ({} occurrences) {window}, by {}",
        total_events,
        number(&answer["total"], "occurrences"),
        args.by.field().0
    )];
    if items.is_empty() {
        lines.push("No events in this window.".into());
        return print_lines(&context.style, &lines);
    }
    let rows: Vec<Vec<String>> = items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            let events = number(item, "events");
            vec![
                (i + 1).to_string(),
                events.to_string(),
                number(item, "occurrences").to_string(),
                format!("{:.1}%", events as f64 * 100.0 / total_events.max(1) as f64),
                item["value"].as_str().unwrap_or("").to_string(),
            ]
        })
        .collect();
    lines.push(String::new());
    lines.extend(table(
        &["#", "EVENTS", "OCCURRENCES", "SHARE", args.by.field().1],
        &rows,
    ));
    let more = number(&answer["more"], "values");
    if more > 0 {
        lines.push(format!(
            "… {more} more with {} events (--limit 0 shows all)",
            number(&answer["more"], "events")
        ));
    }
    print_lines(&context.style, &lines)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        args: CountArgs,
    }

    fn path(flags: &[&str]) -> Result<String> {
        let cli = Cli::try_parse_from(std::iter::once("count").chain(flags.iter().copied()))
            .expect("flags parse");
        counts_path(&cli.args, Micros(1_767_225_600_000_000))
    }

    #[test]
    fn flags_become_the_eventcounts_query() {
        assert_eq!(
            path(&[]).unwrap(),
            "/apis/kevents.io/v1/eventcounts?by=reason&limit=20"
        );
        assert_eq!(
            path(&["types", "-n", "prod", "--since", "24h", "--reason", "BackOff"]).unwrap(),
            "/apis/kevents.io/v1/namespaces/prod/eventcounts?by=type&limit=20\
             &fieldSelector=reason%3DBackOff&from=2025-12-31T00%3A00%3A00.000000Z"
        );
        assert_eq!(
            path(&["objects", "--cluster", "edge", "--for", "node/worker-1", "--type", "warning"])
                .unwrap(),
            "/clusters/edge/apis/kevents.io/v1/eventcounts?by=object&limit=20\
             &fieldSelector=type%3DWarning%2CinvolvedObject.name%3Dworker-1%2CinvolvedObject.kind%3DNode"
        );
        assert!(path(&["-l", "app=web"]).is_err());
    }
}
