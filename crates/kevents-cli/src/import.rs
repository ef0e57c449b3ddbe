//! `kevents import`: events from NDJSON, a `kubectl get events -o json` List or a kevents export,
//! created idempotently (an event already present with the same uid or content is skipped).

use crate::context::HubArgs;
use crate::error::{CliError, Result};
use crate::hub::{api_error, encode_query};
use crate::list::decode;
use clap::Args;
use kevents_http::hub::{HubClient, HubRequest};
use kevents_http::Method;
use kevents_model::EventRecord;
use serde_json::Value;
use std::io::{BufRead, BufReader, Read};
use std::path::PathBuf;
use tokio::sync::mpsc;

/// Flags of `kevents import`.
#[derive(Args, Debug)]
pub struct ImportArgs {
    /// NDJSON, a JSON List (`kubectl get events -A -o json`) or a kevents export; `-` is stdin.
    file: PathBuf,
    /// Requests in flight at once.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..=256))]
    concurrency: u16,
    #[command(flatten)]
    hub: HubArgs,
}

/// What happened to one input event.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Created in the hub.
    Imported,
    /// Already there with the same uid or content.
    Skipped,
    /// Not created, and why.
    Rejected(String),
}

/// One event to import and where it came from (for messages).
struct Item {
    position: String,
    value: std::result::Result<Value, String>,
}

#[derive(Default)]
struct Tally {
    imported: u64,
    skipped: u64,
    rejected: Vec<String>,
    rejected_count: u64,
}

/// How many rejection reasons are kept to print.
const REASONS_SHOWN: usize = 20;

/// Runs `kevents import`.
pub async fn run(args: ImportArgs) -> Result<()> {
    let context = args.hub.connect().await?;
    let reader: Box<dyn Read> = if args.file.as_os_str() == "-" {
        Box::new(std::io::stdin())
    } else {
        Box::new(
            std::fs::File::open(&args.file)
                .map_err(|e| CliError::io(format!("opening {}", args.file.display()), e))?,
        )
    };
    let progress = crate::export::progress_bar();
    let mut senders = Vec::new();
    let mut workers = Vec::new();
    for _ in 0..args.concurrency {
        let (sender, mut receiver) = mpsc::channel::<Item>(64);
        senders.push(sender);
        let hub = context.hub.clone();
        let progress = progress.clone();
        workers.push(tokio::spawn(async move {
            let mut tally = Tally::default();
            while let Some(item) = receiver.recv().await {
                let outcome = match item.value {
                    Ok(value) => import_one(&hub, "", value).await?,
                    Err(why) => Outcome::Rejected(why),
                };
                match outcome {
                    Outcome::Imported => tally.imported += 1,
                    Outcome::Skipped => tally.skipped += 1,
                    Outcome::Rejected(why) => {
                        tally.rejected_count += 1;
                        if tally.rejected.len() < REASONS_SHOWN {
                            tally.rejected.push(format!("{}: {why}", item.position));
                        }
                    }
                }
                progress.inc(1);
            }
            Ok::<Tally, CliError>(tally)
        }));
    }
    let mut next = 0usize;
    let mut send = |item: Item| {
        let sender = senders[next % senders.len()].clone();
        next += 1;
        async move { sender.send(item).await.is_ok() }
    };
    let file_name = args.file.display().to_string();
    let mut reader = BufReader::new(reader);
    let mut first_line = String::new();
    reader
        .read_line(&mut first_line)
        .map_err(|e| CliError::io(format!("reading {file_name}"), e))?;
    let line_mode = matches!(serde_json::from_str::<Value>(&first_line), Ok(Value::Object(ref o)) if !o.contains_key("items"));
    if line_mode {
        let mut line_number = 1;
        let mut line = first_line;
        loop {
            if !line.trim().is_empty() {
                let value =
                    serde_json::from_str::<Value>(&line).map_err(|e| format!("invalid JSON: {e}"));
                if !send(Item {
                    position: format!("line {line_number}"),
                    value,
                })
                .await
                {
                    break;
                }
            }
            line.clear();
            line_number += 1;
            if reader
                .read_line(&mut line)
                .map_err(|e| CliError::io(format!("reading {file_name}"), e))?
                == 0
            {
                break;
            }
        }
    } else {
        let mut rest = first_line.into_bytes();
        reader
            .read_to_end(&mut rest)
            .map_err(|e| CliError::io(format!("reading {file_name}"), e))?;
        let document: Value = serde_json::from_slice(&rest).map_err(|e| {
            CliError::Invalid(format!(
                "{file_name}: neither NDJSON nor a JSON document: {e}"
            ))
        })?;
        for (index, value) in items_of(document)?.into_iter().enumerate() {
            if !send(Item {
                position: format!("item {index}"),
                value: Ok(value),
            })
            .await
            {
                break;
            }
        }
    }
    drop(senders);
    let mut total = Tally::default();
    for worker in workers {
        let tally = worker
            .await
            .map_err(|e| CliError::Invalid(format!("import worker failed: {e}")))??;
        total.imported += tally.imported;
        total.skipped += tally.skipped;
        total.rejected_count += tally.rejected_count;
        total.rejected.extend(tally.rejected);
    }
    progress.finish_and_clear();
    println!(
        "imported {}, skipped {} (already present), rejected {}",
        total.imported, total.skipped, total.rejected_count
    );
    total.rejected.sort();
    for reason in total.rejected.iter().take(REASONS_SHOWN) {
        println!("  rejected {reason}");
    }
    if total.rejected_count > 0 {
        return Err(CliError::Invalid(format!(
            "{} event(s) rejected",
            total.rejected_count
        )));
    }
    Ok(())
}

