//! The webhook sink's wire format: `POST <url>` with `{"alerts":[...],"status":"firing"|"resolved"}`,
//! signed with `X-Kevents-Signature: sha256=<hex HMAC-SHA256(secret, body)>` when a secret is set
//! (`kevents_http::signature`, shared with the event sinks' webhooks).

use super::outbox::Batch;
use crate::Alert;
use bytes::Bytes;
use kevents_http::{Endpoint, UrlError};
use serde::Serialize;

#[derive(Serialize)]
struct Payload<'a> {
    alerts: &'a [Alert],
    status: &'static str,
}

/// Where notifications go for a webhook at `url`.
pub(super) fn endpoint(url: &str) -> Result<Endpoint, UrlError> {
    Endpoint::parse(url, "")
}

/// The request body; a batch is all firing or all resolved.
pub(super) fn encode(batch: &Batch) -> Bytes {
    let payload = Payload {
        alerts: &batch.alerts,
        status: batch.status(),
    };
    Bytes::from(
        serde_json::to_vec(&payload)
            .expect("an alert serializes: string maps, strings and timestamps"),
    )
}
