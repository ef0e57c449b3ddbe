//! Protobuf → JSON: a message read by its schema into the JSON object Go's JSON encoder would
//! write for the same Go struct, so the JSON decoding path handles both encodings.

use super::error::ProtoError;
use super::schema::{Field, Kind};
use super::wire::{bytes_field, fields, WireError, WireValue};
use crate::time::Micros;
use serde_json::{Map, Value};

/// Go's zero `time.Time` (0001-01-01T00:00:00Z), which its JSON encoder writes as `null`.
const GO_ZERO_TIME_SECONDS: i64 = -62_135_596_800;

/// Decodes `message` by `schema`; `path` names it in errors. Unknown fields are skipped.
pub(crate) fn message(
    message: &[u8],
    schema: &[Field],
    path: &str,
) -> Result<Map<String, Value>, ProtoError> {
    let mut object = Map::new();
    merge(&mut object, message, schema, path)?;
    Ok(object)
}

/// Decodes `message` into `object`. A field seen again merges as protobuf merges: scalars are
/// replaced, lists appended, maps and embedded messages merged field by field.
fn merge(
    object: &mut Map<String, Value>,
    message: &[u8],
    schema: &[Field],
    path: &str,
) -> Result<(), ProtoError> {
    for item in fields(message) {
        let (number, value) = item.map_err(|e| ProtoError::at(path, e))?;
        let Some(field) = schema.iter().find(|f| f.number == number) else {
            continue;
        };
        let field_path = join(path, field.name);
        let merged = matches!(field.kind, Kind::Message(_) | Kind::StringMap) && !field.repeated;
        let slot = if merged || field.repeated {
            let empty = if field.repeated {
                Value::Array(Vec::new())
            } else {
                Value::Object(Map::new())
            };
            Some(object.entry(field.name).or_insert(empty))
        } else {
            None
        };
        match (slot, field.kind, value) {
            (Some(Value::Object(inner)), Kind::Message(schema), WireValue::Bytes(bytes)) => {
                merge(inner, bytes, schema, &field_path)?
            }
            (Some(Value::Object(map)), Kind::StringMap, WireValue::Bytes(bytes)) => {
                let (key, value) = map_entry(bytes, &field_path)?;
                map.insert(key, value);
            }
            (Some(Value::Array(list)), _, value) => {
                list.push(field_value(field, value, &field_path)?)
            }
            (_, _, value) => {
                let decoded = field_value(field, value, &field_path)?;
                if is_absent(field, &decoded) {
                    object.remove(field.name);
                } else {
                    object.insert(field.name.to_string(), decoded);
                }
            }
        }
    }
    Ok(())
}

fn join(path: &str, name: &str) -> String {
    if path.is_empty() {
        name.to_string()
    } else {
        format!("{path}.{name}")
    }
}

/// Go cannot tell a zero non-pointer field from a missing one; neither can its JSON, mostly.
fn is_absent(field: &Field, value: &Value) -> bool {
    match value {
        Value::Null => true,
        _ if field.pointer => false,
        Value::String(s) => s.is_empty(),
        Value::Number(n) => n.as_i64() == Some(0),
        Value::Bool(b) => !b,
        _ => false,
    }
}

fn field_value(field: &Field, value: WireValue<'_>, path: &str) -> Result<Value, ProtoError> {
    match (field.kind, value) {
        (Kind::Int32, WireValue::Varint(v)) => Ok(Value::from(v as i32)),
        (Kind::Int64, WireValue::Varint(v)) => Ok(Value::from(v as i64)),
        (Kind::Bool, WireValue::Varint(v)) => Ok(Value::Bool(v != 0)),
        (Kind::String, WireValue::Bytes(b)) => text(b, path).map(|s| Value::String(s.to_string())),
        (Kind::Time, WireValue::Bytes(b)) => timestamp(b, path, false),
        (Kind::MicroTime, WireValue::Bytes(b)) => timestamp(b, path, true),
        (Kind::FieldsV1, WireValue::Bytes(b)) => fields_v1(b, path),
        (Kind::Message(schema), WireValue::Bytes(b)) => message(b, schema, path).map(Value::Object),
        (kind, value) => Err(wrong_wire_type(
            path,
            &format!("field {}", field.number),
            value,
            kind.wire_name(),
        )),
    }
}

