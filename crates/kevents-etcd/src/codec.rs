//! Values as the apiserver stores them: its protobuf storage encoding, `k8s\0` followed by a
//! `runtime.Unknown` that wraps the object. The endpoint keeps every value byte for byte for
//! etcd reads and hands it to an [`EventCodec`] for the hub's event record.

use kevents_model::wire::decode_event;
use kevents_model::{ApiGroup, EventRecord};
use prost::Message;

/// The magic bytes in front of the apiserver's protobuf storage encoding.
pub const PROTOBUF_MAGIC: &[u8] = b"k8s\0";

/// Turns a stored value into the hub's event record.
pub trait EventCodec: Send + Sync + 'static {
    /// Decodes the value written for the event `namespace/name`; the record's cluster is set
    /// by the caller.
    fn decode(&self, namespace: &str, name: &str, value: &[u8]) -> Result<EventRecord, String>;
}

/// `runtime.TypeMeta` of the envelope.
#[derive(Clone, PartialEq, prost::Message)]
struct TypeMeta {
    #[prost(string, tag = "1")]
    api_version: String,
    #[prost(string, tag = "2")]
    kind: String,
}

/// `runtime.Unknown`: the envelope around the object's own protobuf bytes.
#[derive(Clone, PartialEq, prost::Message)]
struct Unknown {
    #[prost(message, optional, tag = "1")]
    type_meta: Option<TypeMeta>,
    #[prost(bytes = "vec", tag = "2")]
    raw: Vec<u8>,
}

/// Checks the envelope of a value: the magic, a `runtime.Unknown` of a core/v1 `Event`; returns
/// the Event's own protobuf bytes.
pub fn event_bytes(value: &[u8]) -> Result<Vec<u8>, String> {
    let body = value.strip_prefix(PROTOBUF_MAGIC).ok_or_else(|| {
        "not the apiserver's protobuf storage encoding (no k8s\\0 prefix; \
         --storage-media-type must stay application/vnd.kubernetes.protobuf)"
            .to_owned()
    })?;
    let unknown = Unknown::decode(body).map_err(|e| format!("undecodable runtime.Unknown: {e}"))?;
    let meta = unknown.type_meta.unwrap_or_default();
    if meta.api_version != "v1" || meta.kind != "Event" {
        return Err(format!(
            "holds {}/{}, not a v1 Event",
            meta.api_version, meta.kind
        ));
    }
    Ok(unknown.raw)
}

/// The apiserver's own encoding: the envelope is checked, then the core/v1 Event message is
/// read with kevents' protobuf schema into the record every other part of the hub sees
/// (series, rules, sinks, the API), with the uid and creation time the apiserver assigned.
#[derive(Debug, Clone, Copy, Default)]
pub struct ProtobufEventCodec;

impl EventCodec for ProtobufEventCodec {
    fn decode(&self, namespace: &str, name: &str, value: &[u8]) -> Result<EventRecord, String> {
        event_bytes(value)?;
        let json = kevents_model::proto::decode_event(ApiGroup::Core, value)
            .map_err(|e| format!("undecodable v1 Event: {e}"))?;
        let decoded = decode_event(ApiGroup::Core, json).map_err(|e| e.to_string())?;
        let mut record = decoded.record;
        if record.namespace != namespace || record.name != name {
            return Err(format!(
                "the value is the event {}/{}, stored under the key of {namespace}/{name}",
                record.namespace, record.name
            ));
        }
        record.uid = decoded.uid.unwrap_or_default();
        record.creation_timestamp = decoded.creation_timestamp;
        Ok(record)
    }
}

/// Encodes an Event's protobuf bytes in the storage envelope (for tests and tools).
pub fn envelope(event: &[u8]) -> Vec<u8> {
    let unknown = Unknown {
        type_meta: Some(TypeMeta {
            api_version: "v1".into(),
            kind: "Event".into(),
        }),
        raw: event.to_vec(),
    };
    let mut value = PROTOBUF_MAGIC.to_vec();
    value.extend(unknown.encode_to_vec());
    value
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_envelope_of_an_event_is_accepted_and_anything_else_refused() {
        let value = envelope(b"\x0a\x00");
        assert_eq!(event_bytes(&value).unwrap(), b"\x0a\x00");
        assert!(event_bytes(b"{\"kind\":\"Event\"}")
            .unwrap_err()
            .contains("k8s"));
        assert!(event_bytes(b"k8s\0\xff\xff")
            .unwrap_err()
            .contains("undecodable"));
        let pod = {
            let mut v = PROTOBUF_MAGIC.to_vec();
            v.extend(
                Unknown {
                    type_meta: Some(TypeMeta {
                        api_version: "v1".into(),
                        kind: "Pod".into(),
                    }),
                    raw: Vec::new(),
                }
                .encode_to_vec(),
            );
            v
        };
        assert!(event_bytes(&pod).unwrap_err().contains("v1/Pod"));
    }

    /// An Event as the Go encoder wrote it (k8s.io/apimachinery's protobuf serializer).
    const RECORDED: &[u8] =
        include_bytes!("../../kevents-model/testdata/proto/core-v1-recorded.pb");

    #[test]
    fn the_apiservers_encoding_becomes_the_whole_event_record() {
        let record = ProtobufEventCodec
            .decode("default", "web-0.182c9f1e2d3a4b5d", RECORDED)
            .unwrap();
        assert_eq!(record.reason, "BackOff");
        assert_eq!(record.involved_object.name, "web-0");
        assert_eq!(record.labels.get("app").map(String::as_str), Some("web"));
        assert!(record.message.starts_with("Back-off restarting"));
    }

    #[test]
    fn a_value_under_another_events_key_is_refused() {
        let error = ProtobufEventCodec
            .decode("default", "someone-else", RECORDED)
            .unwrap_err();
        assert!(error.contains("stored under the key"), "{error}");
        let truncated = &RECORDED[..RECORDED.len() - 7];
        assert!(ProtobufEventCodec
            .decode("default", "web-0.182c9f1e2d3a4b5d", truncated)
            .is_err());
    }
}
