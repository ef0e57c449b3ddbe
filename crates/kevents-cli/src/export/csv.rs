//! The flat column layout shared by CSV and Parquet, and RFC 4180 CSV writing.

use kevents_model::{EventRecord, Micros};
use std::io::{self, Write};

/// Column names, in order, of CSV and Parquet exports.
pub const COLUMNS: [&str; 25] = [
    "namespace",
    "name",
    "uid",
    "resource_version",
    "type",
    "reason",
    "message",
    "object_kind",
    "object_namespace",
    "object_name",
    "object_uid",
    "object_api_version",
    "object_field_path",
    "source_component",
    "source_host",
    "reporting_controller",
    "reporting_instance",
    "action",
    "count",
    "first_seen",
    "last_seen",
    "event_time",
    "creation_timestamp",
    "labels",
    "annotations",
];

/// Indexes into [`COLUMNS`] of the timestamp columns (typed in Parquet).
pub const TIME_COLUMNS: std::ops::Range<usize> = 19..23;
/// Index into [`COLUMNS`] of `count` (an integer in Parquet).
pub const COUNT_COLUMN: usize = 18;

/// A record's values as text, one per column; times in RFC 3339 with microseconds, absent as "".
pub fn values(record: &EventRecord) -> Vec<String> {
    let time = |t: Option<Micros>| t.map(Micros::to_micro_time_string).unwrap_or_default();
    let map = |m: &std::collections::BTreeMap<String, String>| {
        if m.is_empty() {
            String::new()
        } else {
            serde_json::to_string(m).unwrap_or_default()
        }
    };
    let object = &record.involved_object;
    vec![
        record.namespace.clone(),
        record.name.clone(),
        record.uid.clone(),
        record.resource_version.to_string(),
        record.event_type.clone(),
        record.reason.clone(),
        record.message.clone(),
        object.kind.clone(),
        object.namespace.clone(),
        object.name.clone(),
        object.uid.clone(),
        object.api_version.clone(),
        object.field_path.clone(),
        record.source_component.clone(),
        record.source_host.clone(),
        record.reporting_controller.clone(),
        record.reporting_instance.clone(),
        record.action.clone(),
        record.occurrences().to_string(),
        time(record.first_seen()),
        time(record.last_seen()),
        time(record.event_time),
        time(record.creation_timestamp),
        map(&record.labels),
        map(&record.annotations),
    ]
}

/// Quotes a field when it holds a comma, quote, CR or LF (RFC 4180), doubling inner quotes.
pub fn quote(field: &str) -> std::borrow::Cow<'_, str> {
    if field.contains([',', '"', '\n', '\r']) || field.starts_with(' ') || field.ends_with(' ') {
        format!("\"{}\"", field.replace('"', "\"\"")).into()
    } else {
        field.into()
    }
}

/// Writes the header row.
pub fn write_header(out: &mut dyn Write) -> io::Result<()> {
    out.write_all(COLUMNS.join(",").as_bytes())?;
    out.write_all(b"\r\n")
}

/// Writes one record as a row (CRLF line ends, as RFC 4180 and spreadsheets expect).
pub fn write_record(out: &mut dyn Write, record: &EventRecord) -> io::Result<()> {
    for (i, value) in values(record).iter().enumerate() {
        if i > 0 {
            out.write_all(b",")?;
        }
        out.write_all(quote(value).as_bytes())?;
    }
    out.write_all(b"\r\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_with_separators_are_quoted_and_quotes_doubled() {
        assert_eq!(quote("plain ünïcode ✓"), "plain ünïcode ✓");
        assert_eq!(quote("a, b"), "\"a, b\"");
        assert_eq!(quote("say \"hi\"\nbye"), "\"say \"\"hi\"\"\nbye\"");
    }

    #[test]
    fn a_row_has_one_value_per_column() {
        let record = EventRecord {
            message: "x,y".into(),
            count: 4,
            ..EventRecord::default()
        };
        assert_eq!(values(&record).len(), COLUMNS.len());
        let mut out = Vec::new();
        write_record(&mut out, &record).unwrap();
        let line = String::from_utf8(out).unwrap();
        assert!(line.contains(",\"x,y\","), "{line}");
        assert!(line.contains(",4,"), "{line}");
    }
}
