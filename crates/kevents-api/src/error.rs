//! Every error the API returns, mapped in one place to a Kubernetes `Status` object.

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use kevents_model::validation::FieldError;
use kevents_model::ApiGroup;
use kevents_store::StoreError;
use serde_json::{json, Map, Value};

/// An API failure: HTTP code, `Status.reason`, message and optional details.
#[derive(Debug, Clone)]
pub struct ApiError {
    /// HTTP status code, also `Status.code`.
    pub code: StatusCode,
    /// `Status.reason`, e.g. `NotFound`; empty for none.
    pub reason: &'static str,
    /// `Status.message`.
    pub message: String,
    /// `Status.details`, when there are any.
    pub details: Option<Value>,
}

fn resource_details(group: ApiGroup, name: &str) -> Value {
    let mut details = Map::new();
    details.insert("name".into(), name.into());
    if !group.group_name().is_empty() {
        details.insert("group".into(), group.group_name().into());
    }
    details.insert("kind".into(), "events".into());
    Value::Object(details)
}

/// Longest request target (path and query) the HTTP server accepts; fixed by hyper.
pub const MAX_REQUEST_TARGET_BYTES: usize = 65_534;

/// Largest request line plus headers the HTTP server reads (hyper's default read buffer).
pub const MAX_REQUEST_HEAD_BYTES: usize = 8192 + 4096 * 100;

/// Most bytes of a rejected value an error message quotes; a patch result can be as large as
/// the body limit.
pub const QUOTED_VALUE_MAX: usize = 1024;

/// The longest prefix of `text` of at most `max` bytes that ends on a character boundary.
pub(crate) fn prefix_within(text: &str, max: usize) -> &str {
    let mut cut = text.len().min(max);
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    &text[..cut]
}

fn quoted_value(value: &Value) -> String {
    let text = value.to_string();
    if text.len() <= QUOTED_VALUE_MAX {
        return text;
    }
    format!("{}...", prefix_within(&text, QUOTED_VALUE_MAX))
}

impl ApiError {
    pub(crate) fn new(
        code: StatusCode,
        reason: &'static str,
        message: impl Into<String>,
    ) -> ApiError {
        ApiError {
            code,
            reason,
            message: message.into(),
            details: None,
        }
    }

    pub(crate) fn with_details(mut self, details: Value) -> ApiError {
        self.details = Some(details);
        self
    }

