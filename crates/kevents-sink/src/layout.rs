//! The fixed payload layouts, documented field by field in docs/sinks.md: the kevents envelope
//! (webhook, file, stdout, NATS, Loki lines), the ECS document (Elasticsearch), and syslog
//! RFC 5424 messages.

use crate::delivery::Delivery;
use kevents_model::wire::EventView;
use kevents_model::{ApiGroup, Micros};
use serde_json::{json, Value};

/// `{"id", "cluster", "emission", "event": <core/v1 Event as the API serves it>}`.
pub fn envelope(delivery: &Delivery) -> Value {
    json!({
        "id": delivery.id,
        "cluster": delivery.cluster,
        "emission": delivery.emission.as_str(),
        "event": EventView::new(&delivery.event.record, ApiGroup::Core),
    })
}

/// The event's time for time-partitioned sinks: its last occurrence, else when it was written.
pub fn event_time(delivery: &Delivery) -> Micros {
    delivery
        .event
        .record
        .last_seen()
        .unwrap_or(delivery.event.updated_at)
}

fn text(value: &str) -> Value {
    if value.is_empty() {
        Value::Null
    } else {
        Value::String(value.to_string())
    }
}

/// The Elasticsearch document, with ECS field names where ECS has one and `kubernetes.*`
/// for the rest; empty fields are left out.
pub fn ecs_document(delivery: &Delivery) -> Value {
    let record = &delivery.event.record;
    let object = &record.involved_object;
    let time = |t: Option<Micros>| t.map(|t| Value::String(t.to_micro_time_string()));
    let mut doc = json!({
        "@timestamp": event_time(delivery).to_micro_time_string(),
        "message": record.message,
        "ecs": {"version": "8.11.0"},
        "event": {
            "id": delivery.id,
            "kind": "event",
            "dataset": "kubernetes.event",
            "module": "kubernetes",
            "provider": text(record.source_name()),
            "reason": text(&record.reason),
            "action": text(&record.action),
            "created": delivery.event.updated_at.to_micro_time_string(),
            "start": time(record.first_seen()),
            "end": time(record.last_seen()),
        },
        "log": {"level": if record.event_type == "Warning" { "warning" } else { "info" }},
        "host": {"name": text(&record.source_host)},
        "orchestrator": {
            "type": "kubernetes",
            "cluster": {"name": text(&delivery.cluster)},
            "namespace": text(&record.namespace),
            "resource": {"type": text(&object.kind.to_lowercase()), "name": text(&object.name)},
        },
        "labels": record.labels,
        "kubernetes": {
            "namespace": text(&record.namespace),
            "event": {
                "name": record.name,
                "uid": record.uid,
                "resource_version": record.resource_version.to_string(),
                "type": text(&record.event_type),
                "reason": text(&record.reason),
                "count": record.occurrences(),
                "emission": delivery.emission.as_str(),
                "reporting_controller": text(&record.reporting_controller),
                "reporting_instance": text(&record.reporting_instance),
                "source": {"component": text(&record.source_component), "host": text(&record.source_host)},
                "involved_object": {
                    "kind": text(&object.kind),
                    "name": text(&object.name),
                    "namespace": text(&object.namespace),
                    "uid": text(&object.uid),
                    "api_version": text(&object.api_version),
                    "field_path": text(&object.field_path),
                },
            },
        },
    });
    prune(&mut doc);
    doc
}

/// Removes nulls and objects left empty, so documents carry only what the event has.
fn prune(value: &mut Value) -> bool {
    match value {
        Value::Null => false,
        Value::Object(map) => {
            map.retain(|_, v| prune(v));
            !map.is_empty()
        }
        _ => true,
    }
}

