//! Loki's push API (`POST /loki/api/v1/push`, JSON): streams keyed by a bounded label set
//! (only low-cardinality event fields may become labels), one line per event (the envelope).

use crate::delivery::{all, request_verdict, BoxFuture, Delivery, Encoded, Sink, Verdict};
use crate::layout::{envelope, event_time};
use bytes::Bytes;
use kevents_http::{Client, Request};
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use std::time::Duration;

/// Event fields that may become stream labels: each has few values, unlike object names.
pub const LABEL_FIELDS: &[&str] = &["cluster", "namespace", "type", "kind", "reason", "source"];

/// The default label fields.
pub const DEFAULT_LABELS: &[&str] = &["cluster", "namespace", "type", "kind"];

/// A Loki push sink.
pub struct Loki {
    /// Sends to the push endpoint.
    pub client: Client,
    /// Label fields, from [`LABEL_FIELDS`].
    pub labels: Vec<String>,
    /// Fixed labels.
    pub static_labels: BTreeMap<String, String>,
    /// Extra headers (tenant).
    pub headers: Vec<(String, String)>,
    /// Request timeout.
    pub timeout: Duration,
}

/// Checks label names: `[a-zA-Z_][a-zA-Z0-9_]*`, as Loki requires.
pub fn valid_label_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

impl Loki {
    fn stream_labels(&self, delivery: &Delivery) -> BTreeMap<String, String> {
        let record = &delivery.event.record;
        let mut labels = self.static_labels.clone();
        for field in &self.labels {
            let value = match field.as_str() {
                "cluster" => delivery.cluster.as_str(),
                "namespace" => record.namespace.as_str(),
                "type" => record.event_type.as_str(),
                "kind" => record.involved_object.kind.as_str(),
                "reason" => record.reason.as_str(),
                _ => record.source_name(),
            };
            // Loki drops labels with empty values; a placeholder keeps the stream explicit.
            let value = if value.is_empty() { "none" } else { value };
            labels.insert(field.clone(), value.to_string());
        }
        labels
    }

    /// The push body: entries grouped into streams, in batch order within each stream.
    pub fn body(&self, batch: &[Encoded]) -> Value {
        let mut streams: Vec<(&str, Vec<Value>)> = Vec::new();
        for item in batch {
            let line = String::from_utf8_lossy(&item.payload);
            let nanos = i128::from(event_time(&item.delivery).0) * 1000;
            let entry = json!([nanos.to_string(), line]);
            match streams.iter_mut().find(|(key, _)| *key == item.key) {
                Some((_, values)) => values.push(entry),
                None => streams.push((item.key.as_str(), vec![entry])),
            }
        }
        let streams: Vec<Value> = streams
            .into_iter()
            .map(|(key, values)| {
                let labels: Map<String, Value> = serde_json::from_str(key).unwrap_or_default();
                json!({"stream": labels, "values": values})
            })
            .collect();
        json!({ "streams": streams })
    }
}

impl Sink for Loki {
    fn encode(&self, delivery: Delivery) -> Result<Encoded, (Delivery, String)> {
        let key =
            serde_json::to_string(&self.stream_labels(&delivery)).expect("a string map serializes");
        let payload = Bytes::from(envelope(&delivery).to_string());
        Ok(Encoded {
            delivery,
            payload,
            key,
        })
    }

    fn send<'a>(&'a self, batch: &'a [Encoded]) -> BoxFuture<'a, Vec<Verdict>> {
        Box::pin(async move {
            let body = Bytes::from(self.body(batch).to_string());
            let request = Request::post_json(body, &self.headers);
            let sent = self.client.send(request, self.timeout).await;
            all(batch.len(), request_verdict(sent))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::delivery::tests::{delivery, test_client};

    #[test]
    fn push_body_groups_entries_by_bounded_stream_labels() {
        let loki = Loki {
            client: test_client("http://127.0.0.1:3100", "/loki/api/v1/push"),
            labels: DEFAULT_LABELS.iter().map(|s| s.to_string()).collect(),
            static_labels: BTreeMap::from([("job".into(), "kevents".into())]),
            headers: Vec::new(),
            timeout: Duration::from_secs(1),
        };
        let mut other = delivery(3, 1);
        std::sync::Arc::make_mut(&mut other.event).record.namespace = "dev".into();
        let batch: Vec<Encoded> = [delivery(1, 1), delivery(2, 2), other]
            .into_iter()
            .map(|d| loki.encode(d).unwrap())
            .collect();
        let body = loki.body(&batch);
        let streams = body["streams"].as_array().unwrap();
        assert_eq!(streams.len(), 2);
        assert_eq!(
            streams[0]["stream"],
            json!({"cluster": "prod-eu", "job": "kevents", "kind": "Pod", "namespace": "prod", "type": "Warning"})
        );
        assert_eq!(streams[0]["values"].as_array().unwrap().len(), 2);
        assert_eq!(streams[0]["values"][0][0], "1764072000000000000");
        let line: Value =
            serde_json::from_str(streams[0]["values"][1][1].as_str().unwrap()).unwrap();
        assert_eq!(line["id"], "prod-eu/u-1/2");
        assert!(valid_label_name("job") && !valid_label_name("1x") && !valid_label_name("a-b"));
    }
}
