//! Authentication (bearer tokens), authorization (a policy file), per-client limits and the
//! audit log, applied to every request by one middleware.

mod audit;
mod identity;
mod limits;
mod policy;
mod proto;
mod review;
mod security;
mod subject;
mod tokens;

pub use audit::{AuditLog, AuditRecord};
pub use identity::{Attributes, Identity, Peer, SUPERUSER_GROUP};
pub use limits::{RateLimiter, WatchCounter};
pub use policy::{Policy, PolicyFile};
pub use review::self_subject_access_review;
pub use security::Security;
pub use subject::identity as certificate_identity;
pub use tokens::TokenFile;

use crate::error::ApiError;
use crate::state::SharedState;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use kevents_model::Micros;
use std::net::{IpAddr, Ipv4Addr};
use std::time::Instant;

/// A collector's ingest creates events in its cluster; reading the cluster list is `list`/`get`
/// (`watch` with `watch=true`) of `clusters` in the `kevents.io` group.
fn cluster_attributes(method: &str, rest: &str, query: &str, own: &str) -> Option<Attributes> {
    let segments: Vec<&str> = rest.split('/').skip(1).collect();
    let (verb, group, resource, name, cluster) = match (method, segments.as_slice()) {
        ("GET", []) if watch_query(query) => ("watch", "kevents.io", "clusters", None, own),
        ("GET", []) => ("list", "kevents.io", "clusters", None, own),
        ("GET", [name]) => ("get", "kevents.io", "clusters", Some(*name), own),
        ("POST", [name, "ingest"]) => ("create", "", "events", None, *name),
        _ => return None,
    };
    Some(Attributes {
        verb: verb.to_string(),
        group: group.to_string(),
        resource: resource.to_string(),
        namespace: None,
        name: name.map(str::to_string),
        cluster: cluster.to_string(),
    })
}

fn watch_query(query: &str) -> bool {
    query
        .split('&')
        .any(|p| p == "watch=true" || p == "watch=1")
}

/// The resource request a path and method make, or `None` for non-resource paths.
pub fn attributes(method: &str, path: &str, query: &str, cluster: &str) -> Option<Attributes> {
    if let Some(rest) = path.strip_prefix("/clusters/") {
        let (scoped, rest) = rest.split_once('/')?;
        return attributes(method, &format!("/{rest}"), query, scoped);
    }
    if let Some(rest) = path.strip_prefix("/kevents/v1/clusters") {
        return cluster_attributes(method, rest, query, cluster);
    }
    let (group, rest) = if let Some(rest) = path.strip_prefix("/api/v1/") {
        ("", rest)
    } else if let Some(rest) = path.strip_prefix("/apis/events.k8s.io/v1/") {
        ("events.k8s.io", rest)
    } else if let Some(rest) = path.strip_prefix("/apis/kevents.io/v1/") {
        ("kevents.io", rest)
    } else {
        return None;
    };
    let (watch_path, rest) = match rest.strip_prefix("watch/") {
        Some(rest) => (true, rest),
        None => (false, rest),
    };
    let segments: Vec<&str> = rest.split('/').collect();
    let (namespace, resource, name) = match segments.as_slice() {
        [resource] => (None, *resource, None),
        ["namespaces", ns, resource] => (Some(*ns), *resource, None),
        ["namespaces", ns, resource, name] => (Some(*ns), *resource, Some(*name)),
        // Cluster-scoped kevents.io resources (`eventpatterns/{name}`).
        [resource, name] if group == "kevents.io" => (None, *resource, Some(*name)),
        _ => return None,
    };
    // Counting events tells what listing them tells: it needs `list` on `events` in the scope.
    let (group, resource) = match (group, resource) {
        ("kevents.io", "eventcounts") => ("", "events"),
        other => other,
    };
    let watch = watch_path || watch_query(query);
    let verb = match (method, name.is_some(), watch) {
        ("GET", _, true) => "watch",
        ("GET", true, false) => "get",
        ("GET", false, false) => "list",
        ("POST", false, _) => "create",
        ("PUT", true, _) => "update",
        ("PATCH", true, _) => "patch",
        ("DELETE", true, _) => "delete",
        ("DELETE", false, _) => "deletecollection",
        _ => return None,
    };
    Some(Attributes {
        verb: verb.to_string(),
        group: group.to_string(),
        resource: resource.to_string(),
        namespace: namespace.map(str::to_string),
        name: name.map(str::to_string),
        cluster: cluster.to_string(),
    })
}

/// The apiserver's 403 for `who` doing `what`.
pub fn forbidden(who: &Identity, what: &Attributes) -> ApiError {
    let qualified = if what.group.is_empty() {
        what.resource.clone()
    } else {
        format!("{}.{}", what.resource, what.group)
    };
    let scope = match &what.namespace {
        Some(ns) => format!("in the namespace {ns:?}"),
        None => "at the cluster scope".to_string(),
    };
    let mut details = serde_json::json!({"kind": what.resource});
    if !what.group.is_empty() {
        details["group"] = what.group.clone().into();
    }
    if let Some(name) = &what.name {
        details["name"] = name.clone().into();
    }
    ApiError {
        code: StatusCode::FORBIDDEN,
        reason: "Forbidden",
        message: format!(
            "{qualified} is forbidden: User {:?} cannot {} resource {:?} in API group {:?} {scope}",
            who.user, what.verb, what.resource, what.group
        ),
        details: Some(details),
    }
}

