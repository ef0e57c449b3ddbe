//! Fixtures from Go's own encoder (tests/k8s/cmd/protofixtures), malformed bodies, and
//! properties: no input panics, and encoding then decoding gives back the JSON.

use super::schema::{self, Field, Kind};
use super::*;
use crate::time::Micros;
use proptest::prelude::*;
use std::path::PathBuf;

fn fixture(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("testdata/proto")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

const EVENT_FIXTURES: [(&str, ApiGroup); 5] = [
    ("events-v1-recorded", ApiGroup::Events),
    ("events-v1-series", ApiGroup::Events),
    ("events-v1-deprecated", ApiGroup::Events),
    ("core-v1-recorded", ApiGroup::Core),
    ("core-v1-metadata", ApiGroup::Core),
];

#[test]
fn go_encoded_events_decode_like_their_go_json() {
    for (name, group) in EVENT_FIXTURES {
        let from_proto = decode_event(group, &fixture(&format!("{name}.pb")))
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let json: Value = serde_json::from_slice(&fixture(&format!("{name}.json"))).unwrap();
        let proto_event = crate::wire::decode_event(group, from_proto.clone()).unwrap();
        let json_event = crate::wire::decode_event(group, json).unwrap();
        assert_eq!(proto_event, json_event, "{name}");
        assert_eq!(from_proto["apiVersion"], group.api_version(), "{name}");
        assert_eq!(from_proto["kind"], "Event", "{name}");
    }
}

#[test]
fn every_metadata_field_is_read() {
    let event = decode_event(ApiGroup::Core, &fixture("core-v1-metadata.pb")).unwrap();
    let metadata = &event["metadata"];
    assert_eq!(metadata["generateName"], "web-0.");
    assert_eq!(metadata["resourceVersion"], "17");
    assert_eq!(metadata["generation"], 2);
    assert_eq!(metadata["creationTimestamp"], "2025-03-14T15:00:00Z");
    assert_eq!(metadata["deletionGracePeriodSeconds"], 30);
    assert_eq!(
        metadata["annotations"],
        serde_json::json!({"a": "1", "b": ""})
    );
    assert_eq!(metadata["ownerReferences"][0]["controller"], true);
    assert_eq!(
        metadata["ownerReferences"][0]["blockOwnerDeletion"],
        Value::Null
    );
    assert_eq!(
        metadata["finalizers"],
        serde_json::json!(["kevents.dev/keep", "kevents.dev/audit"])
    );
    let managed = &metadata["managedFields"][0];
    assert_eq!(managed["time"], "2025-03-14T15:09:26Z");
    assert_eq!(
        managed["fieldsV1"],
        serde_json::json!({"f:count": {}, "f:message": {}})
    );
    assert_eq!(event["eventTime"], "2025-03-14T15:09:26.535897Z");
    assert_eq!(event["series"]["count"], 2);
}

#[test]
fn encoding_reproduces_go_bytes() {
    for (name, group) in EVENT_FIXTURES {
        let go = fixture(&format!("{name}.pb"));
        let json = decode_event(group, &go).unwrap();
        assert_eq!(encode_event(group, &json).unwrap(), go, "{name}");
    }
}

#[test]
fn another_kind_in_the_envelope_is_refused() {
    let err = decode_event(ApiGroup::Core, &fixture("core-v1-pod.pb")).unwrap_err();
    assert!(
        matches!(&err, DecodeError::WrongType(m) if m.contains("(Pod) does not match")),
        "{err}"
    );
    let err = decode_event(ApiGroup::Events, &fixture("core-v1-recorded.pb")).unwrap_err();
    assert!(
        matches!(&err, DecodeError::WrongType(m) if m.contains("\"v1\"")),
        "{err}"
    );
}

/// A body around `raw` with an events.k8s.io/v1 typeMeta.
fn body(raw: &[u8]) -> Vec<u8> {
    let mut type_meta = Writer::new();
    type_meta.bytes(1, b"events.k8s.io/v1");
    type_meta.bytes(2, b"Event");
    let mut unknown = Writer::new();
    unknown.bytes(1, &type_meta.finish());
    unknown.bytes(2, raw);
    let mut body = MAGIC.to_vec();
    body.extend(unknown.finish());
    body
}

fn message_of(fill: impl FnOnce(&mut Writer)) -> Vec<u8> {
    let mut writer = Writer::new();
    fill(&mut writer);
    writer.finish()
}

fn malformed(raw: &[u8]) -> String {
    match decode_event(ApiGroup::Events, &body(raw)) {
        Err(DecodeError::Malformed(message)) => message,
        other => panic!("expected a malformed body, got {other:?}"),
    }
}

#[test]
fn malformed_bodies_name_the_field_and_the_problem() {
    let bad_utf8 = message_of(|w| w.bytes(1, &message_of(|m| m.bytes(1, b"\xff\xfe"))));
    assert!(malformed(&bad_utf8).contains("metadata.name: string is not valid UTF-8"));
    let wrong_wire = message_of(|w| w.varint(10, 7));
    assert!(malformed(&wrong_wire)
        .contains("note: wrong wire type varint for field 10 (length-delimited)"));
    let wrong_count = message_of(|w| w.bytes(15, b"x"));
    assert!(malformed(&wrong_count).contains("deprecatedCount: wrong wire type length-delimited"));
    let truncated = [0x0a, 0x05, 0x0a, 0x01];
    assert!(malformed(&truncated).contains("field 1 at byte 2 needs 5 bytes but 2 are left"));
    let bad_time = message_of(|w| w.bytes(2, &message_of(|t| t.varint(1, i64::MAX as u64))));
    assert!(malformed(&bad_time).contains("eventTime: timestamp out of range"));
    let no_magic = decode_event(ApiGroup::Core, b"{\"kind\":\"Event\"}").unwrap_err();
    assert!(no_magic.to_string().contains("magic"), "{no_magic}");
    let wire_type_7 = [0x0f];
    assert!(malformed(&wire_type_7).contains("invalid wire type 7"));
}

#[test]
fn unknown_fields_and_groups_are_skipped() {
    let raw = message_of(|w| {
        w.bytes(99, b"from a newer version");
        w.varint(100, 1);
        w.bytes(7, b"Scheduled");
    });
    let mut with_group = raw.clone();
    // Field 101 as a group holding a varint field, then its end marker.
    with_group.extend([0xab, 0x06, 0x08, 0x01, 0xac, 0x06]);
    for raw in [raw, with_group] {
        let event = decode_event(ApiGroup::Events, &body(&raw)).unwrap();
        assert_eq!(event["reason"], "Scheduled");
    }
    assert!(malformed(&[0xac, 0x06]).contains("unbalanced group"));
}

#[test]
fn a_message_seen_twice_merges_field_by_field() {
    let label = |key: &[u8], value: &[u8]| {
        message_of(|e| {
            e.bytes(1, key);
            e.bytes(2, value);
        })
    };
    let raw = message_of(|w| {
        w.bytes(
            1,
            &message_of(|m| {
                m.bytes(1, b"first");
                m.bytes(11, &label(b"a", b"1"));
                m.bytes(14, b"keep");
            }),
        );
        w.bytes(7, b"Scheduled");
        w.bytes(
            1,
            &message_of(|m| {
                m.bytes(11, &label(b"b", b"2"));
                m.bytes(11, &label(b"a", b"3"));
                m.bytes(14, b"audit");
            }),
        );
        w.bytes(7, b"Started");
    });
    let event = decode_event(ApiGroup::Events, &body(&raw)).unwrap();
    assert_eq!(
        event["metadata"],
        serde_json::json!({"name": "first", "labels": {"a": "3", "b": "2"}, "finalizers": ["keep", "audit"]})
    );
    assert_eq!(event["reason"], "Started");
}

#[test]
fn delete_options_decode_with_their_preconditions() {
    let raw = message_of(|w| {
        w.varint(1, 0);
        w.bytes(2, &message_of(|p| p.bytes(2, b"42")));
        w.bytes(5, b"All");
    });
    let mut type_meta = Writer::new();
    type_meta.bytes(1, b"meta.k8s.io/v1");
    type_meta.bytes(2, b"DeleteOptions");
    let mut unknown = Writer::new();
    unknown.bytes(1, &type_meta.finish());
    unknown.bytes(2, &raw);
    let mut delete = MAGIC.to_vec();
    delete.extend(unknown.finish());
    assert_eq!(
        decode_delete_options(&delete).unwrap(),
        serde_json::json!({"gracePeriodSeconds": 0, "preconditions": {"resourceVersion": "42"}, "dryRun": ["All"]})
    );
    let event = fixture("core-v1-recorded.pb");
    assert!(decode_delete_options(&event)
        .unwrap_err()
        .to_string()
        .contains("got a Event"));
}

#[test]
fn zero_times_and_values_are_absent() {
    let raw = message_of(|w| {
        w.bytes(2, b"");
        w.bytes(7, b"");
        w.varint(15, 0);
        w.bytes(13, &message_of(|t| t.varint(1, -62_135_596_800i64 as u64)));
    });
    let event = decode_event(ApiGroup::Events, &body(&raw)).unwrap();
    assert_eq!(
        event,
        serde_json::json!({"apiVersion": "events.k8s.io/v1", "kind": "Event"})
    );
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(raw in proptest::collection::vec(any::<u8>(), 0..256)) {
        for group in [ApiGroup::Core, ApiGroup::Events] {
            let _ = decode_event(group, &raw);
            let _ = decode_event(group, &body(&raw));
        }
    }

    #[test]
    fn mutated_go_bodies_never_panic(index in 0usize..EVENT_FIXTURES.len(), at in any::<prop::sample::Index>(), byte in any::<u8>(), cut in any::<prop::sample::Index>()) {
        let (name, group) = EVENT_FIXTURES[index];
        let mut go = fixture(&format!("{name}.pb"));
        let at = at.index(go.len());
        go[at] = byte;
        if let Ok(value) = decode_event(group, &go) {
            let encoded = encode_event(group, &value).unwrap();
            let again = decode_event(group, &encoded).unwrap();
            prop_assert_eq!(encode_event(group, &again).unwrap(), encoded);
            let _ = crate::wire::decode_event(group, value);
        }
        let _ = decode_event(group, &go[..cut.index(go.len())]);
    }

    #[test]
    fn encoding_then_decoding_gives_the_json_back(core in arb_message(schema::event(ApiGroup::Core)), events in arb_message(schema::event(ApiGroup::Events))) {
        for (group, object) in [(ApiGroup::Core, core), (ApiGroup::Events, events)] {
            let mut expected = object.clone();
            expected.insert("apiVersion".into(), group.api_version().into());
            expected.insert("kind".into(), "Event".into());
            let body = encode_event(group, &Value::Object(object)).unwrap();
            prop_assert_eq!(decode_event(group, &body).unwrap(), Value::Object(expected));
        }
    }
}

/// JSON objects as the decoder yields them: zero non-pointer scalars absent, non-pointer
/// messages present, times in their canonical form.
fn arb_message(fields: &'static [Field]) -> BoxedStrategy<Map<String, Value>> {
    let per_field: Vec<BoxedStrategy<Option<(String, Value)>>> = fields
        .iter()
        .map(|field| {
            let value = if field.repeated {
                proptest::collection::vec(arb_value(field, true), 1..3)
                    .prop_map(Value::Array)
                    .boxed()
            } else {
                arb_value(field, field.pointer)
            };
            let name = field.name.to_string();
            let always =
                !field.pointer && !field.repeated && matches!(field.kind, Kind::Message(_));
            let entry = value.prop_map(move |v| Some((name.clone(), v)));
            if always {
                entry.boxed()
            } else {
                prop_oneof![Just(None), entry].boxed()
            }
        })
        .collect();
    per_field
        .prop_map(|entries| entries.into_iter().flatten().collect())
        .boxed()
}

fn arb_value(field: &Field, zero_allowed: bool) -> BoxedStrategy<Value> {
    let text = if zero_allowed {
        "\\PC{0,8}"
    } else {
        "\\PC{1,8}"
    };
    let seconds = -62_135_596_799i64..253_402_300_799;
    match field.kind {
        Kind::String => text.prop_map(Value::String).boxed(),
        Kind::Int32 => any::<i32>()
            .prop_filter("zero is absent", move |n| zero_allowed || *n != 0)
            .prop_map(Value::from)
            .boxed(),
        Kind::Int64 => any::<i64>()
            .prop_filter("zero is absent", move |n| zero_allowed || *n != 0)
            .prop_map(Value::from)
            .boxed(),
        Kind::Bool => any::<bool>()
            .prop_filter("false is absent", move |b| zero_allowed || *b)
            .prop_map(Value::Bool)
            .boxed(),
        Kind::Time => seconds
            .prop_map(|s| Value::String(Micros(s * 1_000_000).to_time_string()))
            .boxed(),
        Kind::MicroTime => (seconds, 0i64..1_000_000)
            .prop_map(|(s, us)| Value::String(Micros(s * 1_000_000 + us).to_micro_time_string()))
            .boxed(),
        Kind::StringMap => proptest::collection::btree_map("\\PC{0,8}", "\\PC{0,8}", 1..4)
            .prop_map(|map| {
                Value::Object(
                    map.into_iter()
                        .map(|(k, v)| (k, Value::String(v)))
                        .collect(),
                )
            })
            .boxed(),
        Kind::FieldsV1 => {
            proptest::collection::btree_map("f:[a-z]{1,6}", Just(Value::Object(Map::new())), 0..3)
                .prop_map(|map| Value::Object(map.into_iter().collect()))
                .boxed()
        }
        Kind::Message(fields) => arb_message(fields).prop_map(Value::Object).boxed(),
    }
}
