//! `SelfSubjectAccessReview`, so `kubectl auth can-i` answers from the policy.

use super::identity::{Attributes, Identity};
use crate::error::ApiError;
use crate::error::Reply;
use crate::respond::json_response;
use crate::state::SharedState;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::Extension;
use serde_json::{json, Value};

/// `POST /apis/authorization.k8s.io/v1/selfsubjectaccessreviews`.
pub async fn self_subject_access_review(
    State(state): State<SharedState>,
    identity: Option<Extension<Identity>>,
    headers: HeaderMap,
    body: Bytes,
) -> Reply {
    let protobuf = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/vnd.kubernetes.protobuf"));
    let review: Value = if protobuf {
        super::proto::self_subject_access_review(&body).map_err(|e| {
            ApiError::bad_request(format!("error decoding SelfSubjectAccessReview: {e}"))
        })?
    } else {
        serde_json::from_slice(&body).map_err(|e| {
            ApiError::bad_request(format!("error decoding SelfSubjectAccessReview: {e}"))
        })?
    };
    let spec = &review["spec"];
    let resource = &spec["resourceAttributes"];
    if !resource.is_object() {
        return Err(ApiError::bad_request(
            "spec.resourceAttributes is required (non-resource attributes are not supported)",
        ));
    }
    let text = |v: &Value| v.as_str().unwrap_or("").to_string();
    let what = Attributes {
        verb: text(&resource["verb"]),
        group: text(&resource["group"]),
        resource: text(&resource["resource"]),
        namespace: Some(text(&resource["namespace"])).filter(|n| !n.is_empty()),
        name: Some(text(&resource["name"])).filter(|n| !n.is_empty()),
        cluster: state.security.cluster.clone(),
    };
    let served =
        what.resource == "events" && (what.group.is_empty() || what.group == "events.k8s.io");
    let identity = identity
        .map(|Extension(i)| i)
        .unwrap_or_else(Identity::anonymous);
    let allowed = served && state.security.allows(&identity, &what);
    let reason = if !served {
        "kevents serves only events".to_string()
    } else if allowed {
        "allowed by the kevents authorization policy".to_string()
    } else {
        String::new()
    };
    let mut status = json!({"allowed": allowed});
    if !reason.is_empty() {
        status["reason"] = reason.into();
    }
    json_response(
        StatusCode::CREATED,
        &json!({
            "kind": "SelfSubjectAccessReview",
            "apiVersion": "authorization.k8s.io/v1",
            "metadata": {"creationTimestamp": null},
            "spec": spec,
            "status": status,
        }),
    )
}
