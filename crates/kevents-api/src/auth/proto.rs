//! A `SelfSubjectAccessReview` in the Kubernetes protobuf encoding, which
//! kubectl (`auth can-i`) sends even to a JSON-only server; read with `kevents_model::proto`.

use kevents_model::proto::envelope;
use kevents_model::proto::wire::{bytes_field, fields, WireValue};
use serde_json::{json, Map, Value};

/// Decodes a protobuf `SelfSubjectAccessReview` into its JSON form (`spec` only).
pub fn self_subject_access_review(body: &[u8]) -> Result<Value, String> {
    let raw = envelope(body).map_err(|e| e.to_string())?.raw;
    let spec = bytes_field(raw, 2)
        .map_err(|e| e.to_string())?
        .unwrap_or_default();
    let mut attributes = Map::new();
    if let Some(resource) = bytes_field(spec, 1).map_err(|e| e.to_string())? {
        let names = [
            "namespace",
            "verb",
            "group",
            "version",
            "resource",
            "subresource",
            "name",
        ];
        for field in fields(resource) {
            let (number, value) = field.map_err(|e| e.to_string())?;
            let name = names.get((number as usize).wrapping_sub(1));
            if let (Some(name), WireValue::Bytes(value)) = (name, value) {
                let text = std::str::from_utf8(value).map_err(|_| "field is not UTF-8")?;
                attributes.insert(name.to_string(), json!(text));
            }
        }
        return Ok(json!({"spec": {"resourceAttributes": attributes}}));
    }
    Ok(json!({"spec": {}}))
}

#[cfg(test)]
mod tests {
    use super::*;
    use kevents_model::proto::MAGIC;

    fn message(fields: &[(u8, &[u8])]) -> Vec<u8> {
        let mut out = Vec::new();
        for (number, value) in fields {
            out.push((number << 3) | 2);
            out.push(value.len() as u8);
            out.extend_from_slice(value);
        }
        out
    }

    #[test]
    fn decodes_kubectl_auth_can_i() {
        let attributes = message(&[(1, b"prod"), (2, b"list"), (5, b"events")]);
        let spec = message(&[(1, &attributes)]);
        let review = message(&[(2, &spec)]);
        let type_meta = message(&[
            (1, b"authorization.k8s.io/v1"),
            (2, b"SelfSubjectAccessReview"),
        ]);
        let mut body = MAGIC.to_vec();
        body.extend(message(&[(1, &type_meta), (2, &review)]));
        let decoded = self_subject_access_review(&body).unwrap();
        assert_eq!(
            decoded,
            json!({"spec": {"resourceAttributes": {"namespace": "prod", "verb": "list", "resource": "events"}}})
        );
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        for body in [
            &b"k8s\0\x12\xff\xff"[..],
            b"k8s\0\x0a",
            b"nope",
            b"k8s\0\x07",
        ] {
            assert!(self_subject_access_review(body).is_err() || body == b"k8s\0\x0a");
        }
    }
}
