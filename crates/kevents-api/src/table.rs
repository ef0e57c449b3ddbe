//! Server-side printing: the apiserver's Event table (`kubectl get events`), all ten columns.

use crate::query::IncludeObject;
use kevents_model::wire::{EventView, MetadataView};
use kevents_model::{human_duration, ApiGroup, EventRecord, Micros};
use serde::ser::{SerializeMap, Serializer};
use serde::Serialize;
use serde_json::{json, Value};

/// The column definitions, as `printers.go` declares them for Event, plus a wide `Cluster`
/// column when the hub holds collected clusters.
pub fn column_definitions(cluster_column: bool) -> Value {
    let column = |name: &str, priority: u8, format: &str, description: &str| json!({"name": name, "type": "string", "format": format, "description": description, "priority": priority});
    let mut columns = json!([
        column("Last Seen", 0, "", "The time at which the most recent occurrence of this event was recorded."),
        column("Type", 0, "", "Type of this event (Normal, Warning), new types could be added in the future"),
        column("Reason", 0, "", "This should be a short, machine understandable string that gives the reason for the transition into the object's current status."),
        column("Object", 0, "", "The object that this event is about."),
        column("Subobject", 1, "", "If referring to a piece of an object instead of an entire object, this string should contain a valid JSON/Go field access statement, such as desiredState.manifest.containers[2]."),
        column("Source", 1, "", "The component reporting this event. Should be a short machine understandable string."),
        column("Message", 0, "", "A human-readable description of the status of this operation."),
        column("First Seen", 1, "", "The time at which the event was first recorded. (Time of server receipt is in TypeMeta.)"),
        column("Count", 1, "", "The number of times this event has occurred."),
        column("Name", 1, "name", "Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names"),
    ]);
    if cluster_column {
        if let Value::Array(columns) = &mut columns {
            columns.push(column(
                "Cluster",
                1,
                "",
                "The cluster the event was collected from.",
            ));
        }
    }
    columns
}

fn age(now: Micros, at: Option<Micros>) -> String {
    match at {
        Some(t) => human_duration(now.0 - t.0),
        None => "<unknown>".to_string(),
    }
}

/// The ten cells of one event's row at time `now`.
pub fn cells(event: &EventRecord, now: Micros) -> Value {
    let first = age(now, event.first_seen());
    let last = match (&event.series, event.last_timestamp) {
        (Some(series), _) => age(now, series.last_observed),
        (None, Some(t)) => age(now, Some(t)),
        (None, None) => first.clone(),
    };
    let object = &event.involved_object;
    let target = if object.name.is_empty() {
        object.kind.to_lowercase()
    } else {
        format!("{}/{}", object.kind.to_lowercase(), object.name)
    };
    let instance = if event.source_host.is_empty() {
        &event.reporting_instance
    } else {
        &event.source_host
    };
    let source = if instance.is_empty() {
        event.source_name().to_string()
    } else {
        format!("{}, {}", event.source_name(), instance)
    };
    json!([
        last,
        event.event_type,
        event.reason,
        target,
        object.field_path,
        source,
        event.message.trim(),
        first,
        event.occurrences(),
        event.name,
    ])
}

/// One row: cells plus the object as `includeObject` asks.
pub struct Row<'a> {
    /// The event.
    pub event: &'a EventRecord,
    /// The API group the request came through.
    pub group: ApiGroup,
    /// What to embed.
    pub include: IncludeObject,
    /// The time ages are computed at.
    pub now: Micros,
    /// With a `Cluster` column: the hub's name for its own events.
    pub cluster_column: Option<&'a str>,
}

struct PartialObjectMetadata<'a>(&'a EventRecord);

impl Serialize for PartialObjectMetadata<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(3))?;
        map.serialize_entry("kind", "PartialObjectMetadata")?;
        map.serialize_entry("apiVersion", "meta.k8s.io/v1")?;
        map.serialize_entry("metadata", &MetadataView(self.0))?;
        map.end()
    }
}

impl Serialize for Row<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        let mut cells = cells(self.event, self.now);
        if let (Some(own), Value::Array(cells)) = (self.cluster_column, &mut cells) {
            cells.push(json!(self.event.cluster_or(own)));
        }
        map.serialize_entry("cells", &cells)?;
        match self.include {
            IncludeObject::None => {}
            IncludeObject::Metadata => {
                map.serialize_entry("object", &PartialObjectMetadata(self.event))?
            }
            IncludeObject::Object => {
                map.serialize_entry("object", &EventView::new(self.event, self.group))?
            }
        }
        map.end()
    }
}

/// A whole `Table` response.
pub struct Table<'a> {
    /// Rows in order.
    pub rows: Vec<Row<'a>>,
    /// `metadata` (resourceVersion, continue, remainingItemCount).
    pub metadata: Value,
    /// Whether to include column definitions.
    pub with_columns: bool,
    /// Whether the rows have a `Cluster` cell.
    pub cluster_column: bool,
}

impl Serialize for Table<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("kind", "Table")?;
        map.serialize_entry("apiVersion", "meta.k8s.io/v1")?;
        map.serialize_entry("metadata", &self.metadata)?;
        if self.with_columns {
            map.serialize_entry(
                "columnDefinitions",
                &column_definitions(self.cluster_column),
            )?;
        } else {
            map.serialize_entry("columnDefinitions", &Value::Null)?;
        }
        map.serialize_entry("rows", &self.rows)?;
        map.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kevents_model::Series;

    const MINUTE: i64 = 60_000_000;

    #[test]
    fn cells_follow_the_apiserver_printer() {
        let now = Micros(1_000 * MINUTE);
        let mut event = EventRecord {
            name: "web-0.1".into(),
            event_type: "Warning".into(),
            reason: "BackOff".into(),
            message: "  Back-off restarting  \n".into(),
            source_component: "kubelet".into(),
            source_host: "node-1".into(),
            first_timestamp: Some(Micros(now.0 - 10 * MINUTE)),
            last_timestamp: Some(Micros(now.0 - 5 * MINUTE)),
            count: 3,
            ..Default::default()
        };
        event.involved_object.kind = "Pod".into();
        event.involved_object.name = "web-0".into();
        event.involved_object.field_path = "spec.containers{web}".into();
        assert_eq!(
            cells(&event, now),
            json!([
                "5m",
                "Warning",
                "BackOff",
                "pod/web-0",
                "spec.containers{web}",
                "kubelet, node-1",
                "Back-off restarting",
                "10m",
                3,
                "web-0.1"
            ])
        );
        event.series = Some(Series {
            count: 7,
            last_observed: Some(Micros(now.0 - MINUTE)),
        });
        let row = cells(&event, now);
        assert_eq!(row[0], "60s");
        assert_eq!(row[8], 7);
    }

    #[test]
    fn new_style_event_without_timestamps() {
        let now = Micros(1_000 * MINUTE);
        let mut event = EventRecord {
            reporting_controller: "example.com/ctl".into(),
            reporting_instance: "ctl-1".into(),
            event_time: Some(Micros(now.0 - 2 * MINUTE)),
            ..Default::default()
        };
        event.involved_object.kind = "Node".into();
        let row = cells(&event, now);
        assert_eq!(row[0], "2m");
        assert_eq!(row[3], "node");
        assert_eq!(row[5], "example.com/ctl, ctl-1");
        assert_eq!(row[8], 1);
        event.event_time = None;
        assert_eq!(cells(&event, now)[0], "<unknown>");
    }
}
