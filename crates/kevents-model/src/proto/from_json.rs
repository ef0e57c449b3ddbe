//! JSON → protobuf: a JSON object written by its schema the way Go's generated marshallers
//! write the same struct, byte for byte: every non-pointer field (zero or not), pointers only
//! when set, map entries sorted by key.

use super::error::ProtoError;
use super::schema::{Field, Kind};
use super::wire::Writer;
use crate::time::Micros;
use serde_json::{Map, Value};

/// Encodes `object` by `schema`; `path` names it in errors. Keys the schema lacks are ignored.
pub(crate) fn message(
    object: &Map<String, Value>,
    schema: &[Field],
    path: &str,
) -> Result<Vec<u8>, ProtoError> {
    let mut writer = Writer::new();
    for field in schema {
        let field_path = if path.is_empty() {
            field.name.to_string()
        } else {
            format!("{path}.{}", field.name)
        };
        let value = object.get(field.name).filter(|v| !v.is_null());
        if field.repeated {
            let items: &[Value] = match value {
                None => &[],
                Some(Value::Array(items)) => items,
                Some(_) => return Err(ProtoError::new(&field_path, "expected an array")),
            };
            for (index, item) in items.iter().enumerate() {
                write(
                    &mut writer,
                    field,
                    Some(item),
                    &format!("{field_path}[{index}]"),
                )?;
            }
        } else if value.is_some() || !field.pointer {
            write(&mut writer, field, value, &field_path)?;
        }
    }
    Ok(writer.finish())
}

/// Writes one value of `field`; `None` writes the field's zero value.
fn write(
    writer: &mut Writer,
    field: &Field,
    value: Option<&Value>,
    path: &str,
) -> Result<(), ProtoError> {
    let expected = |what: &str| ProtoError::new(path, format!("expected {what}"));
    match (field.kind, value) {
        (Kind::String, None) => writer.bytes(field.number, b""),
        (Kind::String, Some(Value::String(s))) => writer.bytes(field.number, s.as_bytes()),
        (Kind::Int32, None) | (Kind::Int64, None) | (Kind::Bool, None) => {
            writer.varint(field.number, 0)
        }
        (Kind::Int32, Some(v)) => {
            let n = v
                .as_i64()
                .and_then(|n| i32::try_from(n).ok())
                .ok_or_else(|| expected("a 32-bit integer"))?;
            // Negative numbers are sign-extended to ten bytes, as protobuf requires.
            writer.varint(field.number, i64::from(n) as u64)
        }
        (Kind::Int64, Some(v)) => {
            let n = v.as_i64().ok_or_else(|| expected("a 64-bit integer"))?;
            writer.varint(field.number, n as u64)
        }
        (Kind::Bool, Some(Value::Bool(b))) => writer.varint(field.number, u64::from(*b)),
        (Kind::Time | Kind::MicroTime, None) => writer.bytes(field.number, b""),
        (Kind::Time | Kind::MicroTime, Some(Value::String(text))) => {
            let micros = Micros::parse(text).ok_or_else(|| expected("an RFC 3339 time"))?;
            let nanos = match field.kind {
                Kind::MicroTime => micros.0.rem_euclid(1_000_000) * 1000,
                _ => 0,
            };
            let mut timestamp = Writer::new();
            timestamp.varint(1, micros.as_seconds() as u64);
            timestamp.varint(2, nanos as u64);
            writer.bytes(field.number, &timestamp.finish());
        }
        (Kind::StringMap, None) => {}
        (Kind::StringMap, Some(Value::Object(map))) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            for (key, value) in entries {
                let value = value.as_str().ok_or_else(|| {
                    ProtoError::new(&format!("{path}[{key:?}]"), "expected a string")
                })?;
                let mut entry = Writer::new();
                entry.bytes(1, key.as_bytes());
                entry.bytes(2, value.as_bytes());
                writer.bytes(field.number, &entry.finish());
            }
        }
        (Kind::FieldsV1, None) => writer.bytes(field.number, b""),
        (Kind::FieldsV1, Some(v)) => {
            let raw = serde_json::to_vec(v).map_err(|e| ProtoError::new(path, e.to_string()))?;
            let mut fields_v1 = Writer::new();
            fields_v1.bytes(1, &raw);
            writer.bytes(field.number, &fields_v1.finish());
        }
        (Kind::Message(schema), None) => {
            writer.bytes(field.number, &message(&Map::new(), schema, path)?)
        }
        (Kind::Message(schema), Some(Value::Object(object))) => {
            writer.bytes(field.number, &message(object, schema, path)?)
        }
        (Kind::String, Some(_)) => return Err(expected("a string")),
        (Kind::Bool, Some(_)) => return Err(expected("a boolean")),
        (Kind::Time | Kind::MicroTime, Some(_)) => return Err(expected("an RFC 3339 time")),
        (Kind::StringMap | Kind::Message(_), Some(_)) => return Err(expected("an object")),
    }
    Ok(())
}