/// Replaces `%Y`, `%m` and `%d` by the UTC date of `at`.
pub fn index_name(pattern: &str, at: Micros) -> String {
    let date = jiff::Timestamp::from_microsecond(at.0)
        .unwrap_or(jiff::Timestamp::UNIX_EPOCH)
        .to_zoned(jiff::tz::TimeZone::UTC)
        .date();
    pattern
        .replace("%Y", &format!("{:04}", date.year()))
        .replace("%m", &format!("{:02}", date.month()))
        .replace("%d", &format!("{:02}", date.day()))
}

/// Settings of the syslog layout.
#[derive(Debug, Clone)]
pub struct SyslogLayout {
    /// Facility number (0-23).
    pub facility: u8,
    /// APP-NAME.
    pub app_name: String,
    /// SD-ID of the structured data element.
    pub sd_id: String,
}

/// Keeps printable US-ASCII (33-126) up to `max` characters; `-` (NILVALUE) when empty.
fn header_field(value: &str, max: usize) -> String {
    let cleaned: String = value
        .chars()
        .filter(|c| c.is_ascii_graphic())
        .take(max)
        .collect();
    if cleaned.is_empty() {
        "-".to_string()
    } else {
        cleaned
    }
}

/// Escapes an SD-PARAM value: `"`, `\` and `]` get a backslash (RFC 5424 section 6.3.3).
fn param_value(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        if matches!(c, '"' | '\\' | ']') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

impl SyslogLayout {
    /// The facility number for a name.
    pub fn facility_number(name: &str) -> Option<u8> {
        let fixed = [
            ("kern", 0),
            ("user", 1),
            ("mail", 2),
            ("daemon", 3),
            ("auth", 4),
            ("syslog", 5),
        ];
        if let Some((_, n)) = fixed.iter().find(|(n, _)| *n == name) {
            return Some(*n);
        }
        let local: u8 = name.strip_prefix("local")?.parse().ok()?;
        (local <= 7).then_some(16 + local)
    }

    /// One RFC 5424 message with its octet-counting frame: `<len> <PRI>1 TIMESTAMP HOSTNAME
    /// APP-NAME - MSGID [SD] BOM MSG`. Warning events get severity 4, others 6.
    pub fn frame(&self, delivery: &Delivery) -> Vec<u8> {
        let record = &delivery.event.record;
        let severity = if record.event_type == "Warning" { 4 } else { 6 };
        let pri = u16::from(self.facility) * 8 + severity;
        let object = &record.involved_object;
        let params = [
            ("id", delivery.id.as_str()),
            ("cluster", delivery.cluster.as_str()),
            ("namespace", record.namespace.as_str()),
            ("kind", object.kind.as_str()),
            ("name", object.name.as_str()),
            ("type", record.event_type.as_str()),
            ("reason", record.reason.as_str()),
            ("emission", delivery.emission.as_str()),
        ];
        let mut sd = format!("[{}", self.sd_id);
        for (name, value) in params {
            sd.push_str(&format!(" {name}=\"{}\"", param_value(value)));
        }
        sd.push_str(&format!(" count=\"{}\"]", record.occurrences()));
        let message = format!(
            "<{pri}>1 {} {} {} - {} {sd} \u{feff}{}",
            event_time(delivery).to_micro_time_string(),
            header_field(&record.source_host, 255),
            header_field(&self.app_name, 48),
            header_field(&record.reason, 32),
            record.message,
        );
        let mut frame = format!("{} ", message.len()).into_bytes();
        frame.extend_from_slice(message.as_bytes());
        frame
    }
}

/// A NATS subject token: `.`, wildcards and whitespace become `_`; empty becomes `_`.
pub fn subject_token(value: &str) -> String {
    let token: String = value
        .chars()
        .map(|c| {
            if c == '.' || c == '*' || c == '>' || c.is_whitespace() || c.is_control() {
                '_'
            } else {
                c
            }
        })
        .collect();
    if token.is_empty() {
        "_".to_string()
    } else {
        token
    }
}

#[cfg(test)]
#[path = "layout_tests.rs"]
mod tests;
