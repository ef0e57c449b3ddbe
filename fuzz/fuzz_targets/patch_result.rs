//! JSON patches whose result is any JSON value, through the PATCH handler's whole patch step
//! (apply, resourceVersion bookkeeping, decode).
//!
//! Input: any JSON value V. It is placed at the root of an event's document by `replace`,
//! `add`, `copy` and `move` operations, and also sent as a patch of every kind. Must never
//! panic; a patch whose result is not an object must be refused with `422 Invalid` (the
//! handler once panicked indexing `metadata` of an array).
#![no_main]

use kevents_api::fuzzing::{patch_event, PatchKind, PatchLimits};
use kevents_model::ApiGroup;
use libfuzzer_sys::fuzz_target;
use serde_json::{json, Value};

const LIMITS: PatchLimits = PatchLimits {
    max_operations: 32,
    max_document_bytes: 16 * 1024,
};

fn event() -> Value {
    json!({
        "apiVersion": "v1", "kind": "Event",
        "metadata": {"name": "web-0.1", "namespace": "apps", "resourceVersion": "7"},
        "involvedObject": {"kind": "Pod", "namespace": "apps", "name": "web-0"},
        "reason": "BackOff", "message": "restarting", "type": "Warning", "count": 3,
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(value) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    let root_patches = [
        json!([{"op": "replace", "path": "", "value": value}]),
        json!([{"op": "add", "path": "", "value": value}]),
        json!([{"op": "add", "path": "/x", "value": value}, {"op": "copy", "from": "/x", "path": ""}]),
        json!([{"op": "add", "path": "/x", "value": value}, {"op": "move", "from": "/x", "path": ""}]),
    ];
    for group in [ApiGroup::Core, ApiGroup::Events] {
        for patch in &root_patches {
            let bytes = patch.to_string();
            match patch_event(PatchKind::Json, event(), bytes.as_bytes(), &LIMITS, group) {
                Ok(()) => assert!(value.is_object(), "a non-object root was accepted: {value}"),
                Err(e) if !value.is_object() => assert_eq!(e.code, 422, "{}", e.message),
                Err(_) => {}
            }
        }
        for kind in [
            PatchKind::Json,
            PatchKind::Merge,
            PatchKind::StrategicMerge,
            PatchKind::Apply,
        ] {
            let _ = patch_event(kind, event(), data, &LIMITS, group);
        }
    }
});
