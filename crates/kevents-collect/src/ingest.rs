//! Writing a batch into the hub: `POST /kevents/v1/clusters/<name>/ingest` and its answer.

use kevents_http::hub::{HubClient, HubError};
use kevents_http::Method;
use serde::Deserialize;

/// A hub's answer to an ingest request.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IngestAnswer {
    /// Events applied (new, or newer than the hub's version).
    #[serde(default)]
    pub applied: u64,
    /// Events the hub already had at that version or newer.
    #[serde(default)]
    pub skipped: u64,
    /// The cursor the hub now stores for the cluster.
    #[serde(default)]
    pub cursor: Option<String>,
    /// Events refused one by one (not applied).
    #[serde(default)]
    pub errors: Vec<IngestError>,
}

/// One refused event of an ingest request.
#[derive(Debug, Clone, Deserialize)]
pub struct IngestError {
    /// Its position in the request.
    pub index: usize,
    /// Why.
    pub message: String,
}

/// Writes a batch (a body made by [`crate::batch::Batch::body`]) for `cluster`.
pub async fn ingest(
    hub: &HubClient,
    cluster: &str,
    body: Vec<u8>,
) -> Result<IngestAnswer, HubError> {
    hub.request(
        Method::POST,
        &format!("/kevents/v1/clusters/{cluster}/ingest"),
        body,
    )
    .await
}
