//! One sealed block: up to a few thousand events in key order, stored column by column so that
//! similar values sit together (namespaces, reasons, kinds, hosts and messages repeat; names
//! share their object's name; times and versions are close to their neighbours), before the
//! block is compressed as a whole.
//!
//! Column choices: strings are dictionary-encoded when their values repeat; an event name of
//! the client-go shape `<object>.<hex>` keeps only the number, as a delta; canonical UUIDs are 16
//! bytes; resourceVersions and last-write times are deltas from the previous row; the other
//! times are offsets from the row's own last write, in seconds when they are whole seconds.

use crate::columns::{format_uuid, parse_uuid, ColumnReader, ColumnWriter, DecodeError};
use crate::entry::StoredEvent;
use kevents_model::{EventRecord, Micros, ObjectRef, Series};

/// Format version written at the start of every block.
const VERSION: u8 = 1;
const MICROS_PER_SECOND: i64 = 1_000_000;

/// Encodes `events` (in key order) as uncompressed columns.
pub fn encode(events: &[&StoredEvent]) -> Vec<u8> {
    let mut w = ColumnWriter::default();
    w.buf.push(VERSION);
    w.varint(events.len() as u64);
    let records: Vec<&EventRecord> = events.iter().map(|e| &e.record).collect();
    let column = |w: &mut ColumnWriter, pick: &dyn Fn(&EventRecord) -> &str| {
        let values: Vec<&str> = records.iter().map(|r| pick(r)).collect();
        w.strings(&values);
    };
    column(&mut w, &|r| &r.cluster);
    column(&mut w, &|r| &r.namespace);
    column(&mut w, &|r| &r.generate_name);
    column(&mut w, &|r| &r.source_resource_version);
    column(&mut w, &|r| &r.reason);
    column(&mut w, &|r| &r.event_type);
    column(&mut w, &|r| &r.action);
    column(&mut w, &|r| &r.reporting_controller);
    column(&mut w, &|r| &r.reporting_instance);
    column(&mut w, &|r| &r.source_component);
    column(&mut w, &|r| &r.source_host);
    column(&mut w, &|r| &r.involved_object.kind);
    column(&mut w, &|r| &r.involved_object.namespace);
    column(&mut w, &|r| &r.involved_object.name);
    column(&mut w, &|r| &r.involved_object.api_version);
    column(&mut w, &|r| &r.involved_object.resource_version);
    column(&mut w, &|r| &r.involved_object.field_path);
    column(&mut w, &|r| &r.message);
    let json: Vec<[String; 4]> = records.iter().map(|r| json_fields(r)).collect();
    for field in 0..4 {
        let values: Vec<&str> = json.iter().map(|j| j[field].as_str()).collect();
        w.strings(&values);
    }
    names(&mut w, &records);
    uuids(&mut w, &records, |r| &r.uid);
    uuids(&mut w, &records, |r| &r.involved_object.uid);
    let mut previous = (0u64, 0i64);
    for event in events {
        let rv = event.record.resource_version;
        w.zigzag(rv.wrapping_sub(previous.0) as i64);
        w.zigzag(event.updated_at.0.wrapping_sub(previous.1));
        previous = (rv, event.updated_at.0);
    }
    for record in &records {
        w.zigzag(i64::from(record.count));
        match &record.series {
            None => w.varint(0),
            Some(series) => w.varint(1 + zigzag(i64::from(series.count))),
        }
    }
    let times: [fn(&EventRecord) -> Option<Micros>; 5] = [
        |r| r.creation_timestamp,
        |r| r.event_time,
        |r| r.first_timestamp,
        |r| r.last_timestamp,
        |r| r.series.and_then(|s| s.last_observed),
    ];
    for time in times {
        let codes: Vec<(u8, i64)> = events
            .iter()
            .map(|e| time_code(e.updated_at, time(&e.record)))
            .collect();
        codes.iter().for_each(|(tag, _)| w.buf.push(*tag));
        codes
            .iter()
            .filter(|(tag, _)| *tag != 0)
            .for_each(|(_, v)| w.zigzag(*v));
    }
    w.buf
}

