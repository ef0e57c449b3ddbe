//! Request bodies of create/update: JSON (and YAML, as sent with `application/yaml`) decoded as
//! an Event of either group, validated, encoded back in either group's shape and decoded again.
//!
//! The invariant checked: decode(encode(record)) == record, except that encoding through
//! events.k8s.io/v1 shows a synthesized `eventTime` (firstTimestamp, else creationTimestamp) for a
//! legacy event that has none, which then decodes as a real `eventTime`. The rewrite is a fixed
//! point: encoding the re-decoded record gives the same JSON again. Validation and the unknown
//! field report must not panic; what we encode must contain no field our decoder calls unknown.
#![no_main]

use kevents_model::validation::{validate_create, validate_update};
use kevents_model::wire::{decode_event, synthesized_event_time, EventView};
use kevents_model::ApiGroup;
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

const GROUPS: [ApiGroup; 2] = [ApiGroup::Core, ApiGroup::Events];

fuzz_target!(|data: &[u8]| {
    if let Ok(value) = serde_json::from_slice::<Value>(data) {
        check_body(value);
    }
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(value) = serde_saphyr::from_str::<Value>(text) {
            check_body(value);
        }
    }
});

fn check_body(body: Value) {
    for decode_group in GROUPS {
        let Ok(decoded) = decode_event(decode_group, body.clone()) else {
            continue;
        };
        let record = decoded.record;
        validate_create(&record, decode_group);
        let unchanged = validate_update(&record, &record, decode_group);
        assert!(
            unchanged.iter().all(|e| e.detail != "field is immutable"),
            "an unchanged event broke immutability: {unchanged:?}"
        );
        for encode_group in GROUPS {
            let encoded = serde_json::to_value(EventView::new(&record, encode_group))
                .expect("a record always encodes");
            let again = decode_event(encode_group, encoded.clone()).unwrap_or_else(|e| {
                panic!("{encode_group:?} encoding does not decode: {e}\n{encoded:#}")
            });
            assert!(
                again.unknown_fields.is_empty(),
                "encoding has unknown fields {:?}",
                again.unknown_fields
            );
            assert_eq!(again.resource_version, None);
            assert_eq!(again.uid, None);
            let mut expected = record.clone();
            if encode_group == ApiGroup::Events {
                expected.event_time = record.event_time.or(synthesized_event_time(&record));
            }
            assert_eq!(
                again.record, expected,
                "{decode_group:?} → {encode_group:?} round trip changed the event\n{encoded:#}"
            );
            let re_encoded = serde_json::to_value(EventView::new(&again.record, encode_group))
                .expect("a record always encodes");
            assert_eq!(re_encoded, encoded, "encoding is not a fixed point");
        }
    }
}