    /// 400 BadRequest.
    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, "BadRequest", message)
    }

    /// 404 for a missing event.
    pub fn not_found(group: ApiGroup, name: &str) -> ApiError {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "NotFound",
            format!("{} {name:?} not found", group.qualified_resource()),
        )
        .with_details(resource_details(group, name))
    }

    /// 404 for a path the server does not serve.
    pub fn unknown_path() -> ApiError {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "NotFound",
            "the server could not find the requested resource",
        )
        .with_details(json!({}))
    }

    /// 409 AlreadyExists.
    pub fn already_exists(group: ApiGroup, name: &str) -> ApiError {
        ApiError::new(
            StatusCode::CONFLICT,
            "AlreadyExists",
            format!("{} {name:?} already exists", group.qualified_resource()),
        )
        .with_details(resource_details(group, name))
    }

    /// 409 Conflict on a stale resourceVersion or failed precondition.
    pub fn conflict(group: ApiGroup, name: &str) -> ApiError {
        ApiError::new(
            StatusCode::CONFLICT,
            "Conflict",
            format!(
                "Operation cannot be fulfilled on {} {name:?}: the object has been modified; \
                 please apply your changes to the latest version and try again",
                group.qualified_resource()
            ),
        )
        .with_details(resource_details(group, name))
    }

    /// 422 Invalid with one cause per field error.
    pub fn invalid(name: &str, errors: &[FieldError]) -> ApiError {
        let rendered: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
        let summary = match rendered.as_slice() {
            [one] => one.clone(),
            many => format!("[{}]", many.join(", ")),
        };
        let causes: Vec<Value> = errors
            .iter()
            .map(|e| {
                json!({
                    "reason": e.kind.cause_reason(),
                    "message": e.message_without_field(),
                    "field": e.field,
                })
            })
            .collect();
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Invalid",
            format!("Event {name:?} is invalid: {summary}"),
        )
        .with_details(json!({"name": name, "kind": "Event", "causes": causes}))
    }

    /// 422 for list options that contradict each other; `body` is the field error without
    /// its path (e.g. `Forbidden: …`), `cause` its `StatusCause` reason.
    pub fn invalid_list_options(field: &str, cause: &str, body: &str) -> ApiError {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Invalid",
            format!("ListOptions.meta.k8s.io \"\" is invalid: {field}: {body}"),
        )
        .with_details(json!({
            "group": "meta.k8s.io",
            "kind": "ListOptions",
            "causes": [{"reason": cause, "message": body, "field": field}],
        }))
    }

    /// 422 for a patch whose result is not an event object, as the apiserver answers when the
    /// patched JSON does not decode: the cause names the field `patch` and quotes the result,
    /// cut to [`QUOTED_VALUE_MAX`] bytes.
    pub fn invalid_patch_result(patched: &Value, why: &str) -> ApiError {
        let quoted = quoted_value(patched);
        let body = format!("Invalid value: {quoted:?}: {why}");
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Invalid",
            format!(" \"\" is invalid: patch: {body}"),
        )
        .with_details(json!({
            "causes": [{"reason": "FieldValueInvalid", "message": body, "field": "patch"}],
        }))
    }

    /// 414 for a request target longer than the HTTP server accepts.
    pub fn uri_too_long() -> ApiError {
        ApiError::new(
            StatusCode::URI_TOO_LONG,
            "",
            format!(
                "the request URI is longer than the server's limit of {MAX_REQUEST_TARGET_BYTES} bytes"
            ),
        )
    }

    /// 431 for a request line and headers larger than the HTTP server reads.
    pub fn request_head_too_large() -> ApiError {
        ApiError::new(
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            "",
            format!(
                "the request line and headers are larger than the server's limit of {MAX_REQUEST_HEAD_BYTES} bytes"
            ),
        )
    }

    /// 405 for a method the path does not support.
    pub fn method_not_allowed() -> ApiError {
        ApiError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "MethodNotAllowed",
            "the server does not allow this method on the requested resource",
        )
        .with_details(json!({}))
    }

    /// 406 when no acceptable media type can be produced.
    pub fn not_acceptable() -> ApiError {
        ApiError::new(
            StatusCode::NOT_ACCEPTABLE,
            "NotAcceptable",
            "only the following media types are accepted: application/json, application/yaml",
        )
    }

    /// 415 for a body in a format the endpoint does not read.
    pub fn unsupported_media_type(accepted: &str) -> ApiError {
        ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "UnsupportedMediaType",
            format!(
                "the body of the request was in an unknown format - accepted media types include: {accepted}"
            ),
        )
    }

    /// 413 for an oversize body.
    pub fn too_large(limit: usize) -> ApiError {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "RequestEntityTooLarge",
            format!("Request entity too large: limit is {limit}"),
        )
    }

    /// 413 with a specific message.
    pub fn too_large_message(message: String) -> ApiError {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "RequestEntityTooLarge",
            message,
        )
    }

    /// 410 Expired.
    pub fn expired(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::GONE, "Expired", message)
    }

    /// 504 for a resourceVersion newer than the store's.
    pub fn too_large_resource_version(requested: u64, current: u64) -> ApiError {
        ApiError::new(
            StatusCode::GATEWAY_TIMEOUT,
            "Timeout",
            format!("Timeout: Too large resource version: {requested}, current: {current}"),
        )
        .with_details(json!({
            "causes": [{"reason": "ResourceVersionTooLarge", "message": "Too large resource version"}],
            "retryAfterSeconds": 1,
        }))
    }

    /// 500 InternalError.
    pub fn internal(message: impl std::fmt::Display) -> ApiError {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "InternalError",
            format!("Internal error occurred: {message}"),
        )
    }

    /// Maps a store failure for the event `name` of `group`.
    pub fn from_store(error: StoreError, group: ApiGroup, name: &str) -> ApiError {
        match error {
            StoreError::AlreadyExists(_) => ApiError::already_exists(group, name),
            StoreError::NotFound(_) => ApiError::not_found(group, name),
            StoreError::Conflict(_) => ApiError::conflict(group, name),
            StoreError::Io { no_space: true, .. } => ApiError::new(
                StatusCode::INSUFFICIENT_STORAGE,
                "InsufficientStorage",
                format!("the event store is out of disk space; nothing was written: {error}"),
            ),
            StoreError::TooLarge { bytes, limit } => ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "RequestEntityTooLarge",
                format!(
                    "Request entity too large: the event is {bytes} bytes, the limit is {limit}"
                ),
            ),
            StoreError::Closed => ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "ServiceUnavailable",
                "the server is shutting down",
            ),
            other => ApiError::internal(other),
        }
    }

    /// The `Status` object.
    pub fn to_status(&self) -> Value {
        let mut status = json!({
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
        });
        if !self.reason.is_empty() {
            status["reason"] = self.reason.into();
        }
        if let Some(details) = &self.details {
            status["details"] = details.clone();
        }
        status["code"] = self.code.as_u16().into();
        status
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::to_vec(&self.to_status()).expect("Status always serializes");
        let mut response = (self.code, body).into_response();
        response.headers_mut().insert(
            axum::http::header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        if matches!(
            self.code,
            StatusCode::TOO_MANY_REQUESTS
                | StatusCode::SERVICE_UNAVAILABLE
                | StatusCode::GATEWAY_TIMEOUT
        ) {
            response.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                HeaderValue::from_static("1"),
            );
        }
        response
    }
}

/// Result of a handler.
pub type ApiResult<T> = Result<T, ApiError>;

/// A response or a Status error.
pub(crate) type Reply = Result<Response, ApiError>;

/// The fallback of a route that exists but not for the request's method.
pub(crate) fn not_allowed() -> impl Fn() -> std::future::Ready<ApiError> + Clone {
    || std::future::ready(ApiError::method_not_allowed())
}
