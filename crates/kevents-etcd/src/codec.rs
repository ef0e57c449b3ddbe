//! Values as the apiserver stores them: its protobuf storage encoding, `k8s\0` followed by a
//! `runtime.Unknown` that wraps the object. The endpoint keeps every value byte for byte for
//! etcd reads and hands it to an [`EventCodec`] for the hub's event record.

use kevents_model::EventRecord;
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

/// The codec used until the Event protobuf decoder is wired in: it checks the envelope and
/// fills the record's identity from the key, so the hub lists the event by namespace and name.
#[derive(Debug, Clone, Copy, Default)]
pub struct EnvelopeCodec;

impl EventCodec for EnvelopeCodec {
    fn decode(&self, namespace: &str, name: &str, value: &[u8]) -> Result<EventRecord, String> {
        event_bytes(value)?;
        Ok(EventRecord {
            namespace: namespace.to_owned(),
            name: name.to_owned(),
            ..Default::default()
        })
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
        let record = EnvelopeCodec.decode("default", "e1", &value).unwrap();
        assert_eq!(
            (record.namespace.as_str(), record.name.as_str()),
            ("default", "e1")
        );
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
}