fn unauthorized() -> ApiError {
    ApiError {
        code: StatusCode::UNAUTHORIZED,
        reason: "Unauthorized",
        message: "Unauthorized".to_string(),
        details: None,
    }
}

/// Paths anyone may reach, authenticated or not.
fn public(path: &str) -> bool {
    matches!(path, "/healthz" | "/livez" | "/readyz")
}

fn bearer(request: &Request) -> Option<&str> {
    let value = request
        .headers()
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// The middleware: limits, authentication, authorization, watch slots, audit.
pub async fn guard(State(state): State<SharedState>, mut request: Request, next: Next) -> Response {
    let security = &state.security;
    let client = request
        .extensions()
        .get::<Peer>()
        .map_or(IpAddr::V4(Ipv4Addr::LOCALHOST), |p| p.address.ip());
    let path = request.uri().path().to_string();
    if let Some(limiter) = &security.rate_limit {
        if let Err(retry_after) = limiter.take(client, Instant::now()) {
            state.metrics.rejected_request("TooManyRequests");
            let mut response = ApiError {
                code: StatusCode::TOO_MANY_REQUESTS,
                reason: "TooManyRequests",
                message: format!("too many requests from {client}, please try again later"),
                details: Some(serde_json::json!({"retryAfterSeconds": retry_after})),
            }
            .into_response();
            if let Ok(value) = retry_after.to_string().parse() {
                response.headers_mut().insert(header::RETRY_AFTER, value);
            }
            response.headers_mut().insert(
                header::CONNECTION,
                header::HeaderValue::from_static("close"),
            );
            return response;
        }
    }
    let identity = if !security.authentication_enabled() || public(&path) {
        Identity::anonymous()
    } else {
        let from_token = bearer(&request).and_then(|t| security.tokens.as_ref()?.authenticate(t));
        let from_certificate = || {
            let peer = request.extensions().get::<Peer>()?;
            security
                .client_certificates
                .then(|| peer.client.clone())
                .flatten()
        };
        match from_token.or_else(from_certificate) {
            Some(identity) => identity,
            None => {
                state.metrics.rejected_request("Unauthorized");
                return unauthorized().into_response();
            }
        }
    };
    let query = request.uri().query().unwrap_or("").to_string();
    let method = request.method().as_str().to_string();
    let attributes = attributes(&method, &path, &query, &security.cluster);
    if let Some(what) = &attributes {
        if !security.allows(&identity, what) {
            state.metrics.rejected_request("Forbidden");
            audit(security, &identity, client, what, 403, "deny");
            return forbidden(&identity, what).into_response();
        }
    }
    let mut slot = None;
    if let Some(what) = attributes.as_ref().filter(|w| w.verb == "watch") {
        if security.max_watches_per_client > 0 {
            match security
                .watches
                .acquire(client, security.max_watches_per_client)
            {
                Some(acquired) => slot = Some(acquired),
                None => {
                    state.metrics.rejected_request("TooManyWatches");
                    let _ = what;
                    let mut response = ApiError {
                        code: StatusCode::TOO_MANY_REQUESTS,
                        reason: "TooManyRequests",
                        message: format!(
                            "too many open watches from {client} (limit {})",
                            security.max_watches_per_client
                        ),
                        details: Some(serde_json::json!({"retryAfterSeconds": 1})),
                    }
                    .into_response();
                    // Refused clients do not keep their connections (and their buffers).
                    response.headers_mut().insert(
                        header::CONNECTION,
                        header::HeaderValue::from_static("close"),
                    );
                    return response;
                }
            }
        }
    }
    request.extensions_mut().insert(identity.clone());
    let response = next.run(request).await;
    if let Some(what) = &attributes {
        if !matches!(what.verb.as_str(), "get" | "list" | "watch") {
            audit(
                security,
                &identity,
                client,
                what,
                response.status().as_u16(),
                "allow",
            );
        }
    }
    match slot {
        // The slot is released when the watch stream ends.
        Some(slot) => response.map(|body| {
            Body::from_stream(body.into_data_stream().map(move |chunk| {
                let _held = &slot;
                chunk
            }))
        }),
        None => response,
    }
}

fn audit(
    security: &Security,
    who: &Identity,
    client: IpAddr,
    what: &Attributes,
    code: u16,
    decision: &str,
) {
    if let Some(log) = &security.audit {
        log.write(&audit::AuditRecord {
            time: Micros::now().to_micro_time_string(),
            user: &who.user,
            source_ip: client.to_string(),
            verb: &what.verb,
            api_group: &what.group,
            resource: &what.resource,
            namespace: what.namespace.as_deref(),
            name: what.name.as_deref(),
            code,
            decision,
        });
    }
}

#[cfg(test)]
mod tests;
