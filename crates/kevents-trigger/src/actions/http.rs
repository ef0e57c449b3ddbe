//! The HTTP actions: a CloudEvent to a webhook (structured JSON, signed like the webhook
//! sink), and a Slack-compatible message.

use super::outcome::Outcome;
use crate::run::TriggerRun;
use bytes::Bytes;
use kevents_http::{signature, Client, Request, SIGNATURE_HEADER};
use kevents_sink::delivery::{http_verdict, Verdict};
use std::time::Duration;

/// The CloudEvents `type` of a firing.
pub const CLOUD_EVENT_TYPE: &str = "io.kevents.trigger";

/// The structured-mode media type of a CloudEvent.
const CLOUD_EVENT_MEDIA_TYPE: &str = "application/cloudevents+json";

fn outcome(verdict: Verdict, message: String) -> Outcome {
    match verdict {
        Verdict::Delivered => Outcome::Done {
            message,
            created: None,
        },
        Verdict::Retry(reason) => Outcome::Retry(reason),
        Verdict::Reject(reason) => Outcome::Fail(reason),
    }
}

async fn send(
    client: &Client,
    content_type: &str,
    headers: &[(String, String)],
    timeout: Duration,
    body: Bytes,
) -> Outcome {
    let request = Request {
        content_type,
        ..Request::post_json(body, headers)
    };
    match client.send(request, timeout).await {
        Ok(response) => {
            let message = format!("HTTP {}", response.status);
            outcome(http_verdict(response.status, &response.snippet()), message)
        }
        Err(e) => Outcome::Retry(e.to_string()),
    }
}

/// POSTs the run's CloudEvent (its id is the idempotency key, the same on every attempt).
pub async fn post_cloud_event(
    client: &Client,
    hmac_secret: Option<&str>,
    headers: &[(String, String)],
    timeout: Duration,
    run: &TriggerRun,
) -> Outcome {
    let body = serde_json::to_vec(&run.spec.action.body).expect("JSON values serialize");
    let mut headers = headers.to_vec();
    if let Some(secret) = hmac_secret {
        headers.push((SIGNATURE_HEADER.to_string(), signature(secret, &body)));
    }
    send(
        client,
        CLOUD_EVENT_MEDIA_TYPE,
        &headers,
        timeout,
        Bytes::from(body),
    )
    .await
}

/// POSTs a JSON body (the Slack message).
pub async fn post_json(
    client: &Client,
    headers: &[(String, String)],
    timeout: Duration,
    body: &serde_json::Value,
) -> Outcome {
    let body = serde_json::to_vec(body).expect("JSON values serialize");
    send(
        client,
        "application/json",
        headers,
        timeout,
        Bytes::from(body),
    )
    .await
}
