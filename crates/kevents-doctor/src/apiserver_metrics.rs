//! The apiserver's own metrics about events, read from its `/metrics` text when the user may.

use serde::{Deserialize, Serialize};

/// What an apiserver's `/metrics` says about events.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiserverMetrics {
    /// `apiserver_resource_objects{resource="events"}` (before 1.34:
    /// `apiserver_storage_objects`): events in its storage, counted about once a minute.
    pub stored_events: Option<f64>,
    /// `apiserver_storage_size_bytes` (or the older `apiserver_storage_db_total_size_in_bytes`):
    /// the storage database's size, summed over its storage clusters.
    pub storage_bytes: Option<f64>,
    /// `apiserver_request_total{resource="events",code="429"}`: event requests refused for
    /// load (EventRateLimit, max-in-flight, priority and fairness).
    pub events_too_many_requests: f64,
    /// Event writes (`POST`, `PUT`, `PATCH`) that failed otherwise (codes 400–599 except 404,
    /// 409 and 429).
    pub failed_event_writes: f64,
}

/// Reads the metrics out of a Prometheus text exposition.
pub fn parse_apiserver_metrics(text: &str) -> ApiserverMetrics {
    let mut out = ApiserverMetrics::default();
    for line in text.lines() {
        let Some((name, labels, value)) = sample(line) else {
            continue;
        };
        let label = |key: &str| {
            labels
                .iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.as_str())
        };
        match name {
            "apiserver_resource_objects" | "apiserver_storage_objects"
                if label("resource") == Some("events")
                    && label("group").unwrap_or("").is_empty()
                    // Both names during the deprecation: the newer one wins.
                    && (name == "apiserver_resource_objects" || out.stored_events.is_none()) =>
            {
                out.stored_events = Some(value);
            }
            "apiserver_storage_size_bytes" | "apiserver_storage_db_total_size_in_bytes" => {
                out.storage_bytes = Some(out.storage_bytes.unwrap_or(0.0) + value);
            }
            "apiserver_request_total" if label("resource") == Some("events") => {
                let code: u16 = label("code").and_then(|c| c.parse().ok()).unwrap_or(0);
                let write = matches!(
                    label("verb"),
                    Some("POST" | "PUT" | "PATCH" | "CREATE" | "UPDATE")
                );
                if code == 429 {
                    out.events_too_many_requests += value;
                } else if write && (400..600).contains(&code) && code != 404 && code != 409 {
                    out.failed_event_writes += value;
                }
            }
            _ => {}
        }
    }
    out
}

/// A sample's labels, in the order written.
type Labels = Vec<(String, String)>;

/// One sample line: name, labels, value; `None` for comments and lines it does not understand.
fn sample(line: &str) -> Option<(&str, Labels, f64)> {
    let line = line.trim();
    if line.is_empty() || line.starts_with('#') {
        return None;
    }
    let (name, rest) = match line.find('{') {
        Some(open) => (&line[..open], &line[open + 1..]),
        None => {
            let (name, value) = line.split_once(' ')?;
            return Some((
                name,
                Vec::new(),
                value.split_whitespace().next()?.parse().ok()?,
            ));
        }
    };
    let mut labels = Vec::new();
    let mut chars = rest.char_indices();
    let mut key = String::new();
    let close = loop {
        let (at, c) = chars.next()?;
        match c {
            '}' => break at,
            ',' | ' ' => {}
            '=' => {
                if chars.next()?.1 != '"' {
                    return None;
                }
                let mut value = String::new();
                loop {
                    match chars.next()?.1 {
                        '\\' => value.push(match chars.next()?.1 {
                            'n' => '\n',
                            other => other,
                        }),
                        '"' => break,
                        other => value.push(other),
                    }
                }
                labels.push((std::mem::take(&mut key), value));
            }
            other => key.push(other),
        }
    };
    let value = rest[close + 1..].split_whitespace().next()?.parse().ok()?;
    Some((name, labels, value))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_metrics_are_read_and_others_ignored() {
        let text = r#"# HELP apiserver_storage_objects [STABLE] Number of stored objects
# TYPE apiserver_storage_objects gauge
apiserver_storage_objects{resource="events"} 1200
apiserver_resource_objects{group="",resource="events"} 1234
apiserver_resource_objects{group="events.k8s.io",resource="events"} 1234
apiserver_storage_objects{resource="pods"} 50
apiserver_storage_size_bytes{storage_cluster_id="etcd-0"} 2.5e+06
apiserver_request_total{code="201",component="apiserver",group="",resource="events",verb="POST",version="v1"} 900
apiserver_request_total{code="429",component="apiserver",group="",resource="events",verb="POST",version="v1"} 7
apiserver_request_total{code="422",component="apiserver",group="",resource="events",verb="POST",version="v1"} 2
apiserver_request_total{code="409",component="apiserver",group="",resource="events",verb="POST",version="v1"} 30
apiserver_request_total{code="500",component="apiserver",group="",resource="pods",verb="POST",version="v1"} 1
apiserver_request_total{code="404",component="apiserver",group="",resource="events",verb="PATCH",version="v1"} 3
weird_metric{msg="a \"quoted\", comma"} 1
"#;
        let metrics = parse_apiserver_metrics(text);
        assert_eq!(metrics.stored_events, Some(1234.0));
        assert_eq!(metrics.storage_bytes, Some(2.5e6));
        assert_eq!(metrics.events_too_many_requests, 7.0);
        assert_eq!(metrics.failed_event_writes, 2.0);
    }

    #[test]
    fn missing_metrics_stay_unknown() {
        let metrics = parse_apiserver_metrics("up 1\n");
        assert_eq!(metrics, ApiserverMetrics::default());
    }
}
