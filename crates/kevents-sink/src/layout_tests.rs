use super::*;
use crate::delivery::tests::delivery;

#[test]
fn envelope_wraps_the_core_v1_event_with_id_and_cluster() {
    let doc = envelope(&delivery(42, 3));
    assert_eq!(doc["id"], "prod-eu/u-1/42");
    assert_eq!(doc["cluster"], "prod-eu");
    assert_eq!(doc["emission"], "update");
    assert_eq!(doc["event"]["kind"], "Event");
    assert_eq!(doc["event"]["apiVersion"], "v1");
    assert_eq!(doc["event"]["metadata"]["resourceVersion"], "42");
    assert_eq!(doc["event"]["count"], 3);
    assert_eq!(doc["event"]["involvedObject"]["name"], "web-0");
}

#[test]
fn ecs_document_uses_documented_field_names_and_drops_empty_ones() {
    let doc = ecs_document(&delivery(42, 3));
    assert_eq!(doc["@timestamp"], "2025-11-25T12:00:00.000000Z");
    assert_eq!(doc["message"], "Back-off restarting failed container");
    assert_eq!(doc["event"]["id"], "prod-eu/u-1/42");
    assert_eq!(doc["event"]["kind"], "event");
    assert_eq!(doc["event"]["reason"], "BackOff");
    assert_eq!(doc["log"]["level"], "warning");
    assert_eq!(doc["host"]["name"], "node-1");
    assert_eq!(doc["orchestrator"]["cluster"]["name"], "prod-eu");
    assert_eq!(doc["orchestrator"]["resource"]["type"], "pod");
    assert_eq!(doc["kubernetes"]["event"]["count"], 3);
    assert_eq!(doc["kubernetes"]["event"]["involved_object"]["kind"], "Pod");
    assert!(
        doc["event"].get("action").is_none(),
        "empty action left out"
    );
    assert!(doc.get("labels").is_none(), "no labels, no object");
}

#[test]
fn daily_index_uses_the_event_date_in_utc() {
    let at = Micros(1_764_115_199_000_000); // 2025-11-25T23:59:59Z
    assert_eq!(index_name("kevents-%Y.%m.%d", at), "kevents-2025.11.25");
    assert_eq!(index_name("events", at), "events");
}

#[test]
fn syslog_frame_is_octet_counted_rfc5424() {
    let layout = SyslogLayout {
        facility: SyslogLayout::facility_number("local0").unwrap(),
        app_name: "kevents".into(),
        sd_id: "kevents@32473".into(),
    };
    let mut d = delivery(42, 3);
    Arc::make_mut(&mut d.event).record.message = "quote \" and ] here".into();
    let frame = String::from_utf8(layout.frame(&d)).unwrap();
    let (length, message) = frame.split_once(' ').unwrap();
    assert_eq!(length.parse::<usize>().unwrap(), message.len());
    assert!(
        message.starts_with("<132>1 2025-11-25T12:00:00.000000Z node-1 kevents - BackOff [kevents@32473 id=\"prod-eu/u-1/42\""),
        "{message}"
    );
    assert!(
        message.contains(" count=\"3\"] \u{feff}quote \" and ] here"),
        "{message}"
    );
    assert_eq!(SyslogLayout::facility_number("user"), Some(1));
    assert_eq!(SyslogLayout::facility_number("local8"), None);
    assert_eq!(param_value("a\"b]c\\"), "a\\\"b\\]c\\\\");
}

#[test]
fn subject_tokens_never_contain_separators_or_wildcards() {
    assert_eq!(subject_token("kube-system"), "kube-system");
    assert_eq!(subject_token("a.b*c>d e"), "a_b_c_d_e");
    assert_eq!(subject_token(""), "_");
}

use std::sync::Arc;
