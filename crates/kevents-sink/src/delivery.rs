//! What flows from the engine to a sink: deliveries, their encoded form, and the sink's
//! verdict per event. [`Sink`] is the one seam every destination implements.

use bytes::Bytes;
use kevents_http::{HttpError, Response};
use kevents_store::StoredEvent;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

/// Why an event is sent: the update policy's decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Emission {
    /// The event's first occurrence (it was created).
    First,
    /// A later change (`every-update`).
    Update,
    /// A periodic summary of changes (`first-and-summary`).
    Summary,
    /// The event's final state after a quiet period (`series-final`).
    Final,
}

impl Emission {
    /// The name used in payloads: `first`, `update`, `summary`, `final`.
    pub fn as_str(self) -> &'static str {
        match self {
            Emission::First => "first",
            Emission::Update => "update",
            Emission::Summary => "summary",
            Emission::Final => "final",
        }
    }
}

/// One event on its way to a sink.
#[derive(Debug, Clone)]
pub struct Delivery {
    /// The event as stored at the version being sent.
    pub event: Arc<StoredEvent>,
    /// The cluster it belongs to.
    pub cluster: String,
    /// Stable idempotency key: `<cluster>/<uid>/<resourceVersion>`.
    pub id: String,
    /// Why it is sent.
    pub emission: Emission,
    /// The feed position that stays undelivered until this delivery is acknowledged.
    pub position: u64,
}

impl Delivery {
    /// Builds a delivery, deriving the cluster and the idempotency key.
    pub fn new(
        event: Arc<StoredEvent>,
        hub_cluster: &str,
        emission: Emission,
        position: u64,
    ) -> Delivery {
        let cluster = event.record.cluster_or(hub_cluster).to_string();
        let id = format!(
            "{cluster}/{}/{}",
            event.record.uid, event.record.resource_version
        );
        Delivery {
            event,
            cluster,
            id,
            emission,
            position,
        }
    }
}

/// A delivery encoded for its sink.
#[derive(Debug, Clone)]
pub struct Encoded {
    /// The delivery.
    pub delivery: Delivery,
    /// The sink-specific payload (a bulk action pair, a syslog frame, a JSON document, ...).
    pub payload: Bytes,
    /// A grouping key some sinks use (Loki's stream labels, NATS's subject).
    pub key: String,
}

/// A sink's answer for one event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Stored by the sink (including "already there" answers of deduplicating sinks).
    Delivered,
    /// Failed for a reason that may pass (unreachable, overloaded, 429, 5xx).
    Retry(String),
    /// Rejected for good (4xx, a per-item bulk rejection): goes to the dead-letter file.
    Reject(String),
}

/// A boxed future, as the sink trait returns them.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A destination for events.
pub trait Sink: Send + Sync {
    /// Encodes one delivery; an error rejects that event for good.
    fn encode(&self, delivery: Delivery) -> Result<Encoded, (Delivery, String)>;

    /// One-time setup before the first batch (an index template, a stream); retried while it
    /// returns `Retry`.
    fn prepare(&self) -> BoxFuture<'_, Verdict> {
        Box::pin(async { Verdict::Delivered })
    }

    /// Sends a batch; returns one verdict per event, in order.
    fn send<'a>(&'a self, batch: &'a [Encoded]) -> BoxFuture<'a, Vec<Verdict>>;
}

/// The same verdict for every event of a batch of `len`.
pub fn all(len: usize, verdict: Verdict) -> Vec<Verdict> {
    vec![verdict; len]
}

/// Maps an HTTP status of a whole-batch request to a verdict: 2xx delivered; 408, 429 and 5xx
/// retried; any other status rejected.
pub fn http_verdict(status: u16, body: &str) -> Verdict {
    match status {
        200..=299 => Verdict::Delivered,
        408 | 429 | 500..=599 => Verdict::Retry(format!("HTTP {status}: {body}")),
        _ => Verdict::Reject(format!("HTTP {status}: {body}")),
    }
}

/// The verdict of a whole-batch request: [`http_verdict`] of the answer, retry when none came.
pub fn request_verdict(sent: Result<Response, HttpError>) -> Verdict {
    match sent {
        Ok(response) => http_verdict(response.status, &response.snippet()),
        Err(e) => Verdict::Retry(e.to_string()),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use kevents_http::{Client, Endpoint};
    use kevents_model::{EventRecord, Micros, Series};

    /// A client for `url` (with `suffix` appended to its path), trusting the system's roots.
    pub(crate) fn test_client(url: &str, suffix: &str) -> Client {
        Client::new(Endpoint::parse(url, suffix).unwrap(), None).unwrap()
    }

    /// A Warning BackOff event about pod/web-0 in `prod` at `rv` with `count` occurrences.
    pub(crate) fn delivery(rv: u64, count: i32) -> Delivery {
        let mut record = EventRecord {
            namespace: "prod".into(),
            name: "web-0.17a".into(),
            uid: "u-1".into(),
            resource_version: rv,
            event_type: "Warning".into(),
            reason: "BackOff".into(),
            message: "Back-off restarting failed container".into(),
            source_component: "kubelet".into(),
            source_host: "node-1".into(),
            count,
            first_timestamp: Some(Micros(1_764_000_000_000_000)),
            last_timestamp: Some(Micros(1_764_072_000_000_000)),
            ..Default::default()
        };
        record.involved_object.kind = "Pod".into();
        record.involved_object.name = "web-0".into();
        record.involved_object.namespace = "prod".into();
        record.series = None::<Series>;
        let event = Arc::new(StoredEvent {
            record,
            updated_at: Micros(1_764_072_000_000_000),
        });
        Delivery::new(event, "prod-eu", Emission::Update, rv)
    }

    #[test]
    fn idempotency_key_is_cluster_uid_and_version() {
        assert_eq!(delivery(42, 1).id, "prod-eu/u-1/42");
    }

    #[test]
    fn http_status_classes_map_to_retry_or_reject() {
        assert_eq!(http_verdict(204, ""), Verdict::Delivered);
        for retried in [408, 429, 500, 503] {
            assert!(matches!(http_verdict(retried, ""), Verdict::Retry(_)));
        }
        for rejected in [400, 401, 404, 413] {
            assert!(matches!(http_verdict(rejected, ""), Verdict::Reject(_)));
        }
    }
}
