//! `kevents anomalies`: what the hub found unusual (new patterns, rate spikes and drops, first
//! Warnings for key resources), open ones and those that started within `--since`.

use crate::context::{parse_duration, HubArgs};
use crate::error::Result;
use crate::render::{age, table};
use clap::Args;
use kevents_model::Micros;
use serde_json::Value;

/// Flags of `kevents anomalies`.
#[derive(Args, Debug)]
pub struct AnomaliesArgs {
    /// Anomalies that started this long ago or later, and every open one.
    #[arg(long, default_value = "24h", value_parser = parse_duration)]
    since: i64,
    /// Only this namespace.
    #[arg(short = 'n', long)]
    namespace: Option<String>,
    /// Only this kind: NewPattern, RateSpike, RateDrop or FirstWarning.
    #[arg(long)]
    kind: Option<String>,
    /// `table` or `json` (the Anomaly objects).
    #[arg(short = 'o', long, default_value = "table")]
    output: String,
    #[command(flatten)]
    hub: HubArgs,
}

fn text<'a>(anomaly: &'a Value, path: &[&str]) -> &'a str {
    path.iter()
        .try_fold(anomaly, |value, key| value.get(key))
        .and_then(Value::as_str)
        .unwrap_or("")
}

/// Runs `kevents anomalies`.
pub async fn run(args: AnomaliesArgs) -> Result<()> {
    let context = args.hub.connect().await?;
    let path = match &args.namespace {
        Some(namespace) => format!("/apis/kevents.io/v1/namespaces/{namespace}/anomalies"),
        None => "/apis/kevents.io/v1/anomalies".to_string(),
    };
    let list = context.hub.get::<serde_json::Value>(&path).await?;
    let since = Micros(context.now.0 - args.since);
    let mut items: Vec<&Value> = list
        .get("items")
        .and_then(Value::as_array)
        .map(|items| items.iter().collect())
        .unwrap_or_default();
    items.retain(|a| {
        let start = Micros::parse(text(a, &["status", "start"])).unwrap_or(Micros(0));
        let open = text(a, &["status", "state"]) == "Open";
        (open || start >= since)
            && args
                .kind
                .as_ref()
                .is_none_or(|kind| text(a, &["spec", "kind"]).eq_ignore_ascii_case(kind))
    });
    items.sort_by_key(|a| text(a, &["status", "start"]).to_string());
    if args.output == "json" {
        println!("{}", Value::Array(items.into_iter().cloned().collect()));
        return Ok(());
    }
    if items.is_empty() {
        println!("No anomalies since {}.", since.to_time_string());
        return Ok(());
    }
    let rows: Vec<Vec<String>> = items
        .iter()
        .map(|a| {
            let start = Micros::parse(text(a, &["status", "start"]));
            let score = a
                .pointer("/status/score")
                .and_then(Value::as_f64)
                .map_or(String::new(), |s| format!("{s:.1}"));
            vec![
                age(context.now, start),
                text(a, &["status", "state"]).to_string(),
                text(a, &["spec", "kind"]).to_string(),
                text(a, &["metadata", "namespace"]).to_string(),
                text(a, &["spec", "reason"]).to_string(),
                score,
                text(a, &["status", "message"]).to_string(),
            ]
        })
        .collect();
    let headers = [
        "STARTED",
        "STATE",
        "KIND",
        "NAMESPACE",
        "REASON",
        "SCORE",
        "MESSAGE",
    ];
    for line in table(&headers, &rows) {
        println!("{}", context.style.fit(&line));
    }
    Ok(())
}
