//! The hub's cluster endpoints (`/kevents/v1/clusters…`): what it knows about each collected
//! cluster, read by `kevents clusters`, `kevents kubeconfig` and a starting collector.

use super::{HubClient, HubError};
use serde::Deserialize;

/// What the hub knows about one cluster (`GET /kevents/v1/clusters/<name>`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClusterStatus {
    /// The cluster name.
    pub name: String,
    /// The stored cursor (source resourceVersion), if any.
    #[serde(default)]
    pub cursor: Option<String>,
    /// Events the hub holds for it.
    #[serde(default)]
    pub events: u64,
    /// When a collector last wrote (RFC 3339).
    #[serde(default)]
    pub last_contact: Option<String>,
    /// The lag its collector last reported.
    #[serde(default)]
    pub lag_seconds: Option<f64>,
    /// Events received per minute, recently.
    #[serde(default)]
    pub rate_per_minute: Option<f64>,
    /// Lists of the source after its collector's first one (after `410 Gone`).
    #[serde(default)]
    pub relists: u64,
    /// Events the source forgot before its collector saw them, estimated, over every gap.
    #[serde(default)]
    pub lost_events: u64,
    /// The newest gaps, oldest first.
    #[serde(default)]
    pub gaps: Vec<ClusterGap>,
    /// The hub's own cluster (its `--cluster-name`), which no collector may write into.
    #[serde(default)]
    pub own: bool,
    /// The kevents version its collector last named.
    #[serde(default)]
    pub collector_version: Option<String>,
}

/// A span the source forgot before its collector saw it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClusterGap {
    /// When the collector was last in sync with the source (µs since the epoch).
    pub from: i64,
    /// The last update of the oldest event the source still held when the collector came
    /// back (µs since the epoch).
    pub to: i64,
    /// Events the span probably held.
    pub lost_events: u64,
    /// When the hub heard of it (µs since the epoch).
    pub reported: i64,
}

#[derive(Deserialize)]
struct ClusterList {
    #[serde(default)]
    items: Vec<ClusterStatus>,
}

impl HubClient {
    /// Every cluster the hub knows.
    pub async fn clusters(&self) -> Result<Vec<ClusterStatus>, HubError> {
        let list: ClusterList = self.get("/kevents/v1/clusters").await?;
        Ok(list.items)
    }

    /// What the hub knows about `cluster`; `None` when it has never heard of it.
    pub async fn cluster(&self, cluster: &str) -> Result<Option<ClusterStatus>, HubError> {
        match self.get(&format!("/kevents/v1/clusters/{cluster}")).await {
            Ok(status) => Ok(Some(status)),
            Err(HubError::Api(status)) if status.code == 404 => Ok(None),
            Err(e) => Err(e),
        }
    }
}
