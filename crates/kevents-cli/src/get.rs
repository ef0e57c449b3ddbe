//! `kevents get`: events as a table or in a machine format, over any time range.

use crate::context::{Context, HubArgs};
use crate::error::{CliError, Result};
use crate::export::csv;
use crate::filter::{last_seen, FilterArgs};
use crate::render::{age, one_line, print_lines, table, Style};
use clap::{Args, ValueEnum};
use kevents_model::wire::EventView;
use kevents_model::{ApiGroup, EventRecord, Micros};
use serde_json::{json, Value};
use std::io::Write;

/// Output formats of `get`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum GetFormat {
    /// Aligned columns like `kubectl get events`.
    Table,
    /// The table plus subobject, source, first seen, count and name.
    Wide,
    /// A core/v1 `EventList` (importable with `kevents import`).
    Json,
    /// The same list as YAML.
    Yaml,
    /// One core/v1 Event per line.
    Ndjson,
    /// Comma-separated values with a header row.
    Csv,
    /// `event/NAME` per line.
    Name,
}

/// Flags of `kevents get`.
#[derive(Args, Debug)]
pub struct GetArgs {
    #[command(flatten)]
    filter: FilterArgs,
    /// Output format.
    #[arg(short = 'o', long = "output", value_enum, default_value_t = GetFormat::Table)]
    output: GetFormat,
    #[command(flatten)]
    hub: HubArgs,
}

/// Runs `kevents get`.
pub async fn run(args: GetArgs) -> Result<()> {
    let context = args.hub.connect().await?;
    let filter = args.filter.resolve(context.now)?;
    let (records, _) = crate::list::collect(&context.hub, &filter).await?;
    let show_namespace = filter.namespace.is_none();
    match args.output {
        GetFormat::Table | GetFormat::Wide => {
            if records.is_empty() {
                eprintln!(
                    "No events found{}.",
                    match &filter.namespace {
                        Some(ns) => format!(" in {ns} namespace"),
                        None => String::new(),
                    }
                );
                return Ok(());
            }
            let lines = render_table(
                &records,
                &context,
                show_namespace,
                args.output == GetFormat::Wide,
            );
            print_lines(&context.style, &lines)
        }
        GetFormat::Name => print_lines(
            &Style::plain(),
            &records
                .iter()
                .map(|r| format!("event/{}", r.name))
                .collect::<Vec<_>>(),
        ),
        GetFormat::Json | GetFormat::Yaml => {
            let list = event_list(&records)?;
            let text = if args.output == GetFormat::Json {
                serde_json::to_string_pretty(&list).map_err(|e| CliError::Invalid(e.to_string()))?
            } else {
                serde_saphyr::to_string(&list).map_err(|e| CliError::Invalid(e.to_string()))?
            };
            write_stdout(|out| writeln!(out, "{}", text.trim_end()))
        }
        GetFormat::Ndjson => write_stdout(|out| {
            for record in &records {
                serde_json::to_writer(&mut *out, &EventView::new(record, ApiGroup::Core))?;
                out.write_all(b"\n")?;
            }
            Ok(())
        }),
        GetFormat::Csv => write_stdout(|out| {
            csv::write_header(out)?;
            for record in &records {
                csv::write_record(out, record)?;
            }
            Ok(())
        }),
    }
}

fn write_stdout(body: impl FnOnce(&mut dyn Write) -> std::io::Result<()>) -> Result<()> {
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    body(&mut out)
        .and_then(|_| out.flush())
        .map_err(|e| CliError::io("writing to stdout", e))
}

/// A core/v1 `EventList` of `records`, as `kubectl get events -o json` prints one.
pub fn event_list(records: &[EventRecord]) -> Result<Value> {
    let items = records
        .iter()
        .map(|r| serde_json::to_value(EventView::new(r, ApiGroup::Core)))
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| CliError::Invalid(e.to_string()))?;
    Ok(
        json!({"apiVersion": "v1", "kind": "EventList", "metadata": {"resourceVersion": ""}, "items": items}),
    )
}

/// `pod/web-0`: the involved object as kubectl prints it.
pub fn object_label(record: &EventRecord) -> String {
    format!(
        "{}/{}",
        record.involved_object.kind.to_ascii_lowercase(),
        record.involved_object.name
    )
}

/// `kubelet, node-1`: the reporting component and host.
pub fn source_label(record: &EventRecord) -> String {
    match (record.source_name(), record.source_host.as_str()) {
        (source, "") => source.to_string(),
        (source, host) => format!("{source}, {host}"),
    }
}

fn render_table(
    records: &[EventRecord],
    context: &Context,
    show_namespace: bool,
    wide: bool,
) -> Vec<String> {
    let now: Micros = context.now;
    let mut headers = vec!["LAST SEEN", "TYPE", "REASON", "OBJECT"];
    if wide {
        headers.extend(["SUBOBJECT", "SOURCE"]);
    }
    headers.push("MESSAGE");
    if wide {
        headers.extend(["FIRST SEEN", "COUNT", "NAME"]);
    }
    if show_namespace {
        headers.insert(0, "NAMESPACE");
    }
    let rows: Vec<Vec<String>> = records
        .iter()
        .map(|r| {
            let mut row = vec![
                age(now, Some(last_seen(r))),
                context.style.event_type(&r.event_type, &r.event_type),
                r.reason.clone(),
                object_label(r),
            ];
            if wide {
                row.push(r.involved_object.field_path.clone());
                row.push(source_label(r));
            }
            row.push(one_line(&r.message));
            if wide {
                row.push(age(now, r.first_seen()));
                row.push(r.occurrences().to_string());
                row.push(r.name.clone());
            }
            if show_namespace {
                row.insert(0, r.namespace.clone());
            }
            row
        })
        .collect();
    table(&headers, &rows)
}
