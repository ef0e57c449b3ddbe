//! Elasticsearch / OpenSearch: `_bulk` with `create` actions whose `_id` is the idempotency
//! key (a redelivered event answers 409 and counts as delivered), daily indices, an index
//! template installed on start, and per-item verdicts from the bulk response.

use crate::delivery::{
    all, http_verdict, request_verdict, BoxFuture, Delivery, Encoded, Sink, Verdict,
};
use crate::layout::{ecs_document, event_time, index_name};
use bytes::Bytes;
use kevents_http::{Client, Method, Request};
use serde_json::{json, Value};
use std::time::Duration;

/// An Elasticsearch-compatible bulk sink.
pub struct Elasticsearch {
    /// Sends to the server; its URL's path is the base of the API paths.
    pub client: Client,
    /// Index pattern with `%Y`, `%m`, `%d`.
    pub index: String,
    /// Template to install on start, by name.
    pub template: Option<String>,
    /// Extra headers (authorization).
    pub headers: Vec<(String, String)>,
    /// Request timeout.
    pub timeout: Duration,
}

impl Elasticsearch {
    /// The URL's path without a trailing `/`, which API paths are appended to.
    fn base_path(&self) -> &str {
        self.client.endpoint().path().trim_end_matches('/')
    }

    /// The index template: every index the pattern can produce, with mappings for the fields
    /// that must not be analyzed as text.
    pub fn template_body(&self) -> Value {
        let prefix = self.index.split('%').next().unwrap_or(&self.index);
        let keyword = json!({"type": "keyword"});
        json!({
            "index_patterns": [format!("{prefix}*")],
            "priority": 200,
            "template": {
                "mappings": {
                    "dynamic_templates": [
                        {"strings_as_keywords": {"match_mapping_type": "string", "mapping": keyword}}
                    ],
                    "properties": {
                        "@timestamp": {"type": "date"},
                        "message": {"type": "text"},
                        "event": {"properties": {
                            "created": {"type": "date"}, "start": {"type": "date"}, "end": {"type": "date"}
                        }},
                        "kubernetes": {"properties": {"event": {"properties": {
                            "count": {"type": "long"}
                        }}}}
                    }
                }
            }
        })
    }
}

/// Reads a bulk response into one verdict per item: 2xx and 409 (the `_id` exists: an earlier
/// delivery) are delivered, 429 and 5xx retried, anything else rejected with ES's reason.
pub fn bulk_verdicts(body: &[u8], expected: usize) -> Vec<Verdict> {
    let parsed: Value = match serde_json::from_slice(body) {
        Ok(parsed) => parsed,
        Err(e) => {
            return all(
                expected,
                Verdict::Retry(format!("unreadable bulk answer: {e}")),
            )
        }
    };
    let items = parsed["items"].as_array().map(Vec::as_slice).unwrap_or(&[]);
    if items.len() != expected {
        let reason = format!(
            "bulk answer lists {} items for {expected} actions",
            items.len()
        );
        return all(expected, Verdict::Retry(reason));
    }
    items
        .iter()
        .map(|item| {
            let result = item
                .as_object()
                .and_then(|o| o.values().next())
                .unwrap_or(&Value::Null);
            let status = result["status"].as_u64().unwrap_or(0);
            let reason = || {
                let error = &result["error"];
                format!(
                    "HTTP {status}: {}: {}",
                    error["type"].as_str().unwrap_or("error"),
                    error["reason"].as_str().unwrap_or("")
                )
            };
            match status {
                200..=299 | 409 => Verdict::Delivered,
                429 | 500..=599 | 0 => Verdict::Retry(reason()),
                _ => Verdict::Reject(reason()),
            }
        })
        .collect()
}

