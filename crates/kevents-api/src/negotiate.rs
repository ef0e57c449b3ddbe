//! Content negotiation: which representation a client asked for, and what a body is.

use crate::error::{ApiError, ApiResult};
use axum::http::{header, HeaderMap};

/// The representation of a read response.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Representation {
    /// Plain JSON objects.
    Json,
    /// A `meta.k8s.io/v1` `Table` (server-side printing).
    Table,
    /// YAML objects (`application/yaml`).
    Yaml,
}

/// The format of a request body.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BodyFormat {
    /// `application/json`, or no Content-Type at all (the Python client sends none).
    Json,
    /// `application/yaml`.
    Yaml,
    /// `application/vnd.kubernetes.protobuf`, which client-go's typed clients prefer.
    Protobuf,
}

/// The media types of a PATCH body.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PatchKind {
    /// RFC 6902.
    Json,
    /// RFC 7386.
    Merge,
    /// Kubernetes strategic merge (merge semantics for Event, which has no merge-keyed lists).
    StrategicMerge,
    /// Server-side apply.
    Apply,
}

/// Accepted PATCH media types, as listed in 415 errors.
pub const PATCH_TYPES: &str = "application/json-patch+json, application/merge-patch+json, \
    application/strategic-merge-patch+json, application/apply-patch+yaml";

struct MediaRange<'a> {
    essence: &'a str,
    params: Vec<(&'a str, &'a str)>,
}

fn media_ranges(value: &str) -> Vec<MediaRange<'_>> {
    value
        .split(',')
        .map(|range| {
            let mut parts = range.split(';').map(str::trim);
            let essence = parts.next().unwrap_or("");
            let params = parts.filter_map(|p| p.split_once('=')).collect();
            MediaRange { essence, params }
        })
        .collect()
}

/// Picks the representation from `Accept`; JSON when absent. Protobuf and CBOR are declined
/// in favour of JSON when the client also lists JSON, as kubectl does.
pub fn representation(headers: &HeaderMap) -> ApiResult<Representation> {
    let Some(accept) = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()) else {
        return Ok(Representation::Json);
    };
    if accept.trim().is_empty() {
        return Ok(Representation::Json);
    }
    for range in media_ranges(accept) {
        let param = |name: &str| {
            range
                .params
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| *v)
        };
        match range.essence {
            "application/json" | "application/*" | "*/*" => match param("as") {
                None => return Ok(Representation::Json),
                Some("Table")
                    if param("g") == Some("meta.k8s.io")
                        && matches!(param("v"), Some("v1") | Some("v1beta1")) =>
                {
                    return Ok(Representation::Table)
                }
                // Other conversions (PartialObjectMetadata, ...) are not offered: try the next.
                Some(_) => {}
            },
            "application/yaml" => return Ok(Representation::Yaml),
            _ => {}
        }
    }
    Err(ApiError::not_acceptable())
}

/// The format of a create/update body from its Content-Type.
pub fn body_format(headers: &HeaderMap) -> ApiResult<BodyFormat> {
    match essence(headers).as_deref() {
        None | Some("application/json") | Some("") => Ok(BodyFormat::Json),
        Some("application/yaml") => Ok(BodyFormat::Yaml),
        Some(kevents_model::proto::MEDIA_TYPE) => Ok(BodyFormat::Protobuf),
        Some(_) => Err(ApiError::unsupported_media_type(
            "application/json, application/yaml, application/vnd.kubernetes.protobuf",
        )),
    }
}

/// The kind of a PATCH body from its Content-Type.
pub fn patch_kind(headers: &HeaderMap) -> ApiResult<PatchKind> {
    match essence(headers).as_deref() {
        Some("application/json-patch+json") => Ok(PatchKind::Json),
        Some("application/merge-patch+json") => Ok(PatchKind::Merge),
        Some("application/strategic-merge-patch+json") => Ok(PatchKind::StrategicMerge),
        Some("application/apply-patch+yaml") | Some("application/apply-patch+json") => {
            Ok(PatchKind::Apply)
        }
        _ => Err(ApiError::unsupported_media_type(PATCH_TYPES)),
    }
}

fn essence(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::CONTENT_TYPE)?.to_str().ok()?;
    Some(
        value
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accept(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::ACCEPT, value.parse().unwrap());
        headers
    }

    #[test]
    fn kubectl_table_header_selects_table() {
        let kubectl = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json";
        assert_eq!(
            representation(&accept(kubectl)).unwrap(),
            Representation::Table
        );
    }

    #[test]
    fn protobuf_first_falls_back_to_json() {
        let describe = "application/vnd.kubernetes.protobuf,application/json";
        assert_eq!(
            representation(&accept(describe)).unwrap(),
            Representation::Json
        );
        assert_eq!(
            representation(&HeaderMap::new()).unwrap(),
            Representation::Json
        );
        assert_eq!(
            representation(&accept("*/*")).unwrap(),
            Representation::Json
        );
    }

    #[test]
    fn protobuf_only_is_not_acceptable() {
        let err = representation(&accept("application/vnd.kubernetes.protobuf")).unwrap_err();
        assert_eq!(err.code, 406);
        let err = representation(&accept(
            "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1",
        ))
        .unwrap_err();
        assert_eq!(err.reason, "NotAcceptable");
    }
}
