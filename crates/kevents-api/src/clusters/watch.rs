//! `GET /kevents/v1/clusters?watch=true`: the cluster list as a stream of changes, one JSON line
//! each (`{"type": "ADDED"|"MODIFIED"|"DELETED", "object": <cluster>}`). A cluster is the
//! registry's live state, not a stored object with a resourceVersion, so a watch starts from the
//! present, as a Kubernetes watch without a resourceVersion does: an `ADDED` per cluster, then a
//! line per cluster whose description changed. The registry wakes the watch on each collector
//! write; a look every few seconds catches what changes without one (the hub's own event count,
//! a quiet collector's falling rate).

use super::known::known_clusters;
use crate::error::Reply;
use crate::respond::line_watch;
use crate::state::SharedState;
use bytes::Bytes;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::time::Duration;

/// How often a watch looks again without a registry change.
const LOOK_EVERY: Duration = Duration::from_secs(5);

/// Registry changes closer together than this are sent as one look (a busy collector writes
/// many batches a second).
const PACE: Duration = Duration::from_millis(250);

/// The lines that take a watcher from `shown` to `now`, in cluster name order.
pub(super) fn changes(
    shown: &BTreeMap<String, Value>,
    now: &BTreeMap<String, Value>,
) -> Vec<Bytes> {
    let line = |kind: &str, object: &Value| {
        let mut bytes = serde_json::to_vec(&json!({"type": kind, "object": object}))
            .expect("JSON values serialize");
        bytes.push(b'\n');
        Bytes::from(bytes)
    };
    let mut lines = Vec::new();
    for (name, object) in now {
        match shown.get(name) {
            None => lines.push(line("ADDED", object)),
            Some(before) if before != object => lines.push(line("MODIFIED", object)),
            Some(_) => {}
        }
    }
    for (name, object) in shown {
        if !now.contains_key(name) {
            lines.push(line("DELETED", object));
        }
    }
    lines
}

/// Streams the cluster list's changes until the client goes, `timeoutSeconds` passes or the hub
/// stops.
pub(super) fn watch_clusters(state: SharedState, timeout: Option<Duration>) -> Reply {
    let mut registry_changed = state.clusters.subscribe();
    let shutdown = state.shutdown.clone();
    Ok(line_watch(shutdown, timeout, move |sender| async move {
        let mut shown = BTreeMap::new();
        loop {
            registry_changed.borrow_and_update();
            let now = known_clusters(&state);
            for line in changes(&shown, &now) {
                if sender.send(line).await.is_err() {
                    return;
                }
            }
            shown = now;
            tokio::time::sleep(PACE).await;
            tokio::select! {
                changed = registry_changed.changed() => {
                    if changed.is_err() {
                        return;
                    }
                }
                _ = tokio::time::sleep(LOOK_EVERY) => {}
                _ = sender.closed() => return,
            }
        }
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(lines: &[Bytes]) -> Vec<(String, String)> {
        lines
            .iter()
            .map(|l| {
                let v: Value = serde_json::from_slice(l).unwrap();
                (
                    v["type"].as_str().unwrap().to_string(),
                    v["object"]["name"].as_str().unwrap().to_string(),
                )
            })
            .collect()
    }

    #[test]
    fn only_clusters_that_changed_are_sent() {
        let cluster = |name: &str, rate: u64| {
            (
                name.to_string(),
                json!({"name": name, "ratePerMinute": rate}),
            )
        };
        let empty = BTreeMap::new();
        let first: BTreeMap<_, _> = [cluster("hub", 0), cluster("prod", 5)].into();
        assert_eq!(
            parse(&changes(&empty, &first)),
            [
                ("ADDED".into(), "hub".into()),
                ("ADDED".into(), "prod".into())
            ]
        );
        assert!(changes(&first, &first).is_empty());
        let second: BTreeMap<_, _> = [cluster("hub", 0), cluster("staging", 1)].into();
        assert_eq!(
            parse(&changes(&first, &second)),
            [
                ("ADDED".into(), "staging".into()),
                ("DELETED".into(), "prod".into())
            ]
        );
        let third: BTreeMap<_, _> = [cluster("hub", 3), cluster("staging", 1)].into();
        assert_eq!(
            parse(&changes(&second, &third)),
            [("MODIFIED".to_string(), "hub".to_string())]
        );
    }
}