impl Sink for Elasticsearch {
    fn encode(&self, delivery: Delivery) -> Result<Encoded, (Delivery, String)> {
        let index = index_name(&self.index, event_time(&delivery));
        let action = json!({"create": {"_index": index, "_id": delivery.id}});
        let mut payload = action.to_string().into_bytes();
        payload.push(b'\n');
        payload.extend_from_slice(ecs_document(&delivery).to_string().as_bytes());
        payload.push(b'\n');
        Ok(Encoded {
            delivery,
            payload: Bytes::from(payload),
            key: String::new(),
        })
    }

    fn prepare(&self) -> BoxFuture<'_, Verdict> {
        Box::pin(async move {
            let Some(name) = &self.template else {
                return Verdict::Delivered;
            };
            let path = format!("{}/_index_template/{name}", self.base_path());
            let request = Request {
                method: Method::PUT,
                path: Some(&path),
                ..Request::post_json(Bytes::from(self.template_body().to_string()), &self.headers)
            };
            request_verdict(self.client.send(request, self.timeout).await)
        })
    }

    fn send<'a>(&'a self, batch: &'a [Encoded]) -> BoxFuture<'a, Vec<Verdict>> {
        Box::pin(async move {
            let mut body = Vec::with_capacity(batch.iter().map(|i| i.payload.len()).sum());
            for item in batch {
                body.extend_from_slice(&item.payload);
            }
            let path = format!("{}/_bulk", self.base_path());
            let request = Request {
                path: Some(&path),
                content_type: "application/x-ndjson",
                ..Request::post_json(Bytes::from(body), &self.headers)
            };
            match self.client.send(request, self.timeout).await {
                Ok(response) if response.status == 200 => {
                    bulk_verdicts(&response.body, batch.len())
                }
                Ok(response) => all(
                    batch.len(),
                    http_verdict(response.status, &response.snippet()),
                ),
                Err(e) => all(batch.len(), Verdict::Retry(e.to_string())),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::delivery::tests::{delivery, test_client};

    #[test]
    fn bulk_items_map_to_delivered_retry_or_reject() {
        let answer = json!({"took": 3, "errors": true, "items": [
            {"create": {"_id": "a", "status": 201}},
            {"create": {"_id": "b", "status": 409, "error": {"type": "version_conflict_engine_exception"}}},
            {"create": {"_id": "c", "status": 429, "error": {"type": "es_rejected_execution_exception", "reason": "queue full"}}},
            {"create": {"_id": "d", "status": 400, "error": {"type": "mapper_parsing_exception", "reason": "bad field"}}},
        ]});
        let verdicts = bulk_verdicts(answer.to_string().as_bytes(), 4);
        assert_eq!(verdicts[0], Verdict::Delivered);
        assert_eq!(verdicts[1], Verdict::Delivered, "409: already indexed");
        assert!(matches!(&verdicts[2], Verdict::Retry(r) if r.contains("queue full")));
        assert!(
            matches!(&verdicts[3], Verdict::Reject(r) if r.contains("mapper_parsing_exception: bad field"))
        );
        assert!(matches!(bulk_verdicts(b"{}", 2)[0], Verdict::Retry(_)));
    }

    #[test]
    fn bulk_payload_is_a_create_action_and_an_ecs_document() {
        let sink = Elasticsearch {
            client: test_client("http://127.0.0.1:9200", ""),
            index: "kevents-%Y.%m.%d".into(),
            template: Some("kevents".into()),
            headers: Vec::new(),
            timeout: Duration::from_secs(1),
        };
        let encoded = sink.encode(delivery(7, 2)).unwrap();
        let text = String::from_utf8(encoded.payload.to_vec()).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2);
        let action: Value = serde_json::from_str(lines[0]).unwrap();
        assert_eq!(action["create"]["_index"], "kevents-2025.11.25");
        assert_eq!(action["create"]["_id"], "prod-eu/u-1/7");
        let doc: Value = serde_json::from_str(lines[1]).unwrap();
        assert_eq!(doc["kubernetes"]["event"]["count"], 2);
        assert_eq!(sink.template_body()["index_patterns"][0], "kevents-*");
    }
}
