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
use crate::row_view::Packed;
pub use crate::row_view::RowView;
use crate::string_column::{JsonFields, StringColumn};
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
    let json: Vec<JsonFields> = records.iter().map(|r| json_fields(r)).collect();
    for column in StringColumn::ALL {
        let values: Vec<&str> = (records.iter().zip(&json))
            .map(|(record, json)| column.value(record, json))
            .collect();
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
    Ok(decode_where(bytes, |_| true)?
        .into_iter()
        .map(|(_, event)| event)
        .collect())
}

/// Decodes the rows of a block that `keep` accepts, with their row numbers. Only accepted rows
/// become events (strings copied, JSON fields parsed); the others cost their columns' parsing.
pub fn decode_where(
    bytes: &[u8],
    mut keep: impl FnMut(&RowView<'_>) -> bool,
) -> Result<Vec<(usize, StoredEvent)>, DecodeError> {
    let mut r = ColumnReader::new(bytes);
    if r.byte()? != VERSION {
        return Err(DecodeError("unknown block version"));
    }
    let n = r.count()?;
    // Column after column, `n` values each; UTF-8 is checked only where a value is read.
    let mut strings = Vec::with_capacity(StringColumn::COUNT * n);
    for _ in 0..StringColumn::COUNT {
        r.string_bytes(n, &mut strings)?;
    }
    let names = read_names(&mut r, n)?;
    let damaged = std::cell::Cell::new(false);
    let kept: Vec<usize> = (0..n)
        .filter(|row| {
            keep(&RowView {
                strings: &strings,
                rows: n,
                names: &names,
                row: *row,
                damaged: &damaged,
            })
        })
        .collect();
    if damaged.get() {
        return Err(DecodeError("invalid UTF-8"));
    }
    let uids = read_uuids(&mut r, n)?;
    let object_uids = read_uuids(&mut r, n)?;
    let mut versions = Vec::with_capacity(n);
    let mut previous = (0u64, 0i64);
    for _ in 0..n {
        previous.0 = previous.0.wrapping_add(r.zigzag()? as u64);
        previous.1 = previous.1.wrapping_add(r.zigzag()?);
        versions.push((previous.0, Micros(previous.1)));
    }
    let mut counts = Vec::with_capacity(n);
    for _ in 0..n {
        let count = i32::try_from(r.zigzag()?).map_err(|_| DecodeError("count out of range"))?;
        let series = match r.varint()? {
            0 => None,
            code => Some(
                i32::try_from(unzigzag(code - 1))
                    .map_err(|_| DecodeError("series count out of range"))?,
            ),
        };
        counts.push((count, series));
    }
    // Five optional times per row, as (tag, value) codes.
    let mut times = vec![[(0u8, 0i64); 5]; n];
    for field in 0..5 {
        let tags = r.slice(n)?;
        for (codes, tag) in times.iter_mut().zip(tags) {
            if *tag != 0 {
                codes[field] = (*tag, r.zigzag()?);
            }
        }
    }
    if !r.at_end() {
        return Err(DecodeError("trailing bytes"));
    }
    let mut events = Vec::with_capacity(kept.len());
    for row in kept {
        let text = |column: StringColumn| {
            std::str::from_utf8(strings[column.index() * n + row])
                .map_err(|_| DecodeError("invalid UTF-8"))
        };
        let take = |column: StringColumn| text(column).map(str::to_owned);
        let object_name = take(StringColumn::ObjectName)?;
        let name = match names[row] {
            Packed::Number(number) => format!("{object_name}.{number:x}"),
            Packed::Text(text) => text.to_owned(),
            Packed::Uuid(_) => return Err(DecodeError("unknown name encoding")),
        };
        let (resource_version, updated_at) = versions[row];
        let (count, series) = counts[row];
        let time = |field: usize| match times[row][field] {
            (0, _) => Ok(None),
            (tag, value) => from_time_code(updated_at, tag, value).map(Some),
        };
        let series = match (series, time(4)?) {
            (Some(count), last_observed) => Some(Series {
                count,
                last_observed,
            }),
            (None, None) => None,
            (None, Some(_)) => return Err(DecodeError("observed time without series")),
        };
        let related = text(StringColumn::Related)?;
        let record = EventRecord {
            cluster: take(StringColumn::Cluster)?,
            namespace: take(StringColumn::Namespace)?,
            name,
            generate_name: take(StringColumn::GenerateName)?,
            source_resource_version: take(StringColumn::SourceResourceVersion)?,
            uid: unpack_uid(uids[row]),
            resource_version,
            creation_timestamp: time(0)?,
            labels: parse_json(text(StringColumn::Labels)?)?,
            annotations: parse_json(text(StringColumn::Annotations)?)?,
            extra_metadata: parse_json(text(StringColumn::ExtraMetadata)?)?,
            involved_object: ObjectRef {
                kind: take(StringColumn::ObjectKind)?,
                namespace: take(StringColumn::ObjectNamespace)?,
                name: object_name,
                uid: unpack_uid(object_uids[row]),
                api_version: take(StringColumn::ObjectApiVersion)?,
                resource_version: take(StringColumn::ObjectResourceVersion)?,
                field_path: take(StringColumn::ObjectFieldPath)?,
            },
            related: if related.is_empty() {
                None
            } else {
                Some(parse_json(related)?)
            },
            reason: take(StringColumn::Reason)?,
            message: take(StringColumn::Message)?,
            event_type: take(StringColumn::Type)?,
            action: take(StringColumn::Action)?,
            reporting_controller: take(StringColumn::ReportingController)?,
            reporting_instance: take(StringColumn::ReportingInstance)?,
            event_time: time(1)?,
            series,
            source_component: take(StringColumn::SourceComponent)?,
            source_host: take(StringColumn::SourceHost)?,
            first_timestamp: time(2)?,
            last_timestamp: time(3)?,
            count,
        };
        events.push((row, StoredEvent { record, updated_at }));
    }
    Ok(events)
}

fn unpack_uid(packed: Packed<'_>) -> String {
    match packed {
        Packed::Uuid(bytes) => format_uuid(bytes),
        Packed::Text(text) => text.to_owned(),
        Packed::Number(_) => String::new(),
    }
}

/// A JSON-valued field; `""` is its empty value.
fn parse_json<T: serde::de::DeserializeOwned + Default>(text: &str) -> Result<T, DecodeError> {
    match text {
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
fn json_fields(record: &EventRecord) -> JsonFields {
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

fn read_names<'a>(r: &mut ColumnReader<'a>, n: usize) -> Result<Vec<Packed<'a>>, DecodeError> {
    let mut previous = 0u64;
    read_packed(r, n, "unknown name encoding", |r| {
        previous = previous.wrapping_add(r.zigzag()? as u64);
        Ok(Packed::Number(previous))
    })
}

/// A column of `n` values, each flagged compact (1, read by `compact`, all before) or text (0,
/// from the string column that follows the compact values).
fn read_packed<'a>(
    r: &mut ColumnReader<'a>,
    n: usize,
    unknown: &'static str,
    mut compact: impl FnMut(&mut ColumnReader<'a>) -> Result<Packed<'a>, DecodeError>,
) -> Result<Vec<Packed<'a>>, DecodeError> {
    let kinds = r.slice(n)?;
    let mut packed = Vec::new();
    for _ in kinds.iter().filter(|k| **k == 1) {
        packed.push(compact(r)?);
    }
    let rest = r.string_refs(kinds.iter().filter(|k| **k == 0).count())?;
    let (mut packed, mut rest) = (packed.into_iter(), rest.into_iter());
    kinds
        .iter()
        .map(|kind| match kind {
            0 => Ok(Packed::Text(rest.next().unwrap_or_default())),
            1 => packed.next().ok_or(DecodeError(unknown)),
            _ => Err(DecodeError(unknown)),
        })
        .collect()
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

fn read_uuids<'a>(r: &mut ColumnReader<'a>, n: usize) -> Result<Vec<Packed<'a>>, DecodeError> {
    read_packed(r, n, "unknown uid encoding", |r| {
        Ok(Packed::Uuid(r.slice(16)?))
    })
}

#[cfg(test)]
#[path = "block_tests.rs"]
mod tests;
