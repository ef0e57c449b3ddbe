//! JSON objects and Table rows of `EventSeries` and `EventPattern`.

use kevents_correlate::{Pattern, PatternId, Series, SeriesId};
use kevents_model::{human_duration, Micros};
use serde_json::{json, Value};

/// The API group and version of the derived resources.
pub const API_VERSION: &str = "kevents.io/v1";

/// A series' object name: the object's name for readability, then the series id.
pub fn series_name(series: &Series) -> String {
    let object: String = series
        .key()
        .object
        .name
        .chars()
        .map(|c| c.to_ascii_lowercase())
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '.')
        .take(100)
        .collect();
    let object = object.trim_matches(|c: char| c == '-' || c == '.');
    if object.is_empty() {
        series.id.to_string()
    } else {
        format!("{object}.{}", series.id)
    }
}

/// The series id in a name made by [`series_name`].
pub fn series_id_of(name: &str) -> Option<SeriesId> {
    let id = name.rsplit('.').next()?;
    id.parse().ok()
}

/// The pattern id in a pattern's name (its 16 hex digits).
pub fn pattern_id_of(name: &str) -> Option<PatternId> {
    (name.len() == 16)
        .then(|| u64::from_str_radix(name, 16).ok())
        .flatten()
        .map(PatternId)
}

pub(crate) fn cluster_name<'a>(cluster: &'a str, own: &'a str) -> &'a str {
    if cluster.is_empty() {
        own
    } else {
        cluster
    }
}

pub(crate) fn metadata(
    name: &str,
    namespace: Option<&str>,
    cluster: &str,
    version: u64,
    created: Micros,
) -> Value {
    let mut metadata = json!({
        "name": name,
        "resourceVersion": version.to_string(),
        "creationTimestamp": created.to_time_string(),
    });
    if let Some(namespace) = namespace {
        metadata["namespace"] = json!(namespace);
    }
    if !cluster.is_empty() {
        metadata["labels"] = json!({crate::clusters::CLUSTER_LABEL: cluster});
    }
    metadata
}

/// The `EventSeries` object of `series` at time `now`.
pub fn series_object(series: &Series, own_cluster: &str, now: Micros) -> Value {
    let key = series.key();
    let per_minute: Vec<Value> = series
        .history
        .per_minute()
        .map(|(at, count)| json!({"time": at.to_time_string(), "count": count}))
        .collect();
    let per_hour: Vec<Value> = series
        .history
        .per_hour()
        .map(|(at, count)| json!({"time": at.to_time_string(), "count": count}))
        .collect();
    json!({
        "apiVersion": API_VERSION,
        "kind": "EventSeries",
        "metadata": metadata(&series_name(series), Some(key.namespace), key.cluster, series.version, series.first_seen.truncate_to_seconds()),
        "spec": {
            "cluster": cluster_name(key.cluster, own_cluster),
            "involvedObject": {
                "kind": key.object.kind,
                "namespace": key.object.namespace,
                "name": key.object.name,
                "uid": key.object.uid,
            },
            "type": key.event_type,
            "reason": key.reason,
            "source": key.source,
            "instance": key.instance,
            "template": key.template,
        },
        "status": {
            "count": series.count,
            "objects": series.objects,
            "firstSeen": series.first_seen.to_time_string(),
            "lastSeen": series.last_seen.to_time_string(),
            "ratePerMinute": series.history.recent(now, 1),
            "latestMessage": series.latest_message(),
            "latestEvent": {"namespace": key.namespace, "name": series.latest_event()},
            "perMinute": per_minute,
            "perHour": per_hour,
        },
    })
}

/// Table columns of `eventseries` (name first, as kubectl expects a `name` column).
pub fn series_columns(cluster_column: bool) -> Value {
    let mut columns = vec![
        column(
            "Name",
            0,
            "name",
            "Name of the series: the object's name and the series id.",
        ),
        column("Last Seen", 0, "", "The most recent occurrence."),
        column("Type", 0, "", "Type of the events (Normal, Warning)."),
        column("Reason", 0, "", "Reason of the events."),
        column("Object", 0, "", "The object the events are about."),
        column("Count", 0, "integer", "Exact number of occurrences."),
        column(
            "Rate/Min",
            0,
            "integer",
            "Occurrences in the current minute.",
        ),
        column("First Seen", 0, "", "The first occurrence."),
        column(
            "Pattern",
            0,
            "",
            "The message with its variable parts replaced by placeholders.",
        ),
        column(
            "Objects",
            1,
            "integer",
            "Event objects that joined the series.",
        ),
        column("Source", 1, "", "The component reporting the events."),
    ];
    if cluster_column {
        columns.push(column(
            "Cluster",
            1,
            "",
            "The cluster the events came from.",
        ));
    }
    Value::Array(columns)
}

