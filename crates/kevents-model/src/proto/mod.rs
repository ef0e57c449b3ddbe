//! The Kubernetes protobuf encoding of an Event (`application/vnd.kubernetes.protobuf`), which
//! client-go's typed clients send for built-in types: the magic `k8s\0`, then a
//! `runtime.Unknown` envelope whose `raw` field is the Event message.
//!
//! Decoding yields the JSON form of the same object, so one JSON path validates and stores
//! events whatever their encoding; encoding goes the other way, byte-compatible with Go.
//! Hand-written over a schema table rather than generated (prost, k8s-pb): an Event needs ten
//! small messages, and the workspace builds on two cores.

mod error;
mod from_json;
mod schema;
mod to_json;
pub mod wire;

use crate::wire::{check_type_meta, DecodeError};
use crate::ApiGroup;
use serde_json::{Map, Value};
use wire::{bytes_field, Writer};

pub use error::ProtoError;

/// The four bytes every Kubernetes protobuf body starts with.
pub const MAGIC: &[u8] = b"k8s\0";

/// The media type of Kubernetes protobuf bodies.
pub const MEDIA_TYPE: &str = "application/vnd.kubernetes.protobuf";

/// The `runtime.Unknown` envelope of a protobuf body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope<'a> {
    /// `typeMeta.apiVersion`, possibly empty.
    pub api_version: &'a str,
    /// `typeMeta.kind`, possibly empty.
    pub kind: &'a str,
    /// The object's own message.
    pub raw: &'a [u8],
}

/// Opens the envelope of a Kubernetes protobuf body.
pub fn envelope(body: &[u8]) -> Result<Envelope<'_>, ProtoError> {
    let unknown = body.strip_prefix(MAGIC).ok_or_else(|| {
        ProtoError::new(
            "",
            "the body does not start with the Kubernetes protobuf magic \"k8s\\x00\"",
        )
    })?;
    let in_envelope = |e: wire::WireError| ProtoError::new("", format!("envelope: {e}"));
    let type_meta = bytes_field(unknown, schema::UNKNOWN_TYPE_META)
        .map_err(in_envelope)?
        .unwrap_or_default();
    let raw = bytes_field(unknown, schema::UNKNOWN_RAW)
        .map_err(in_envelope)?
        .unwrap_or_default();
    let type_meta_text = |number, name: &str| -> Result<&str, ProtoError> {
        let bytes = bytes_field(type_meta, number)
            .map_err(|e| ProtoError::new("", format!("envelope typeMeta: {e}")))?
            .unwrap_or_default();
        std::str::from_utf8(bytes)
            .map_err(|_| ProtoError::new("", format!("envelope typeMeta.{name} is not UTF-8")))
    };
    Ok(Envelope {
        api_version: type_meta_text(schema::TYPE_META_API_VERSION, "apiVersion")?,
        kind: type_meta_text(schema::TYPE_META_KIND, "kind")?,
        raw,
    })
}

/// Decodes a protobuf Event body of `group` into its JSON form, for
/// [`decode_event`](crate::wire::decode_event). Unknown fields are skipped, as the apiserver does;
/// an envelope naming another kind or version is refused like the same JSON body.
pub fn decode_event(group: ApiGroup, body: &[u8]) -> Result<Value, DecodeError> {
    let malformed = |e: ProtoError| {
        DecodeError::Malformed(format!(
            "Event in version {:?} cannot be handled as a Event: protobuf: {e}",
            group.api_version()
        ))
    };
    let envelope = envelope(body).map_err(malformed)?;
    let mut object = Map::new();
    for (name, value) in [
        ("apiVersion", envelope.api_version),
        ("kind", envelope.kind),
    ] {
        if !value.is_empty() {
            object.insert(name.to_string(), Value::String(value.to_string()));
        }
    }
    check_type_meta(group, &object)?;
    object.extend(to_json::message(envelope.raw, schema::event(group), "").map_err(malformed)?);
    Ok(Value::Object(object))
}

/// Decodes a protobuf `DeleteOptions` body (client-go's typed clients send DELETE bodies in
/// protobuf too) into its JSON form.
pub fn decode_delete_options(body: &[u8]) -> Result<Value, ProtoError> {
    let envelope = envelope(body)?;
    if !matches!(envelope.kind, "" | "DeleteOptions") {
        return Err(ProtoError::new(
            "",
            format!("expected a DeleteOptions, got a {}", envelope.kind),
        ));
    }
    to_json::message(envelope.raw, schema::DELETE_OPTIONS, "").map(Value::Object)
}

/// Encodes the JSON form of an Event of `group` (as [`EventView`](crate::wire::EventView)
/// renders it) as a protobuf body, envelope included, the bytes Go would write.
pub fn encode_event(group: ApiGroup, event: &Value) -> Result<Vec<u8>, ProtoError> {
    let object = event
        .as_object()
        .ok_or_else(|| ProtoError::new("", "an Event must be a JSON object"))?;
    let raw = from_json::message(object, schema::event(group), "")?;
    let mut type_meta = Writer::new();
    type_meta.bytes(
        schema::TYPE_META_API_VERSION,
        group.api_version().as_bytes(),
    );
    type_meta.bytes(schema::TYPE_META_KIND, b"Event");
    let mut unknown = Writer::new();
    unknown.bytes(schema::UNKNOWN_TYPE_META, &type_meta.finish());
    unknown.bytes(schema::UNKNOWN_RAW, &raw);
    unknown.bytes(schema::UNKNOWN_CONTENT_ENCODING, b"");
    unknown.bytes(schema::UNKNOWN_CONTENT_TYPE, b"");
    let mut body = MAGIC.to_vec();
    body.extend(unknown.finish());
    Ok(body)
}

#[cfg(test)]
mod tests;
