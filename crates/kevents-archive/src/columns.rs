//! The flat event table: one row per event version, one column per field. Archive objects,
//! `kevents export --format parquet` and `--format csv` all use exactly this layout; the typed
//! Arrow schema is derived from it (see `table`).

use kevents_model::{EventRecord, Micros, Series};
use std::borrow::Cow;
use std::collections::BTreeMap;

/// The label the hub shows a collected event's cluster with.
pub const CLUSTER_LABEL: &str = "kevents.io/cluster";

/// The type of a column's values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnType {
    /// UTF-8 text (empty when the field is unset).
    Text,
    /// A 32-bit integer (`count`).
    Int32,
    /// A 64-bit integer (`resource_version`).
    Int64,
    /// A UTC instant in microseconds; null when unset.
    Time,
}

/// The columns, in order, with their types.
pub const COLUMNS: [(&str, ColumnType); 26] = [
    ("cluster", ColumnType::Text),
    ("namespace", ColumnType::Text),
    ("name", ColumnType::Text),
    ("uid", ColumnType::Text),
    ("resource_version", ColumnType::Int64),
    ("type", ColumnType::Text),
    ("reason", ColumnType::Text),
    ("message", ColumnType::Text),
    ("object_kind", ColumnType::Text),
    ("object_namespace", ColumnType::Text),
    ("object_name", ColumnType::Text),
    ("object_uid", ColumnType::Text),
    ("object_api_version", ColumnType::Text),
    ("object_field_path", ColumnType::Text),
    ("source_component", ColumnType::Text),
    ("source_host", ColumnType::Text),
    ("reporting_controller", ColumnType::Text),
    ("reporting_instance", ColumnType::Text),
    ("action", ColumnType::Text),
    ("count", ColumnType::Int32),
    ("first_seen", ColumnType::Time),
    ("last_seen", ColumnType::Time),
    ("event_time", ColumnType::Time),
    ("creation_timestamp", ColumnType::Time),
    ("labels", ColumnType::Text),
    ("annotations", ColumnType::Text),
];

/// One value of a row.
#[derive(Debug, Clone, PartialEq)]
pub enum Value<'a> {
    /// A [`ColumnType::Text`] value.
    Text(Cow<'a, str>),
    /// A [`ColumnType::Int32`] value.
    Int32(i32),
    /// A [`ColumnType::Int64`] value.
    Int64(i64),
    /// A [`ColumnType::Time`] value.
    Time(Option<Micros>),
}

impl Value<'_> {
    /// The value as CSV text: times in RFC 3339 with microseconds, an unset time as "".
    pub fn to_text(&self) -> Cow<'_, str> {
        match self {
            Value::Text(text) => Cow::Borrowed(text.as_ref()),
            Value::Int32(n) => n.to_string().into(),
            Value::Int64(n) => n.to_string().into(),
            Value::Time(time) => time
                .map(Micros::to_micro_time_string)
                .unwrap_or_default()
                .into(),
        }
    }
}

/// An event version with the cluster it belongs to: one row of the table.
#[derive(Debug, Clone, Copy)]
pub struct Row<'a> {
    /// The cluster (the archive names the hub's own events by its `--cluster-name`).
    pub cluster: &'a str,
    /// The event as stored at this version.
    pub record: &'a EventRecord,
}

fn map_text(map: &BTreeMap<String, String>) -> Cow<'static, str> {
    if map.is_empty() {
        Cow::Borrowed("")
    } else {
        serde_json::to_string(map).unwrap_or_default().into()
    }
}

impl<'a> Row<'a> {
    /// The row's values, one per column of [`COLUMNS`].
    pub fn values(&self) -> [Value<'a>; COLUMNS.len()] {
        let record = self.record;
        let object = &record.involved_object;
        let text = |s: &'a str| Value::Text(Cow::Borrowed(s));
        [
            text(self.cluster),
            text(&record.namespace),
            text(&record.name),
            text(&record.uid),
            Value::Int64(i64::try_from(record.resource_version).unwrap_or(i64::MAX)),
            text(&record.event_type),
            text(&record.reason),
            text(&record.message),
            text(&object.kind),
            text(&object.namespace),
            text(&object.name),
            text(&object.uid),
            text(&object.api_version),
            text(&object.field_path),
            text(&record.source_component),
            text(&record.source_host),
            text(&record.reporting_controller),
            text(&record.reporting_instance),
            text(&record.action),
            Value::Int32(record.occurrences()),
            Value::Time(record.first_seen()),
            Value::Time(record.last_seen()),
            Value::Time(record.event_time),
            Value::Time(record.creation_timestamp),
            Value::Text(map_text(&record.labels)),
            Value::Text(map_text(&record.annotations)),
        ]
    }
}