pub(crate) fn column(name: &str, priority: u8, format: &str, description: &str) -> Value {
    let kind = if format == "integer" {
        "integer"
    } else {
        "string"
    };
    let format = if format == "integer" { "" } else { format };
    json!({"name": name, "type": kind, "format": format, "description": description, "priority": priority})
}

pub(crate) fn age(now: Micros, at: Micros) -> String {
    human_duration(now.0 - at.0)
}

/// The cells of a series' row.
pub fn series_cells(series: &Series, own_cluster: Option<&str>, now: Micros) -> Value {
    let key = series.key();
    let object = if key.object.name.is_empty() {
        key.object.kind.to_lowercase()
    } else {
        format!("{}/{}", key.object.kind.to_lowercase(), key.object.name)
    };
    let mut cells = vec![
        json!(series_name(series)),
        json!(age(now, series.last_seen)),
        json!(key.event_type),
        json!(key.reason),
        json!(object),
        json!(series.count),
        json!(series.history.recent(now, 1)),
        json!(age(now, series.first_seen)),
        json!(key.template),
        json!(series.objects),
        json!(key.source),
    ];
    if let Some(own) = own_cluster {
        cells.push(json!(cluster_name(key.cluster, own)));
    }
    Value::Array(cells)
}

/// A pattern's object name: its id.
pub fn pattern_name(pattern: &Pattern) -> String {
    pattern.id.to_string()
}

/// The `EventPattern` object of `pattern`.
pub fn pattern_object(pattern: &Pattern, own_cluster: &str, version: u64) -> Value {
    json!({
        "apiVersion": API_VERSION,
        "kind": "EventPattern",
        "metadata": metadata(&pattern_name(pattern), None, &pattern.cluster, version, pattern.first_seen.truncate_to_seconds()),
        "spec": {
            "cluster": cluster_name(&pattern.cluster, own_cluster),
            "reason": pattern.reason,
            "type": pattern.event_type,
            "template": pattern.template,
        },
        "status": {
            "count": pattern.count,
            "series": pattern.series,
            "objects": pattern.objects,
            "namespaces": pattern.namespaces,
            "firstSeen": pattern.first_seen.to_time_string(),
            "lastSeen": pattern.last_seen.to_time_string(),
            "latestMessage": pattern.latest_message,
        },
    })
}

/// Table columns of `eventpatterns`.
pub fn pattern_columns() -> Value {
    json!([
        column("Name", 0, "name", "The pattern id."),
        column("Last Seen", 0, "", "The most recent occurrence."),
        column("Type", 0, "", "Type of the latest occurrence."),
        column("Reason", 0, "", "Reason of the events."),
        column(
            "Objects",
            0,
            "integer",
            "Distinct objects with events of this pattern."
        ),
        column("Count", 0, "integer", "Exact number of occurrences."),
        column("First Seen", 0, "", "The first occurrence."),
        column("Pattern", 0, "", "The message template."),
        column("Series", 1, "integer", "Series merged into the pattern."),
        column("Namespaces", 1, "integer", "Distinct namespaces."),
        column("Cluster", 1, "", "The cluster."),
    ])
}

/// The cells of a pattern's row.
pub fn pattern_cells(pattern: &Pattern, own_cluster: &str, now: Micros) -> Value {
    json!([
        pattern_name(pattern),
        age(now, pattern.last_seen),
        pattern.event_type,
        pattern.reason,
        pattern.objects,
        pattern.count,
        age(now, pattern.first_seen),
        pattern.template,
        pattern.series,
        pattern.namespaces,
        cluster_name(&pattern.cluster, own_cluster),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn series_names_carry_their_id() {
        let id: SeriesId = "0123456789abcdef0123456789abcdef".parse().unwrap();
        assert_eq!(series_id_of(&format!("web-0.{id}")), Some(id));
        assert_eq!(series_id_of(&id.to_string()), Some(id));
        assert_eq!(series_id_of("web-0.nothex"), None);
        assert_eq!(pattern_id_of("00000000000000ff"), Some(PatternId(255)));
        assert_eq!(pattern_id_of("ff"), None);
    }
}
