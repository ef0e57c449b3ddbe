//! The Alertmanager sink's wire format: `POST <base>/api/v2/alerts` with a JSON array of
//! `PostableAlert`s.

use super::outbox::Batch;
use bytes::Bytes;
use kevents_http::{Endpoint, UrlError};

/// The API path below an Alertmanager base URL.
const ALERTS_PATH: &str = "/api/v2/alerts";

/// Where alerts go for an Alertmanager at `base_url`.
pub(super) fn endpoint(base_url: &str) -> Result<Endpoint, UrlError> {
    Endpoint::parse(base_url, ALERTS_PATH)
}

/// The request body: the batch's alerts as a JSON array.
pub(super) fn encode(batch: &Batch) -> Bytes {
    Bytes::from(
        serde_json::to_vec(&batch.alerts)
            .expect("an alert serializes: string maps, strings and timestamps"),
    )
}
