//! `kevents tail`: follows the hub's watch stream, one line per event, resuming from the last
//! resourceVersion when the connection drops or the hub restarts (relisting on `410 Expired`).

use crate::context::HubArgs;
use crate::error::{CliError, Result};
use crate::filter::{last_seen, Filter, FilterArgs};
use crate::get::object_label;
use crate::list::decode;
use crate::render::{clock, one_line, Style};
use clap::Args;
use kevents_http::hub::HubClient;
use kevents_model::EventRecord;
use serde_json::Value;
use std::io::Write;
use std::time::Duration;

/// Flags of `kevents tail`.
#[derive(Args, Debug)]
pub struct TailArgs {
    #[command(flatten)]
    filter: FilterArgs,
    /// Existing events to show first, newest last (all since --since/--from when given).
    #[arg(long, default_value_t = 10)]
    lines: usize,
    #[command(flatten)]
    hub: HubArgs,
}

/// Where the watch stands.
enum Step {
    /// Reconnect from the current resourceVersion (stream ended or broke).
    Resume,
    /// The resourceVersion is too old: list again.
    Relist,
}

/// Runs `kevents tail` until Ctrl-C (exit 0).
pub async fn run(args: TailArgs) -> Result<()> {
    let context = args.hub.connect().await?;
    let filter = args.filter.resolve(context.now)?;
    let style = context.style;
    let (records, mut resource_version) = crate::list::collect(&context.hub, &filter).await?;
    let backlog = if filter.from.is_some() {
        records.len()
    } else {
        args.lines
    };
    for record in &records[records.len().saturating_sub(backlog)..] {
        print_event(&style, record)?;
    }
    let follow = follow(&context.hub, &filter, &style, &mut resource_version);
    tokio::select! {
        result = follow => result,
        _ = tokio::signal::ctrl_c() => Ok(()),
    }
}

async fn follow(
    hub: &HubClient,
    filter: &Filter,
    style: &Style,
    resource_version: &mut String,
) -> Result<()> {
    let mut delay = Duration::from_millis(200);
    let mut announced = false;
    loop {
        let step = match watch(hub, filter, style, resource_version).await {
            Ok(step) => {
                delay = Duration::from_millis(200);
                announced = false;
                // A stream the hub ends at once must not become a busy loop.
                tokio::time::sleep(Duration::from_millis(50)).await;
                step
            }
            Err(CliError::Connect { .. })
            | Err(CliError::Api {
                code: 500..=599, ..
            }) => {
                if !announced {
                    eprintln!(
                        "{}",
                        style.dim(&format!("lost the hub at {}; reconnecting…", hub.url()))
                    );
                    announced = true;
                }
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(2));
                Step::Resume
            }
            Err(CliError::Api { code: 410, .. }) => Step::Relist,
            Err(e) => return Err(e),
        };
        if let Step::Relist = step {
            relist(hub, filter, style, resource_version).await?;
        }
    }
}

/// Lists again after the watch history moved past us; prints what changed since our version.
async fn relist(
    hub: &HubClient,
    filter: &Filter,
    style: &Style,
    resource_version: &mut String,
) -> Result<()> {
    let (mut records, latest) = crate::list::collect(
        hub,
        &Filter {
            from: None,
            ..filter.clone()
        },
    )
    .await?;
    let seen: u64 = resource_version.parse().unwrap_or(0);
    records.retain(|r| r.resource_version > seen);
    records.sort_by_key(|r| r.resource_version);
    for record in &records {
        print_event(style, record)?;
    }
    *resource_version = latest;
    Ok(())
}

/// Follows one watch connection until it ends.
async fn watch(
    hub: &HubClient,
    filter: &Filter,
    style: &Style,
    resource_version: &mut String,
) -> Result<Step> {
    let mut stream = hub.stream(&filter.watch_path(resource_version)).await?;
    loop {
        let line = match stream.next_line().await {
            Ok(Some(line)) => line,
            Ok(None) | Err(_) => return Ok(Step::Resume),
        };
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let event: Value = serde_json::from_slice(&line)
            .map_err(|e| CliError::Protocol(format!("watch event: {e}")))?;
        let object = event.get("object").cloned().unwrap_or(Value::Null);
        match event.get("type").and_then(Value::as_str) {
            Some("ERROR") => {
                let code = object.get("code").and_then(Value::as_u64).unwrap_or(0);
                if code == 410 {
                    return Ok(Step::Relist);
                }
                let message = object
                    .get("message")
                    .and_then(Value::as_str)
                    .unwrap_or("watch error");
                return Err(CliError::Api {
                    code: code as u16,
                    message: message.to_string(),
                });
            }
            Some("BOOKMARK") => {
                if let Some(version) = object
                    .pointer("/metadata/resourceVersion")
                    .and_then(Value::as_str)
                {
                    *resource_version = version.to_string();
                }
            }
            Some(kind) => {
                let record = decode(object).map_err(CliError::Protocol)?;
                *resource_version = record.resource_version.to_string();
                let kind_matches = filter
                    .kind
                    .as_ref()
                    .is_none_or(|k| record.involved_object.kind.eq_ignore_ascii_case(k));
                if kind != "DELETED" && kind_matches {
                    print_event(style, &record)?;
                }
            }
            None => return Err(CliError::Protocol("watch event without a type".into())),
        }
    }
}

/// `12:04:05  Warning  default  pod/web-0  BackOff: Back-off restarting (x3)`.
pub fn event_line(style: &Style, record: &EventRecord) -> String {
    let time = clock(last_seen(record));
    let count = match record.occurrences() {
        n if n > 1 => format!(" (x{n})"),
        _ => String::new(),
    };
    let kind = format!("{:<7}", record.event_type);
    let line = format!(
        "{}  {}  {}  {}  {}: {}{count}",
        style.dim(&time[11..]),
        style.event_type(&kind, &record.event_type),
        record.namespace,
        object_label(record),
        style.event_type(&record.reason, &record.event_type),
        one_line(&record.message),
    );
    style.fit(&line)
}

fn print_event(style: &Style, record: &EventRecord) -> Result<()> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{}", event_line(style, record))
        .and_then(|_| out.flush())
        .map_err(|e| CliError::io("writing to stdout", e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use kevents_model::Micros;

    #[test]
    fn one_readable_line_per_event() {
        let mut record = EventRecord {
            namespace: "default".into(),
            event_type: "Warning".into(),
            reason: "BackOff".into(),
            message: "Back-off\nrestarting".into(),
            count: 3,
            last_timestamp: Micros::parse("2026-01-02T12:04:05Z"),
            ..EventRecord::default()
        };
        record.involved_object.kind = "Pod".into();
        record.involved_object.name = "web-0".into();
        assert_eq!(
            event_line(&Style::plain(), &record),
            "12:04:05  Warning  default  pod/web-0  BackOff: Back-off restarting (x3)"
        );
    }
}