/// Decodes a block written by `encode`.
pub fn decode(bytes: &[u8]) -> Result<Vec<StoredEvent>, DecodeError> {
    let mut r = ColumnReader::new(bytes);
    if r.byte()? != VERSION {
        return Err(DecodeError("unknown block version"));
    }
    let n = r.count()?;
    let mut strings = Vec::with_capacity(22);
    for _ in 0..22 {
        strings.push(r.strings(n)?.into_iter());
    }
    let mut records = Vec::with_capacity(n);
    for _ in 0..n {
        // One value from each string column, in the order they were written.
        let mut row = strings.iter_mut().map(|c| c.next().unwrap_or_default());
        let mut take = || row.next().unwrap_or_default();
        let mut record = EventRecord {
            cluster: take(),
            namespace: take(),
            generate_name: take(),
            source_resource_version: take(),
            reason: take(),
            event_type: take(),
            action: take(),
            reporting_controller: take(),
            reporting_instance: take(),
            source_component: take(),
            source_host: take(),
            ..Default::default()
        };
        record.involved_object = ObjectRef {
            kind: take(),
            namespace: take(),
            name: take(),
            api_version: take(),
            resource_version: take(),
            field_path: take(),
            uid: String::new(),
        };
        record.message = take();
        record.labels = parse_json(take())?;
        record.annotations = parse_json(take())?;
        record.extra_metadata = parse_json(take())?;
        let related = take();
        if !related.is_empty() {
            record.related = Some(parse_json(related)?);
        }
        records.push(record);
    }
    read_names(&mut r, &mut records)?;
    read_uuids(&mut r, &mut records, |rec| &mut rec.uid)?;
    read_uuids(&mut r, &mut records, |rec| &mut rec.involved_object.uid)?;
    let mut updated = Vec::with_capacity(n);
    let mut previous = (0u64, 0i64);
    for record in &mut records {
        previous.0 = previous.0.wrapping_add(r.zigzag()? as u64);
        previous.1 = previous.1.wrapping_add(r.zigzag()?);
        record.resource_version = previous.0;
        updated.push(Micros(previous.1));
    }
    for record in &mut records {
        record.count = i32::try_from(r.zigzag()?).map_err(|_| DecodeError("count out of range"))?;
        record.series = match r.varint()? {
            0 => None,
            code => Some(Series {
                count: i32::try_from(unzigzag(code - 1))
                    .map_err(|_| DecodeError("series count out of range"))?,
                last_observed: None,
            }),
        };
    }
    for field in 0..5 {
        let mut tags = Vec::with_capacity(n);
        for _ in 0..n {
            tags.push(r.byte()?);
        }
        for ((record, tag), at) in records.iter_mut().zip(tags).zip(&updated) {
            let value = match tag {
                0 => None,
                tag => Some(from_time_code(*at, tag, r.zigzag()?)?),
            };
            match field {
                0 => record.creation_timestamp = value,
                1 => record.event_time = value,
                2 => record.first_timestamp = value,
                3 => record.last_timestamp = value,
                _ => match (&mut record.series, value) {
                    (Some(series), value) => series.last_observed = value,
                    (None, None) => {}
                    (None, Some(_)) => return Err(DecodeError("observed time without series")),
                },
            }
        }
    }
    if !r.at_end() {
        return Err(DecodeError("trailing bytes"));
    }
    Ok(records
        .into_iter()
        .zip(updated)
        .map(|(record, updated_at)| StoredEvent { record, updated_at })
        .collect())
}

/// A JSON-valued field; `""` is its empty value.
fn parse_json<T: serde::de::DeserializeOwned + Default>(text: String) -> Result<T, DecodeError> {
    match text.as_str() {
        "" => Ok(T::default()),
        text => serde_json::from_str(text).map_err(|_| DecodeError("invalid JSON field")),
    }
}

fn zigzag(value: i64) -> u64 {
    ((value << 1) ^ (value >> 63)) as u64
}

fn unzigzag(raw: u64) -> i64 {
    ((raw >> 1) as i64) ^ -((raw & 1) as i64)
}

/// Labels, annotations, other metadata and the related object as JSON (`""` when empty).
fn json_fields(record: &EventRecord) -> [String; 4] {
    let json = |value: &dyn erased::Json, empty: bool| {
        if empty {
            String::new()
        } else {
            value.to_json()
        }
    };
    [
        json(&record.labels, record.labels.is_empty()),
        json(&record.annotations, record.annotations.is_empty()),
        json(&record.extra_metadata, record.extra_metadata.is_empty()),
        match &record.related {
            Some(related) => json(related, false),
            None => String::new(),
        },
    ]
}

mod erased {
    /// Serializes any of the JSON-valued fields.
    pub trait Json {
        fn to_json(&self) -> String;
    }
    impl<T: serde::Serialize> Json for T {
        fn to_json(&self) -> String {
            serde_json::to_string(self).unwrap_or_default()
        }
    }
}

/// `(tag, value)`: 0 = unset; 1 = whole seconds, as seconds from the last write's second;
/// 2 = microseconds from the last write.
fn time_code(anchor: Micros, value: Option<Micros>) -> (u8, i64) {
    match value {
        None => (0, 0),
        Some(v) if v.0 % MICROS_PER_SECOND == 0 => (
            1,
            (v.0 / MICROS_PER_SECOND).wrapping_sub(anchor.0.div_euclid(MICROS_PER_SECOND)),
        ),
        Some(v) => (2, v.0.wrapping_sub(anchor.0)),
    }
}

