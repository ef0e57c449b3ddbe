//! The generic webhook (`POST {"sink", "events": [envelope...]}`, HMAC-SHA256 signed) and the
//! Slack-compatible incoming webhook (`POST {"text": "<one line per event>"}`).

use crate::delivery::{all, http_verdict, BoxFuture, Delivery, Encoded, Sink, Verdict};
use crate::http::{send, Endpoint};
use crate::layout::envelope;
use crate::template::Template;
use bytes::Bytes;
use hmac::{Hmac, Mac};
use hyper::Method;
use sha2::Sha256;
use std::time::Duration;

/// The header carrying the body's signature, as alert webhooks use it.
pub const SIGNATURE_HEADER: &str = "x-kevents-signature";

/// `sha256=<hex HMAC-SHA256(secret, body)>`.
pub fn signature(secret: &str, body: &[u8]) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC accepts keys of any length");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// A generic JSON webhook.
pub struct Webhook {
    /// The sink's name, sent in the body.
    pub name: String,
    /// Where to POST.
    pub endpoint: Endpoint,
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
            let sent = send(
                Method::POST,
                &self.endpoint,
                "application/json",
                &headers,
                Bytes::from(body),
                self.timeout,
            )
            .await;
            match sent {
                Ok(response) => all(
                    batch.len(),
                    http_verdict(response.status, &response.snippet()),
                ),
                Err(e) => all(batch.len(), Verdict::Retry(e.to_string())),
            }
        })
    }
}

/// A Slack-compatible incoming webhook: one message per batch, one line per event.
pub struct Slack {
    /// Where to POST.
    pub endpoint: Endpoint,
    /// The line template.
    pub text: Template,
    /// Request timeout.
    pub timeout: Duration,
}

/// The default Slack line.
pub const DEFAULT_SLACK_TEXT: &str =
    "{{ type }} {{ reason }} {{ object }} in {{ cluster }}/{{ namespace }} (x{{ count }}): {{ message }}";

impl Sink for Slack {
    fn encode(&self, delivery: Delivery) -> Result<Encoded, (Delivery, String)> {
        let payload = Bytes::from(self.text.render(&delivery));
        Ok(Encoded {
            delivery,
            payload,
            key: String::new(),
        })
    }

    fn send<'a>(&'a self, batch: &'a [Encoded]) -> BoxFuture<'a, Vec<Verdict>> {
        Box::pin(async move {
            let lines: Vec<String> = batch
                .iter()
                .map(|item| String::from_utf8_lossy(&item.payload).into_owned())
                .collect();
            let body = serde_json::json!({"text": lines.join("\n")}).to_string();
            let sent = send(
                Method::POST,
                &self.endpoint,
                "application/json",
                &[],
                Bytes::from(body),
                self.timeout,
            )
            .await;
            match sent {
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
    use crate::delivery::tests::delivery;

    #[test]
    fn signature_matches_a_known_hmac_sha256_vector() {
        // RFC 4231 test case 2.
        assert_eq!(
            signature("Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn webhook_body_is_one_json_object_with_every_envelope() {
        let hook = Webhook {
            name: "ops".into(),
            endpoint: Endpoint::parse("http://127.0.0.1:1/", "").unwrap(),
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
