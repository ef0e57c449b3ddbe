//! The Slack-compatible incoming webhook (`POST {"text": "<one line per event>"}`).

use crate::delivery::{all, request_verdict, BoxFuture, Delivery, Encoded, Sink, Verdict};
use crate::template;
use bytes::Bytes;
use kevents_http::{Client, Request};
use kevents_model::Template;
use std::time::Duration;

/// A Slack-compatible incoming webhook: one message per batch, one line per event.
pub struct Slack {
    /// Where to POST.
    pub client: Client,
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
        let payload = Bytes::from(template::render(&self.text, &delivery));
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
            let request = Request::post_json(Bytes::from(body), &[]);
            let sent = self.client.send(request, self.timeout).await;
            all(batch.len(), request_verdict(sent))
        })
    }
}
