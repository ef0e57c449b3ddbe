//! Just enough of the Kubernetes protobuf encoding to read a `SelfSubjectAccessReview`, which
//! kubectl (`auth can-i`) sends as protobuf even to a JSON-only server.

use serde_json::{json, Map, Value};

/// The envelope's magic prefix.
const MAGIC: &[u8] = b"k8s\0";

/// A length-delimited field's bytes, or a varint's value.
enum Wire<'a> {
    Varint,
    Bytes(&'a [u8]),
}

fn varint(bytes: &[u8], at: &mut usize) -> Result<u64, String> {
    let mut value = 0u64;
    for shift in (0..64).step_by(7) {
        let byte = *bytes.get(*at).ok_or("truncated varint")?;
        *at += 1;
        value |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Ok(value);
        }
    }
    Err("varint too long".into())
}

/// The fields of one message, in order.
fn fields(bytes: &[u8]) -> Result<Vec<(u64, Wire<'_>)>, String> {
    let mut at = 0;
    let mut out = Vec::new();
    while at < bytes.len() {
        let key = varint(bytes, &mut at)?;
        let wire = match key & 7 {
            0 => {
                varint(bytes, &mut at)?;
                Wire::Varint
            }
            1 => {
                at += 8;
                Wire::Varint
            }
            2 => {
                let len =
                    usize::try_from(varint(bytes, &mut at)?).map_err(|_| "length overflow")?;
                let end = at
                    .checked_add(len)
                    .filter(|end| *end <= bytes.len())
                    .ok_or("truncated field")?;
                let field = &bytes[at..end];
                at = end;
                Wire::Bytes(field)
            }
            5 => {
                at += 4;
                Wire::Varint
            }
            other => return Err(format!("unsupported wire type {other}")),
        };
        if at > bytes.len() {
            return Err("truncated field".into());
        }
        out.push((key >> 3, wire));
    }
    Ok(out)
}

fn field(bytes: &[u8], number: u64) -> Result<Option<&[u8]>, String> {
    Ok(fields(bytes)?.into_iter().find_map(|(n, w)| match w {
        Wire::Bytes(b) if n == number => Some(b),
        _ => None,
    }))
}

/// Decodes a protobuf `SelfSubjectAccessReview` into its JSON form (`spec` only).
pub fn self_subject_access_review(body: &[u8]) -> Result<Value, String> {
    let envelope = body
        .strip_prefix(MAGIC)
        .ok_or("not a Kubernetes protobuf body")?;
    let raw = field(envelope, 2)?.ok_or("protobuf envelope without an object")?;
    let spec = field(raw, 2)?.unwrap_or_default();
    let mut attributes = Map::new();
    if let Some(resource) = field(spec, 1)? {
        let names = [
            "namespace",
            "verb",
            "group",
            "version",
            "resource",
            "subresource",
            "name",
        ];
        for (number, wire) in fields(resource)? {
            if let (Some(name), Wire::Bytes(value)) = (names.get(number as usize - 1), wire) {
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