fn from_time_code(anchor: Micros, tag: u8, value: i64) -> Result<Micros, DecodeError> {
    match tag {
        1 => anchor
            .0
            .div_euclid(MICROS_PER_SECOND)
            .wrapping_add(value)
            .checked_mul(MICROS_PER_SECOND)
            .map(Micros)
            .ok_or(DecodeError("time out of range")),
        2 => Ok(Micros(anchor.0.wrapping_add(value))),
        _ => Err(DecodeError("unknown time encoding")),
    }
}

/// Names: `<involvedObject.name>.<lowercase hex>` (client-go's shape) keeps only the number, as
/// a delta from the previous such name; other names are a string column.
fn names(w: &mut ColumnWriter, records: &[&EventRecord]) {
    let numbers: Vec<Option<u64>> = records.iter().map(|r| name_number(r)).collect();
    numbers
        .iter()
        .for_each(|n| w.buf.push(u8::from(n.is_some())));
    let mut previous = 0u64;
    for number in numbers.iter().flatten() {
        w.zigzag(number.wrapping_sub(previous) as i64);
        previous = *number;
    }
    let rest: Vec<&str> = records
        .iter()
        .zip(&numbers)
        .filter(|(_, n)| n.is_none())
        .map(|(r, _)| r.name.as_str())
        .collect();
    w.strings(&rest);
}

fn name_number(record: &EventRecord) -> Option<u64> {
    let suffix = record
        .name
        .strip_prefix(record.involved_object.name.as_str())?
        .strip_prefix('.')?;
    let number = u64::from_str_radix(suffix, 16).ok()?;
    // Only when the text comes back exactly (no leading zeros, no upper case).
    (format!("{number:x}") == suffix).then_some(number)
}

fn read_names(r: &mut ColumnReader<'_>, records: &mut [EventRecord]) -> Result<(), DecodeError> {
    let mut kinds = Vec::with_capacity(records.len());
    for _ in 0..records.len() {
        kinds.push(r.byte()?);
    }
    let mut previous = 0u64;
    let mut numbers = Vec::new();
    for _ in kinds.iter().filter(|k| **k == 1) {
        previous = previous.wrapping_add(r.zigzag()? as u64);
        numbers.push(previous);
    }
    let rest = r.strings(kinds.iter().filter(|k| **k == 0).count())?;
    let (mut numbers, mut rest) = (numbers.into_iter(), rest.into_iter());
    for (record, kind) in records.iter_mut().zip(kinds) {
        record.name = match kind {
            0 => rest.next().unwrap_or_default(),
            1 => format!(
                "{}.{:x}",
                record.involved_object.name,
                numbers.next().unwrap_or_default()
            ),
            _ => return Err(DecodeError("unknown name encoding")),
        };
    }
    Ok(())
}

/// UIDs: canonical lowercase UUIDs as 16 bytes, anything else as a string column.
fn uuids(w: &mut ColumnWriter, records: &[&EventRecord], pick: fn(&EventRecord) -> &String) {
    let parsed: Vec<Option<[u8; 16]>> = records.iter().map(|r| parse_uuid(pick(r))).collect();
    parsed
        .iter()
        .for_each(|p| w.buf.push(u8::from(p.is_some())));
    parsed
        .iter()
        .flatten()
        .for_each(|b| w.buf.extend_from_slice(b));
    let rest: Vec<&str> = records
        .iter()
        .zip(&parsed)
        .filter(|(_, p)| p.is_none())
        .map(|(r, _)| pick(r).as_str())
        .collect();
    w.strings(&rest);
}

fn read_uuids(
    r: &mut ColumnReader<'_>,
    records: &mut [EventRecord],
    field: fn(&mut EventRecord) -> &mut String,
) -> Result<(), DecodeError> {
    let mut kinds = Vec::with_capacity(records.len());
    for _ in 0..records.len() {
        kinds.push(r.byte()?);
    }
    let mut binary = Vec::new();
    for _ in kinds.iter().filter(|k| **k == 1) {
        let mut uuid = [0u8; 16];
        for byte in &mut uuid {
            *byte = r.byte()?;
        }
        binary.push(format_uuid(&uuid));
    }
    let rest = r.strings(kinds.iter().filter(|k| **k == 0).count())?;
    let (mut binary, mut rest) = (binary.into_iter(), rest.into_iter());
    for (record, kind) in records.iter_mut().zip(kinds) {
        *field(record) = match kind {
            0 => rest.next().unwrap_or_default(),
            1 => binary.next().unwrap_or_default(),
            _ => return Err(DecodeError("unknown uid encoding")),
        };
    }
    Ok(())
}

#[cfg(test)]
#[path = "block_tests.rs"]
mod tests;
