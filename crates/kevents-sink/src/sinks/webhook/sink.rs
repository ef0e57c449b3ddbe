//! The generic webhook (`POST {"sink", "events": [envelope...]}`, HMAC-SHA256 signed).

use crate::delivery::{all, request_verdict, BoxFuture, Delivery, Encoded, Sink, Verdict};
use crate::layout::envelope;
use bytes::Bytes;
use kevents_http::{signature, SIGNATURE_HEADER};
use kevents_http::{Client, Request};
use std::time::Duration;

/// A generic JSON webhook.
pub struct Webhook {
    /// The sink's name, sent in the body.
    pub name: String,
    /// Where to POST.
    pub client: Client,
    /// Signing secret.
    pub hmac_secret: Option<String>,
    /// Extra headers.
    pub headers: Vec<(String, String)>,
    /// Request timeout.
    pub timeout: Duration,
}

impl Webhook {
    /// The request body for a batch: the encoded envelopes joined into one array.
    pub fn body(&self, batch: &[Encoded]) -> Vec<u8> {
        let mut body = serde_json::to_vec(&serde_json::json!({"sink": self.name}))
            .expect("a string map serializes");
        body.pop(); // reopen the object to append the array without re-encoding the events
        body.extend_from_slice(b",\"events\":[");
        for (index, item) in batch.iter().enumerate() {
            if index > 0 {
                body.push(b',');
            }
            body.extend_from_slice(&item.payload);
        }
        body.extend_from_slice(b"]}");
        body
    }
}

impl Sink for Webhook {
    fn encode(&self, delivery: Delivery) -> Result<Encoded, (Delivery, String)> {
        let payload = Bytes::from(envelope(&delivery).to_string());
        Ok(Encoded {
            delivery,
            payload,
            key: String::new(),
        })
    }

    fn send<'a>(&'a self, batch: &'a [Encoded]) -> BoxFuture<'a, Vec<Verdict>> {
        Box::pin(async move {
            let body = self.body(batch);
            let mut headers = self.headers.clone();
            if let Some(secret) = &self.hmac_secret {
                headers.push((SIGNATURE_HEADER.to_string(), signature(secret, &body)));
            }
            let request = Request::post_json(Bytes::from(body), &headers);
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
    fn webhook_body_is_one_json_object_with_every_envelope() {
        let hook = Webhook {
            name: "ops".into(),
            client: test_client("http://127.0.0.1:1/", ""),
            hmac_secret: None,
            headers: Vec::new(),
            timeout: Duration::from_secs(1),
        };
        let batch: Vec<Encoded> = [1, 2]
            .into_iter()
            .map(|rv| hook.encode(delivery(rv, 1)).unwrap())
            .collect();
        let body: serde_json::Value = serde_json::from_slice(&hook.body(&batch)).unwrap();
        assert_eq!(body["sink"], "ops");
        assert_eq!(body["events"].as_array().unwrap().len(), 2);
        assert_eq!(body["events"][1]["id"], "prod-eu/u-1/2");
    }
}
