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

/// `decode_event_text` takes a typed shortcut for core/v1; whatever it answers must be what
/// `decode_event` answers for the same text (unknown fields aside, which it does not list).
#[test]
fn decoding_text_answers_as_decoding_the_json_tree() {
    let full = json!({
        "apiVersion": "v1", "kind": "Event",
        "metadata": {"name": "web-0.1", "namespace": "apps", "uid": "u-1", "resourceVersion": "42",
                     "creationTimestamp": "2026-01-02T03:04:05Z", "labels": {"a": "b"},
                     "annotations": {"n": "v"}, "generateName": "web-0.",
                     "ownerReferences": [{"apiVersion": "v1", "kind": "Pod", "name": "web-0", "uid": "u"}],
                     "managedFields": [{"manager": "kubelet", "operation": "Update"}]},
        "involvedObject": {"kind": "Pod", "namespace": "apps", "name": "web-0", "uid": "p-1",
                           "apiVersion": "v1", "resourceVersion": "7", "fieldPath": "spec.containers{web}"},
        "related": {"kind": "Node", "name": "node-1"},
        "reason": "BackOff", "message": "Back-off restarting", "type": "Warning",
        "source": {"component": "kubelet", "host": "node-1"},
        "firstTimestamp": "2024-01-01T00:00:00Z", "lastTimestamp": "2024-01-01T00:05:00.7Z",
        "eventTime": "2024-01-01T00:05:00.123456Z", "action": "Restart",
        "reportingComponent": "kubelet", "reportingInstance": "node-1",
        "series": {"count": 4, "lastObservedTime": "2024-01-01T00:05:00.123456Z"},
        "count": 3
    });
    let cases = [
        full.to_string(),
        // No type meta, null metadata and involved object, an unknown field.
        r#"{"metadata": null, "involvedObject": null, "reason": "X", "extra": {"a": 1}}"#.into(),
        r#"{"metadata": {"name": "a", "resourceVersion": ""}, "count": 2}"#.into(),
        // The typed path refuses these; the tree's answer (or error) is taken.
        r#"{"apiVersion": "", "kind": "", "metadata": {"name": "a"}}"#.into(),
        r#"{"apiVersion": "v1", "metadata": {"name": "a"}, "reason": "X", "reason": "Y"}"#.into(),
        r#"{"apiVersion": "events.k8s.io/v1", "kind": "Event", "metadata": {"name": "a"}}"#.into(),
        r#"{"kind": "Pod", "metadata": {"name": "a"}}"#.into(),
        r#"{"metadata": {"name": 5}}"#.into(),
        r#"{"count": "three"}"#.into(),
        r#"[1, 2]"#.into(),
        r#"{"metadata": "#.into(),
    ];
    for text in &cases {
        let by_text = decode_event_text(ApiGroup::Core, text);
        let by_tree = serde_json::from_str::<Value>(text)
            .map_err(|e| DecodeError::Malformed(unrecognized(&e.to_string())))
            .and_then(|value| decode_event(ApiGroup::Core, value));
        match (by_text, by_tree) {
            (Ok(text_answer), Ok(tree_answer)) => {
                assert_eq!(text_answer.record, tree_answer.record, "{text}");
                assert_eq!(text_answer.resource_version, tree_answer.resource_version);
                assert_eq!(text_answer.uid, tree_answer.uid);
                assert_eq!(
                    text_answer.creation_timestamp,
                    tree_answer.creation_timestamp
                );
            }
            (Err(text_error), Err(tree_error)) => assert_eq!(text_error, tree_error, "{text}"),
            (by_text, by_tree) => panic!("{text}: {by_text:?} against {by_tree:?}"),
        }
    }
    let decoded = decode_event_text(ApiGroup::Core, &full.to_string()).unwrap();
    assert_eq!(
        decoded.creation_timestamp,
        Micros::parse("2026-01-02T03:04:05Z")
    );
    assert_eq!(decoded.record.series.map(|s| s.count), Some(4));
    let by_events = decode_event_text(
        ApiGroup::Events,
        r#"{"metadata": {"name": "a"}, "note": "n"}"#,
    );
    assert_eq!(by_events.unwrap().record.message, "n");
}

#[test]
fn the_kubernetes_version_is_the_one_k8s_openapi_is_built_for() {
    // The workspace enables k8s-openapi's `v1_33`.
    assert_eq!(super::kubernetes_minor(), 33);
}

/// The text scan that lets a body skip the JSON tree must find an unknown field exactly when
/// the tree's listing has one, at any depth the schema checks; the typed decode it allows then
/// answers as the tree does.
#[test]
fn the_text_scan_finds_unknown_fields_where_the_tree_lists_them() {
    let cases = [
        r#"{"apiVersion": "v1", "kind": "Event", "metadata": {"name": "a", "labels": {"x": "y"}},
            "involvedObject": {"kind": "Pod", "name": "p"}, "reason": "R", "count": 2}"#,
        r#"{"metadata": {"name": "a"}, "involvedObject": {}, "extra": [1, {"b": 2}]}"#,
        r#"{"metadata": {"name": "a", "nmae": "b"}, "involvedObject": {}}"#,
        r#"{"metadata": {"name": "a"}, "involvedObject": {"kind": "Pod", "colour": "red"}}"#,
        r#"{"metadata": {"name": "a"}, "involvedObject": {}, "source": {"component": "c", "x": 1}}"#,
        r#"{"metadata": {"name": "a", "annotations": {"any": "thing"},
            "managedFields": [{"free": {"form": true}}]}, "involvedObject": {}}"#,
        r#"{"metadata": null, "involvedObject": null, "series": {"count": 1, "other": null}}"#,
        r#"{"metadata": {"name": "a\u0062"}, "involvedObject": {}, "re\u0061son": "R"}"#,
        r#"{"metadata": {"name": "a"}, "involvedObject": {}, "r\u00e9ason": "R"}"#,
        r#"{"metadata": {"name": "a"}, "involvedObject": {"kind": 5}}"#,
    ];
    for text in cases {
        let tree: Value = serde_json::from_str(text).unwrap();
        let listed = known_fields::unknown_fields(ApiGroup::Core, tree.as_object().unwrap());
        assert_eq!(
            known_fields::text_has_unknown_fields(ApiGroup::Core, text),
            !listed.is_empty(),
            "{text}: {listed:?}"
        );
        let direct = decode_core_text(ApiGroup::Core, text, true);
        if let Some(direct) = direct {
            assert!(listed.is_empty(), "{text}");
            let by_tree = decode_event(ApiGroup::Core, tree).unwrap();
            assert_eq!(direct.record, by_tree.record, "{text}");
        }
    }
    // Not JSON, or not one value: the scan sends it to the tree, which gives the error.
    for text in [r#"{"metadata": "#, r#"{} {}"#, "[1, 2]"] {
        let has = known_fields::text_has_unknown_fields(ApiGroup::Core, text);
        assert_eq!(has, text != "[1, 2]", "{text}");
        assert!(decode_core_text(ApiGroup::Core, text, true).is_none());
    }
}