/// The events of a whole JSON document: a List's `items`, an array, or one Event.
fn items_of(document: Value) -> Result<Vec<Value>> {
    match document {
        Value::Array(items) => Ok(items),
        Value::Object(mut object) => match object.remove("items") {
            Some(Value::Array(items)) => Ok(items),
            Some(_) => Err(CliError::Invalid("`items` is not an array".into())),
            None => Ok(vec![Value::Object(object)]),
        },
        _ => Err(CliError::Invalid(
            "expected a JSON object, array or List".into(),
        )),
    }
}

/// Creates one event under `prefix` (`""`, or `/clusters/<name>` for a collected cluster); on a
/// name conflict compares with the stored one.
pub async fn import_one(hub: &HubClient, prefix: &str, mut value: Value) -> Result<Outcome> {
    let Some(object) = value.as_object_mut() else {
        return Ok(Outcome::Rejected("not a JSON object".into()));
    };
    match object.get("kind").and_then(Value::as_str) {
        None | Some("Event") => {}
        Some(other) => return Ok(Outcome::Rejected(format!("not an Event (kind {other})"))),
    }
    let base = match object.get("apiVersion").and_then(Value::as_str) {
        None | Some("v1") => "/api/v1",
        Some("events.k8s.io/v1") => "/apis/events.k8s.io/v1",
        Some(other) => return Ok(Outcome::Rejected(format!("unsupported apiVersion {other}"))),
    };
    object.insert("kind".into(), "Event".into());
    object.insert(
        "apiVersion".into(),
        base.trim_start_matches("/api/")
            .trim_start_matches("/apis/")
            .into(),
    );
    let metadata = object
        .entry("metadata")
        .or_insert_with(|| Value::Object(Default::default()));
    let Some(metadata) = metadata.as_object_mut() else {
        return Ok(Outcome::Rejected("metadata is not an object".into()));
    };
    let uid = metadata
        .remove("uid")
        .and_then(|u| u.as_str().map(str::to_string));
    for server_owned in [
        "resourceVersion",
        "creationTimestamp",
        "managedFields",
        "selfLink",
        "generation",
    ] {
        metadata.remove(server_owned);
    }
    let namespace = metadata
        .get("namespace")
        .and_then(Value::as_str)
        .unwrap_or("default")
        .to_string();
    let name = metadata
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let label = format!("{namespace}/{name}");
    let body = serde_json::to_vec(&value).map_err(|e| CliError::Invalid(e.to_string()))?;
    let collection = format!(
        "{prefix}{base}/namespaces/{}/events",
        encode_query(&namespace)
    );
    let answer = hub
        .send(HubRequest::json(Method::POST, &collection, body))
        .await?;
    match answer.status {
        200..=299 => Ok(Outcome::Imported),
        409 if !name.is_empty() => {
            let existing = hub
                .get::<Value>(&format!("{collection}/{}", encode_query(&name)))
                .await?;
            let same_uid = uid.as_deref().is_some_and(|u| {
                existing.pointer("/metadata/uid").and_then(Value::as_str) == Some(u)
            });
            if same_uid || same_content(&value, existing) {
                Ok(Outcome::Skipped)
            } else {
                Ok(Outcome::Rejected(format!(
                    "{label}: already exists with different content"
                )))
            }
        }
        _ => Ok(Outcome::Rejected(format!(
            "{label}: {}",
            api_error(answer.status, &answer.body)
        ))),
    }
}

/// Whether two events say the same thing, ignoring server-owned metadata.
fn same_content(imported: &Value, existing: Value) -> bool {
    let normalize = |mut record: EventRecord| {
        record.uid.clear();
        record.resource_version = 0;
        record.creation_timestamp = None;
        record.extra_metadata.clear();
        record
    };
    match (decode(imported.clone()), decode(existing)) {
        (Ok(a), Ok(b)) => normalize(a) == normalize(b),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn lists_arrays_and_single_events_are_accepted() {
        let list = json!({"kind": "EventList", "items": [{"kind": "Event"}, {"kind": "Event"}]});
        assert_eq!(items_of(list).unwrap().len(), 2);
        assert_eq!(items_of(json!([{"a": 1}])).unwrap().len(), 1);
        assert_eq!(items_of(json!({"kind": "Event"})).unwrap().len(), 1);
        assert!(items_of(json!(3)).is_err());
    }

    #[test]
    fn content_ignores_server_owned_metadata() {
        let event = |uid: &str, rv: &str| {
            json!({"apiVersion": "v1", "kind": "Event",
                   "metadata": {"name": "a", "namespace": "d", "uid": uid, "resourceVersion": rv},
                   "involvedObject": {"kind": "Pod", "name": "p"}, "reason": "R", "message": "m"})
        };
        assert!(same_content(&event("1", "5"), event("2", "9")));
        let mut other = event("1", "5");
        other["message"] = json!("different");
        assert!(!same_content(&other, event("1", "5")));
    }
}
