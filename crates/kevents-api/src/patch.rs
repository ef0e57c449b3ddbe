//! Applying PATCH bodies to an event's JSON form.

use crate::error::{ApiError, ApiResult};
use crate::negotiate::PatchKind;
use serde_json::{Map, Value};

/// Applies `patch` of `kind` to `target` in place.
pub fn apply(kind: PatchKind, target: &mut Value, patch: &[u8]) -> ApiResult<()> {
    let patch_doc: Value = serde_json::from_slice(patch).map_err(|e| {
        let what = match kind {
            PatchKind::Apply => "apply configuration (only its JSON form is accepted)",
            _ => "patch",
        };
        ApiError::bad_request(format!("error decoding {what}: {e}"))
    })?;
    match kind {
        PatchKind::Json => {
            let operations: json_patch::Patch = serde_json::from_value(patch_doc)
                .map_err(|e| ApiError::bad_request(format!("error decoding patch: {e}")))?;
            json_patch::patch(target, &operations).map_err(|e| ApiError {
                code: axum::http::StatusCode::UNPROCESSABLE_ENTITY,
                reason: "Invalid",
                message: format!(
                    "the server rejected our request due to an error in our request: {e}"
                ),
                details: None,
            })
        }
        PatchKind::Merge | PatchKind::Apply => {
            require_object(&patch_doc)?;
            json_patch::merge(target, &patch_doc);
            Ok(())
        }
        PatchKind::StrategicMerge => {
            let Value::Object(patch_map) = patch_doc else {
                return Err(ApiError::bad_request(
                    "error decoding patch: a strategic merge patch must be a JSON object",
                ));
            };
            strategic_merge(target, patch_map);
            Ok(())
        }
    }
}

fn require_object(doc: &Value) -> ApiResult<()> {
    if doc.is_object() {
        Ok(())
    } else {
        Err(ApiError::bad_request(
            "error decoding patch: the patch must be a JSON object",
        ))
    }
}

/// Strategic merge for Event: its lists carry no merge keys that matter here, so it is a JSON
/// merge patch plus the `$patch` directive (`replace`, `delete`); other directives are
/// bookkeeping for lists and are dropped.
fn strategic_merge(target: &mut Value, mut patch: Map<String, Value>) {
    match patch.remove("$patch").as_ref().and_then(Value::as_str) {
        Some("replace") => {
            patch.retain(|k, _| !k.starts_with('$'));
            *target = Value::Object(patch);
            return;
        }
        Some("delete") => {
            *target = Value::Object(Map::new());
            return;
        }
        _ => {}
    }
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    let Value::Object(target_map) = target else {
        return;
    };
    for (key, value) in patch {
        if key.starts_with('$') {
            continue;
        }
        match value {
            Value::Null => {
                target_map.remove(&key);
            }
            Value::Object(inner) => {
                let deleting = inner.get("$patch").and_then(Value::as_str) == Some("delete");
                if deleting {
                    target_map.remove(&key);
                } else {
                    strategic_merge(target_map.entry(key).or_insert(Value::Null), inner);
                }
            }
            other => {
                target_map.insert(key, other);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn patched(kind: PatchKind, target: Value, patch: Value) -> ApiResult<Value> {
        let mut target = target;
        apply(kind, &mut target, patch.to_string().as_bytes())?;
        Ok(target)
    }

    #[test]
    fn recorder_style_strategic_merge_updates_count() {
        let event = json!({"count": 1, "message": "a", "lastTimestamp": "t1", "source": {"component": "k"}});
        let out = patched(
            PatchKind::StrategicMerge,
            event,
            json!({"count": 2, "lastTimestamp": "t2", "source": {"host": "n"}, "$setElementOrder/x": []}),
        )
        .unwrap();
        assert_eq!(
            out,
            json!({"count": 2, "message": "a", "lastTimestamp": "t2", "source": {"component": "k", "host": "n"}})
        );
    }

    #[test]
    fn strategic_merge_directives() {
        let event = json!({"metadata": {"labels": {"a": "1", "b": "2"}}, "related": {"name": "x"}});
        let out = patched(
            PatchKind::StrategicMerge,
            event,
            json!({"metadata": {"labels": {"$patch": "replace", "c": "3"}}, "related": {"$patch": "delete"}}),
        )
        .unwrap();
        assert_eq!(out, json!({"metadata": {"labels": {"c": "3"}}}));
    }

    #[test]
    fn merge_and_json_patch() {
        let out = patched(
            PatchKind::Merge,
            json!({"a": 1, "b": 2}),
            json!({"b": null, "c": 3}),
        )
        .unwrap();
        assert_eq!(out, json!({"a": 1, "c": 3}));
        let out = patched(
            PatchKind::Json,
            json!({"count": 1}),
            json!([{"op": "replace", "path": "/count", "value": 5}]),
        )
        .unwrap();
        assert_eq!(out, json!({"count": 5}));
        let failed = patched(
            PatchKind::Json,
            json!({"count": 1}),
            json!([{"op": "test", "path": "/count", "value": 2}]),
        );
        assert_eq!(failed.unwrap_err().code, 422);
        let malformed = patched(PatchKind::Json, json!({}), json!({"op": "add"}));
        assert_eq!(malformed.unwrap_err().code, 400);
    }
}
