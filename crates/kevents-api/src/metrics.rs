//! kevents' own API metrics: requests by verb and code, write latency, rejected writes by
//! reason, open watches. Recorded by one middleware and the watch streams.

use axum::extract::{Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::Response;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;
use std::sync::Arc;
use std::time::Instant;

/// The API's metrics.
#[derive(Clone)]
pub struct ApiMetrics {
    requests: Family<Vec<(&'static str, String)>, Counter>,
    write_seconds: Histogram,
    rejected_writes: Family<Vec<(&'static str, String)>, Counter>,
    /// Watches currently open.
    pub watchers: Gauge,
    rejected_requests: Family<Vec<(&'static str, String)>, Counter>,
    handler_panics: Counter,
}

impl Default for ApiMetrics {
    fn default() -> Self {
        ApiMetrics {
            requests: Family::default(),
            write_seconds: Histogram::new(exponential_buckets(0.0005, 2.0, 14)),
            rejected_writes: Family::default(),
            watchers: Gauge::default(),
            rejected_requests: Family::default(),
            handler_panics: Counter::default(),
        }
    }
}

impl ApiMetrics {
    /// Registers the metrics.
    pub fn register(&self, registry: &mut Registry) {
        registry.register(
            "kevents_http_requests",
            "Kubernetes API requests by verb and HTTP status code",
            self.requests.clone(),
        );
        registry.register(
            "kevents_write_duration_seconds",
            "Time to answer create, update, patch and delete requests (durable acknowledgement)",
            self.write_seconds.clone(),
        );
        registry.register(
            "kevents_rejected_writes",
            "Write requests answered with an error, by Status reason",
            self.rejected_writes.clone(),
        );
        registry.register(
            "kevents_watchers",
            "Open watch streams",
            self.watchers.clone(),
        );
        registry.register(
            "kevents_rejected_requests",
            "Requests refused before reaching the API, by reason (Unauthorized, Forbidden, TooManyRequests, TooManyWatches)",
            self.rejected_requests.clone(),
        );
        registry.register(
            "kevents_handler_panics",
            "Requests whose handler panicked and were answered 500 InternalError",
            self.handler_panics.clone(),
        );
    }

    /// Counts a handler that panicked.
    pub(crate) fn handler_panicked(&self) {
        self.handler_panics.inc();
    }

    /// Handlers that panicked since the start.
    pub fn handler_panics(&self) -> u64 {
        self.handler_panics.get()
    }

    /// Write requests answered with `reason` (a Status reason, e.g. `TooManyRequests`) so far.
    pub fn rejected_writes(&self, reason: &str) -> u64 {
        self.rejected_writes
            .get_or_create(&vec![("reason", reason.to_string())])
            .get()
    }

    /// Requests refused before the API with `reason` (e.g. `TooManyRequests`) so far.
    pub fn rejected_requests(&self, reason: &str) -> u64 {
        self.rejected_requests
            .get_or_create(&vec![("reason", reason.to_string())])
            .get()
    }

    /// Counts a request refused by authentication, authorization or a limit.
    pub fn rejected_request(&self, reason: &str) {
        self.rejected_requests
            .get_or_create(&vec![("reason", reason.to_string())])
            .inc();
    }
}

/// The Kubernetes verb of a request to an events path, or `other`.
fn verb(method: &Method, path: &str, query: &str) -> &'static str {
    let events = path.contains("/events");
    let named = events && !path.ends_with("/events");
    let watch = path.contains("/watch/")
        || query
            .split('&')
            .any(|p| p == "watch=true" || p == "watch=1");
    match (method.as_str(), events, named, watch) {
        (_, false, _, _) => "other",
        ("GET", _, _, true) => "watch",
        ("GET", _, true, _) => "get",
        ("GET", _, false, _) => "list",
        ("POST", _, false, _) => "create",
        ("PUT", _, true, _) => "update",
        ("PATCH", _, true, _) => "patch",
        ("DELETE", _, true, _) => "delete",
        ("DELETE", _, false, _) => "deletecollection",
        _ => "other",
    }
}

fn status_reason(status: u16) -> &'static str {
    match status {
        400 => "BadRequest",
        403 => "Forbidden",
        404 => "NotFound",
        409 => "Conflict",
        410 => "Expired",
        413 => "RequestEntityTooLarge",
        415 => "UnsupportedMediaType",
        422 => "Invalid",
        429 => "TooManyRequests",
        503 => "ServiceUnavailable",
        507 => "InsufficientStorage",
        _ if status >= 500 => "InternalError",
        _ => "Other",
    }
}

/// Middleware recording every request.
pub async fn track(
    State(metrics): State<Arc<ApiMetrics>>,
    request: Request,
    next: Next,
) -> Response {
    let verb = verb(
        request.method(),
        request.uri().path(),
        request.uri().query().unwrap_or(""),
    );
    let started = Instant::now();
    let response = next.run(request).await;
    let status = response.status().as_u16();
    metrics
        .requests
        .get_or_create(&vec![
            ("verb", verb.to_string()),
            ("code", status.to_string()),
        ])
        .inc();
    if matches!(
        verb,
        "create" | "update" | "patch" | "delete" | "deletecollection"
    ) {
        metrics
            .write_seconds
            .observe(started.elapsed().as_secs_f64());
        if status >= 400 {
            metrics
                .rejected_writes
                .get_or_create(&vec![("reason", status_reason(status).to_string())])
                .inc();
        }
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verbs_follow_kubernetes_naming() {
        let v = |m: Method, p: &str, q: &str| verb(&m, p, q);
        assert_eq!(v(Method::GET, "/api/v1/namespaces/a/events", ""), "list");
        assert_eq!(v(Method::GET, "/api/v1/events", "watch=true"), "watch");
        assert_eq!(
            v(Method::GET, "/api/v1/watch/namespaces/a/events", ""),
            "watch"
        );
        assert_eq!(
            v(
                Method::GET,
                "/apis/events.k8s.io/v1/namespaces/a/events/x",
                ""
            ),
            "get"
        );
        assert_eq!(v(Method::POST, "/api/v1/namespaces/a/events", ""), "create");
        assert_eq!(
            v(Method::PATCH, "/api/v1/namespaces/a/events/x", ""),
            "patch"
        );
        assert_eq!(
            v(Method::DELETE, "/api/v1/namespaces/a/events", ""),
            "deletecollection"
        );
        assert_eq!(v(Method::GET, "/version", ""), "other");
    }
}
