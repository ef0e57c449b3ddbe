//! Tests of the parent module.

use super::*;
use serde_json::json;

#[test]
fn core_event_round_trips_through_both_groups() {
    let body = json!({
        "apiVersion": "v1", "kind": "Event",
        "metadata": {"name": "web-0.1", "namespace": "apps", "labels": {"a": "b"},
                      "ownerReferences": [{"apiVersion": "v1", "kind": "Pod", "name": "web-0", "uid": "u"}]},
        "involvedObject": {"kind": "Pod", "namespace": "apps", "name": "web-0", "fieldPath": "spec.containers{web}"},
        "reason": "BackOff", "message": "Back-off restarting", "type": "Warning",
        "source": {"component": "kubelet", "host": "node-1"},
        "firstTimestamp": "2024-01-01T00:00:00Z", "lastTimestamp": "2024-01-01T00:05:00.7Z",
        "count": 3
    });
    let decoded = decode_event(ApiGroup::Core, body).expect("valid event");
    assert!(decoded.unknown_fields.is_empty());
    let record = decoded.record;
    assert_eq!(record.involved_object.field_path, "spec.containers{web}");
    assert_eq!(record.last_timestamp, Micros::parse("2024-01-01T00:05:00Z"));
    let core = serde_json::to_value(EventView::new(&record, ApiGroup::Core)).unwrap();
    assert_eq!(core["lastTimestamp"], "2024-01-01T00:05:00Z");
    assert_eq!(core["eventTime"], Value::Null);
    assert_eq!(core["reportingComponent"], "");
    assert_eq!(core["metadata"]["ownerReferences"][0]["name"], "web-0");
    let new = serde_json::to_value(EventView::new(&record, ApiGroup::Events)).unwrap();
    assert_eq!(new["apiVersion"], "events.k8s.io/v1");
    assert_eq!(new["note"], "Back-off restarting");
    assert_eq!(new["regarding"]["name"], "web-0");
    assert_eq!(new["deprecatedCount"], 3);
    assert_eq!(new["deprecatedSource"]["host"], "node-1");
    assert_eq!(new["eventTime"], "2024-01-01T00:00:00.000000Z");
    let back = decode_event(ApiGroup::Events, new).unwrap().record;
    assert_eq!(back.message, record.message);
    assert_eq!(back.involved_object, record.involved_object);
    assert_eq!(back.count, 3);
}

#[test]
fn missing_involved_object_decodes_as_empty_like_go() {
    let decoded = decode_event(ApiGroup::Core, json!({"metadata": {"name": "x"}})).unwrap();
    assert_eq!(decoded.record.involved_object, ObjectRef::default());
}

#[test]
fn unknown_fields_are_reported_with_paths() {
    let body =
        json!({"metadata": {"name": "x", "bogus": 1}, "spec": {}, "involvedObject": {"nme": "a"}});
    let decoded = decode_event(ApiGroup::Core, body).unwrap();
    assert_eq!(
        decoded.unknown_fields,
        vec!["involvedObject.nme", "metadata.bogus", "spec"]
    );
}

#[test]
fn wrong_kind_and_types_are_rejected() {
    assert!(matches!(
        decode_event(ApiGroup::Core, json!({"kind": "Pod"})),
        Err(DecodeError::WrongType(_))
    ));
    assert!(matches!(
        decode_event(ApiGroup::Events, json!({"apiVersion": "v1"})),
        Err(DecodeError::WrongType(_))
    ));
    assert!(matches!(
        decode_event(ApiGroup::Core, json!({"count": "three"})),
        Err(DecodeError::Malformed(_))
    ));
    assert!(matches!(
        decode_event(ApiGroup::Core, json!([1])),
        Err(DecodeError::Malformed(_))
    ));
}

#[test]
fn events_series_without_time_reaches_validation() {
    let body = json!({"metadata": {"name": "x"}, "series": {"count": 1}});
    let decoded = decode_event(ApiGroup::Events, body).unwrap();
    assert_eq!(
        decoded.record.series,
        Some(Series {
            count: 1,
            last_observed: None
        })
    );
}