fn wrong_wire_type(path: &str, field: &str, found: WireValue<'_>, expected: &str) -> ProtoError {
    let found = found.wire_name();
    ProtoError::new(
        path,
        format!("wrong wire type {found} for {field} ({expected})"),
    )
}

fn text<'a>(bytes: &'a [u8], path: &str) -> Result<&'a str, ProtoError> {
    std::str::from_utf8(bytes)
        .map_err(|e| ProtoError::new(path, format!("string is not valid UTF-8: {e}")))
}

/// `meta/v1.Time` or `MicroTime`: an empty message is Go's zero time (JSON `null`). Time keeps
/// whole seconds, MicroTime microseconds (both truncate, as apimachinery does).
fn timestamp(bytes: &[u8], path: &str, micro: bool) -> Result<Value, ProtoError> {
    if bytes.is_empty() {
        return Ok(Value::Null);
    }
    let (mut seconds, mut nanos) = (0i64, 0i32);
    for item in fields(bytes) {
        match item.map_err(|e| ProtoError::at(path, e))? {
            (1, WireValue::Varint(v)) => seconds = v as i64,
            (2, WireValue::Varint(v)) => nanos = v as i32,
            (number @ (1 | 2), other) => {
                let field = format!("timestamp field {number}");
                return Err(wrong_wire_type(path, &field, other, "varint"));
            }
            _ => {}
        }
    }
    if seconds == GO_ZERO_TIME_SECONDS && (!micro || nanos / 1000 == 0) {
        return Ok(Value::Null);
    }
    let sub_second = if micro { i64::from(nanos / 1000) } else { 0 };
    let micros = seconds
        .checked_mul(1_000_000)
        .and_then(|m| m.checked_add(sub_second))
        .filter(|m| jiff::Timestamp::from_microsecond(*m).is_ok())
        .ok_or_else(|| {
            ProtoError::new(
                path,
                format!("timestamp out of range ({seconds} s, {nanos} ns)"),
            )
        })?;
    let micros = Micros(micros);
    Ok(Value::String(if micro {
        micros.to_micro_time_string()
    } else {
        micros.to_time_string()
    }))
}

/// One `map<string, string>` entry: its key and value.
fn map_entry(bytes: &[u8], path: &str) -> Result<(String, Value), ProtoError> {
    let (mut key, mut value) = ("", "");
    for item in fields(bytes) {
        match item.map_err(|e| ProtoError::at(path, e))? {
            (1, WireValue::Bytes(b)) => key = text(b, path)?,
            (2, WireValue::Bytes(b)) => value = text(b, &format!("{path}[{key:?}]"))?,
            (number @ (1 | 2), other) => {
                let field = format!("map entry field {number}");
                return Err(wrong_wire_type(path, &field, other, "length-delimited"));
            }
            _ => {}
        }
    }
    Ok((key.to_string(), Value::String(value.to_string())))
}

/// `FieldsV1{raw}`: the raw bytes are the field's JSON.
fn fields_v1(bytes: &[u8], path: &str) -> Result<Value, ProtoError> {
    match bytes_field(bytes, 1).map_err(|e| ProtoError::at(path, e))? {
        None => Ok(Value::Null),
        Some(raw) => serde_json::from_slice(raw)
            .map_err(|e| ProtoError::new(path, format!("raw is not JSON: {e}"))),
    }
}

impl ProtoError {
    fn at(path: &str, error: WireError) -> ProtoError {
        ProtoError::new(path, error.to_string())
    }
}
