//! `kevents clusters`: the clusters a hub collects, with lag, event rate, events lost in gaps
//! and last contact.

use crate::error::{CliError, Result};
use crate::hub::HubFlags;
use crate::render::Output;
use clap::Args;
use kevents_http::hub::{ClusterGap, ClusterStatus};
use kevents_model::Micros;
use std::io::Write;

/// Flags of `kevents clusters`.
#[derive(Args, Debug)]
pub struct ClustersArgs {
    #[command(flatten)]
    hub: HubFlags,
    /// Output format.
    #[arg(short, long, value_enum, default_value = "table")]
    output: Output,
}

/// Prints the hub's clusters.
pub async fn run(args: ClustersArgs) -> Result<()> {
    let clusters = args.hub.client()?.clusters().await?;
    let mut out = std::io::stdout().lock();
    let write = |e| CliError::io("writing stdout", e);
    match args.output {
        Output::Json => {
            let items: Vec<serde_json::Value> = clusters.iter().map(cluster_json).collect();
            let text = serde_json::to_string_pretty(&serde_json::json!({ "items": items }))
                .expect("a JSON value prints");
            writeln!(out, "{text}").map_err(write)?;
        }
        Output::Table => {
            for line in table(&clusters, Micros::now()) {
                writeln!(out, "{line}").map_err(write)?;
            }
        }
    }
    Ok(())
}

fn cluster_json(cluster: &ClusterStatus) -> serde_json::Value {
    let time = |micros: i64| Micros(micros).to_time_string();
    let gaps: Vec<serde_json::Value> = cluster
        .gaps
        .iter()
        .map(|gap: &ClusterGap| {
            serde_json::json!({
                "from": time(gap.from),
                "to": time(gap.to),
                "lostEvents": gap.lost_events,
                "reported": time(gap.reported),
            })
        })
        .collect();
    serde_json::json!({
        "name": cluster.name,
        "cursor": cluster.cursor,
        "events": cluster.events,
        "lastContact": cluster.last_contact,
        "lagSeconds": cluster.lag_seconds,
        "ratePerMinute": cluster.rate_per_minute,
        "relists": cluster.relists,
        "lostEvents": cluster.lost_events,
        "gaps": gaps,
        "collectorVersion": cluster.collector_version,
    })
}

/// Events lost in gaps: the total, and how many gaps when there were any (`-` without).
fn lost(cluster: &ClusterStatus) -> String {
    match cluster.gaps.len() {
        0 if cluster.lost_events == 0 => "-".to_string(),
        0 => cluster.lost_events.to_string(),
        1 => format!("{} (1 gap)", cluster.lost_events),
        gaps => format!("{} ({gaps} gaps)", cluster.lost_events),
    }
}

/// NAME EVENTS LAG RATE/MIN LOST LAST CONTACT, ages measured at `now`.
fn table(clusters: &[ClusterStatus], now: Micros) -> Vec<String> {
    let rows: Vec<Vec<String>> = clusters
        .iter()
        .map(|c| {
            vec![
                c.name.clone(),
                c.events.to_string(),
                c.lag_seconds
                    .map_or_else(|| "-".to_string(), |lag| format!("{lag:.1}s")),
                c.rate_per_minute
                    .map_or_else(|| "-".to_string(), |rate| format!("{rate:.1}")),
                lost(c),
                match c.last_contact.as_deref().and_then(Micros::parse) {
                    Some(time) => format!("{} ago", crate::render::age(now, Some(time))),
                    None => "never".to_string(),
                },
            ]
        })
        .collect();
    crate::render::table(
        &["NAME", "EVENTS", "LAG", "RATE/MIN", "LOST", "LAST CONTACT"],
        &rows,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_shows_lag_rate_lost_events_and_last_contact_age() {
        let now = Micros::parse("2026-01-02T15:04:05Z").expect("time");
        let gap = ClusterGap {
            from: 0,
            to: 90_000_000,
            lost_events: 19,
            reported: 100_000_000,
        };
        let clusters = vec![
            ClusterStatus {
                name: "prod".into(),
                cursor: Some("812".into()),
                events: 1234,
                last_contact: Some("2026-01-02T15:03:55Z".into()),
                lag_seconds: Some(0.25),
                rate_per_minute: Some(42.0),
                lost_events: 19,
                gaps: vec![gap],
                ..ClusterStatus::default()
            },
            ClusterStatus {
                name: "edge".into(),
                lost_events: 40,
                gaps: vec![gap, gap],
                ..ClusterStatus::default()
            },
            ClusterStatus {
                name: "staging".into(),
                ..ClusterStatus::default()
            },
        ];
        assert_eq!(
            table(&clusters, now),
            [
                "NAME      EVENTS   LAG    RATE/MIN   LOST          LAST CONTACT",
                "prod      1234     0.2s   42.0       19 (1 gap)    10s ago",
                "edge      0        -      -          40 (2 gaps)   never",
                "staging   0        -      -          -             never",
            ]
        );
    }

    #[test]
    fn json_carries_lost_events_and_gaps_as_times() {
        let cluster = ClusterStatus {
            name: "prod".into(),
            lost_events: 19,
            relists: 1,
            gaps: vec![ClusterGap {
                from: 0,
                to: 90_000_000,
                lost_events: 19,
                reported: 100_000_000,
            }],
            ..ClusterStatus::default()
        };
        let json = cluster_json(&cluster);
        assert_eq!(json["lostEvents"], 19);
        assert_eq!(json["relists"], 1);
        assert_eq!(json["gaps"][0]["to"], "1970-01-01T00:01:30Z");
        assert_eq!(json["gaps"][0]["lostEvents"], 19);
    }
}
