//! Request bodies of writes: size limits, JSON/YAML/protobuf decoding into an event with
//! `fieldValidation`, and the warnings that go back in `Warning` headers.

use crate::error::{ApiError, ApiResult};
use crate::negotiate::{body_format, BodyFormat};
use axum::body::Body;
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::Response;
use bytes::Bytes;
use kevents_model::wire::{
    decode_core_text, decode_event, unrecognized, DecodeError, DecodedEvent,
};
use kevents_model::ApiGroup;
use serde_json::Value;
use std::collections::HashMap;

/// `fieldValidation`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum FieldValidation {
    Ignore,
    Warn,
    Strict,
}

pub(crate) struct WriteOptions {
    pub dry_run: bool,
    pub field_validation: FieldValidation,
}

impl WriteOptions {
    pub fn parse(query: &HashMap<String, String>) -> ApiResult<WriteOptions> {
        let dry_run = match query.get("dryRun").map(String::as_str) {
            None | Some("") => false,
            Some("All") => true,
            Some(other) => {
                return Err(ApiError::bad_request(format!(
                    "dryRun: Unsupported value: {other:?}: supported values: \"All\""
                )))
            }
        };
        let field_validation = match query.get("fieldValidation").map(String::as_str) {
            None | Some("") | Some("Warn") => FieldValidation::Warn,
            Some("Ignore") => FieldValidation::Ignore,
            Some("Strict") => FieldValidation::Strict,
            Some(other) => {
                return Err(ApiError::bad_request(format!(
                    "fieldValidation: Unsupported value: {other:?}: supported values: \"Ignore\", \"Strict\", \"Warn\""
                )))
            }
        };
        Ok(WriteOptions {
            dry_run,
            field_validation,
        })
    }
}

pub(crate) async fn read_body(body: Body, headers: &HeaderMap, limit: usize) -> ApiResult<Bytes> {
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|len| len > limit) {
        return Err(ApiError::too_large(limit));
    }
    axum::body::to_bytes(body, limit)
        .await
        .map_err(|_| ApiError::too_large(limit))
}

/// Reads a DELETE body as JSON `DeleteOptions`: client-go's typed clients send it in protobuf.
pub(crate) async fn read_delete_options(
    body: Body,
    headers: &HeaderMap,
    limit: usize,
) -> ApiResult<Bytes> {
    let bytes = read_body(body, headers, limit).await?;
    if !matches!(body_format(headers), Ok(BodyFormat::Protobuf)) {
        return Ok(bytes);
    }
    let options = kevents_model::proto::decode_delete_options(&bytes)
        .map_err(|e| ApiError::bad_request(format!("error decoding DeleteOptions: {e}")))?;
    Ok(Bytes::from(options.to_string()))
}

/// Decodes a body as an Event of `group`, enforcing `fieldValidation`; returns warnings.
pub(crate) fn decode_body(
    bytes: &[u8],
    format: BodyFormat,
    group: ApiGroup,
    validation: FieldValidation,
) -> ApiResult<(DecodedEvent, Vec<String>)> {
    if format == BodyFormat::Protobuf {
        let value = kevents_model::proto::decode_event(group, bytes).map_err(decode_error)?;
        return decode_value(value, group, validation);
    }
    if format == BodyFormat::Yaml {
        let text = std::str::from_utf8(bytes)
            .map_err(|e| ApiError::bad_request(format!("the YAML body is not UTF-8: {e}")))?;
        let value: Value = serde_saphyr::from_str(text).map_err(|e| {
            ApiError::bad_request(unrecognized(&format!("error converting YAML to JSON: {e}")))
        })?;
        return decode_value(value, group, validation);
    }
    // Most bodies are core/v1 JSON with only known fields: decoded straight into their type,
    // without the JSON tree in between. Anything else takes the tree, which answers the same.
    if let Ok(text) = std::str::from_utf8(bytes) {
        let unknown_fields_matter = validation != FieldValidation::Ignore;
        let direct = decode_core_text(group, text, unknown_fields_matter);
        if let Some(decoded) = direct {
            return Ok((decoded, Vec::new()));
        }
    }
    let value: Value = serde_json::from_slice(bytes).map_err(|e| {
        let summary: String = String::from_utf8_lossy(&bytes[..bytes.len().min(64)]).into_owned();
        ApiError::bad_request(format!("{} ({summary:?})", unrecognized(&e.to_string())))
    })?;
    decode_value(value, group, validation)
}

pub(crate) fn decode_value(
    value: Value,
    group: ApiGroup,
    validation: FieldValidation,
) -> ApiResult<(DecodedEvent, Vec<String>)> {
    let decoded = decode_event(group, value).map_err(decode_error)?;
    let unknown: Vec<String> = decoded
        .unknown_fields
        .iter()
        .map(|f| format!("unknown field {f:?}"))
        .collect();
    match validation {
        FieldValidation::Strict if !unknown.is_empty() => Err(ApiError::bad_request(format!(
            "Event in version {:?} cannot be handled as a Event: strict decoding error: {}",
            group.api_version(),
            unknown.join(", ")
        ))),
        FieldValidation::Warn => Ok((decoded, unknown)),
        _ => Ok((decoded, Vec::new())),
    }
}

fn decode_error(error: DecodeError) -> ApiError {
    match error {
        DecodeError::Malformed(m) | DecodeError::WrongType(m) => ApiError::bad_request(m),
    }
}

pub(crate) fn with_warnings(mut response: Response, warnings: &[String]) -> Response {
    for warning in warnings {
        let text = format!("299 - {:?}", warning);
        if let Ok(value) = HeaderValue::from_str(&text) {
            response.headers_mut().append(header::WARNING, value);
        }
    }
    response
}