/// Rebuilds an event from a row's values (in [`COLUMNS`] order); returns its cluster too.
///
/// The table keeps what printers show, not every wire field, so the times are mapped back the
/// way they were derived: a new-style event (with `event_time`) gets a `series` when it happened
/// more than once; a legacy one gets `firstTimestamp`, `lastTimestamp` and `count`.
pub fn record_from_values(values: Vec<Value<'_>>) -> Result<(String, EventRecord), String> {
    if values.len() != COLUMNS.len() {
        return Err(format!(
            "{} values for {} columns",
            values.len(),
            COLUMNS.len()
        ));
    }
    let mut record = EventRecord::default();
    let mut cluster = String::new();
    let (mut count, mut first_seen, mut last_seen) = (1, None, None);
    for ((name, _), value) in COLUMNS.iter().zip(values) {
        let wrong = || format!("column {name}: unexpected value {value:?}");
        match (*name, &value) {
            ("resource_version", Value::Int64(n)) => {
                record.resource_version = u64::try_from(*n).map_err(|_| wrong())?
            }
            ("count", Value::Int32(n)) => count = *n,
            ("first_seen", Value::Time(t)) => first_seen = *t,
            ("last_seen", Value::Time(t)) => last_seen = *t,
            ("event_time", Value::Time(t)) => record.event_time = *t,
            ("creation_timestamp", Value::Time(t)) => record.creation_timestamp = *t,
            ("labels" | "annotations", Value::Text(text)) => {
                let map = if text.is_empty() {
                    BTreeMap::new()
                } else {
                    serde_json::from_str(text).map_err(|e| format!("column {name}: {e}"))?
                };
                match *name {
                    "labels" => record.labels = map,
                    _ => record.annotations = map,
                }
            }
            (_, Value::Text(text)) => {
                let object = &mut record.involved_object;
                let field = match *name {
                    "cluster" => &mut cluster,
                    "namespace" => &mut record.namespace,
                    "name" => &mut record.name,
                    "uid" => &mut record.uid,
                    "type" => &mut record.event_type,
                    "reason" => &mut record.reason,
                    "message" => &mut record.message,
                    "object_kind" => &mut object.kind,
                    "object_namespace" => &mut object.namespace,
                    "object_name" => &mut object.name,
                    "object_uid" => &mut object.uid,
                    "object_api_version" => &mut object.api_version,
                    "object_field_path" => &mut object.field_path,
                    "source_component" => &mut record.source_component,
                    "source_host" => &mut record.source_host,
                    "reporting_controller" => &mut record.reporting_controller,
                    "reporting_instance" => &mut record.reporting_instance,
                    "action" => &mut record.action,
                    _ => return Err(wrong()),
                };
                *field = text.to_string();
            }
            _ => return Err(wrong()),
        }
    }
    match record.event_time {
        Some(event_time) => {
            if first_seen != Some(event_time) {
                record.first_timestamp = first_seen;
            }
            if count > 1 {
                record.series = Some(Series {
                    count,
                    last_observed: last_seen,
                });
            }
        }
        None => {
            record.first_timestamp = first_seen;
            record.last_timestamp = last_seen;
            record.count = count;
        }
    }
    Ok((cluster, record))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn legacy() -> EventRecord {
        let mut record = EventRecord {
            namespace: "prod".into(),
            name: "web-0.17a".into(),
            uid: "u-1".into(),
            resource_version: 42,
            event_type: "Warning".into(),
            reason: "BackOff".into(),
            message: "Back-off, \"quoted\"\nrestarting ✓".into(),
            source_component: "kubelet".into(),
            source_host: "node-1".into(),
            count: 3,
            first_timestamp: Some(Micros(1_764_000_000_000_000)),
            last_timestamp: Some(Micros(1_764_072_000_000_000)),
            creation_timestamp: Some(Micros(1_764_000_000_000_000)),
            ..Default::default()
        };
        record.involved_object.kind = "Pod".into();
        record.involved_object.name = "web-0".into();
        record.labels.insert("app".into(), "web".into());
        record
    }

    fn round_trip(record: &EventRecord) -> (String, EventRecord) {
        let row = Row {
            cluster: "prod-eu",
            record,
        };
        record_from_values(row.values().to_vec()).unwrap()
    }

    #[test]
    fn a_legacy_event_survives_the_table() {
        let record = legacy();
        assert_eq!(round_trip(&record), ("prod-eu".to_string(), record));
    }

    #[test]
    fn a_new_style_event_keeps_its_series() {
        let mut record = legacy();
        record.count = 0;
        record.first_timestamp = None;
        record.last_timestamp = None;
        record.event_time = Some(Micros(1_764_000_000_123_456));
        record.reporting_controller = "kubelet".into();
        record.reporting_instance = "node-1".into();
        record.action = "Restart".into();
        assert_eq!(round_trip(&record).1, record, "happened once");
        record.series = Some(Series {
            count: 7,
            last_observed: Some(Micros(1_764_072_000_654_321)),
        });
        assert_eq!(round_trip(&record).1, record, "a series");
    }

    #[test]
    fn text_values_are_what_csv_prints() {
        let record = legacy();
        let values = Row {
            cluster: "",
            record: &record,
        }
        .values();
        let text: Vec<String> = values.iter().map(|v| v.to_text().into_owned()).collect();
        assert_eq!(text.len(), COLUMNS.len());
        assert_eq!(text[4], "42");
        assert_eq!(text[19], "3");
        assert_eq!(text[20], "2025-11-24T16:00:00.000000Z");
        assert_eq!(text[22], "", "no event_time");
        assert_eq!(text[24], r#"{"app":"web"}"#);
    }

    #[test]
    fn a_wrongly_typed_value_is_an_error() {
        let record = legacy();
        let mut values = Row {
            cluster: "",
            record: &record,
        }
        .values()
        .to_vec();
        values[4] = Value::Text("42".into());
        let error = record_from_values(values).unwrap_err();
        assert!(error.contains("resource_version"), "{error}");
    }
}
