//! Applying PATCH bodies to an event's JSON form.

use crate::error::{ApiError, ApiResult};
use crate::negotiate::PatchKind;
use serde_json::{Map, Value};

/// Bounds on what one patch may do.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Most operations in a JSON patch (the apiserver allows 10,000).
    pub max_operations: usize,
    /// Largest document a JSON patch may build; `copy` can otherwise double it per operation.
    pub max_document_bytes: usize,
}

/// Applies `patch` of `kind` to `target` in place. On error `target` may be partly patched;
/// callers patch a copy.
pub fn apply(kind: PatchKind, target: &mut Value, patch: &[u8], limits: &Limits) -> ApiResult<()> {
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
            apply_json_patch(target, &operations.0, limits)
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

fn rejected(message: String) -> ApiError {
    ApiError {
        code: axum::http::StatusCode::UNPROCESSABLE_ENTITY,
        reason: "Invalid",
        message: format!(
            "the server rejected our request due to an error in our request: {message}"
        ),
        details: None,
    }
}

/// Applies operations one at a time, bounding the document's growth through `copy`.
fn apply_json_patch(
    target: &mut Value,
    operations: &[json_patch::PatchOperation],
    limits: &Limits,
) -> ApiResult<()> {
    if operations.len() > limits.max_operations {
        return Err(ApiError::too_large_message(format!(
            "Request entity too large: The allowed maximum operations in a JSON patch is {}, got {}",
            limits.max_operations,
            operations.len()
        )));
    }
    let mut size = serde_json::to_vec(target).map(|b| b.len()).unwrap_or(0);
    for operation in operations {
        if let json_patch::PatchOperation::Copy(copy) = operation {
            let copied = target
                .pointer(copy.from.as_str())
                .map(|v| serde_json::to_vec(v).map(|b| b.len()).unwrap_or(0))
                .unwrap_or(0);
            size += copied;
            if size > limits.max_document_bytes {
                return Err(ApiError::too_large_message(format!(
                    "Request entity too large: the patched object would exceed {} bytes",
                    limits.max_document_bytes
                )));
            }
        }
        json_patch::patch_unsafe(target, std::slice::from_ref(operation))
            .map_err(|e| rejected(e.to_string()))?;
    }
    Ok(())
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

    const LIMITS: Limits = Limits {
        max_operations: 100,
        max_document_bytes: 4096,
    };

    fn patched(kind: PatchKind, target: Value, patch: Value) -> ApiResult<Value> {
        let mut target = target;
        apply(kind, &mut target, patch.to_string().as_bytes(), &LIMITS)?;
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

    #[test]
    fn self_copying_json_patch_is_bounded() {
        let ops: Vec<Value> = (0..30)
            .map(|i| json!({"op": "copy", "from": "", "path": format!("/c{i}")}))
            .collect();
        let err = patched(
            PatchKind::Json,
            json!({"message": "x".repeat(100)}),
            json!(ops),
        )
        .unwrap_err();
        assert_eq!(err.code, 413);
        let too_many: Vec<Value> = (0..101)
            .map(|_| json!({"op": "test", "path": "/a", "value": 1}))
            .collect();
        assert_eq!(
            patched(PatchKind::Json, json!({"a": 1}), json!(too_many))
                .unwrap_err()
                .code,
            413
        );
    }

    #[test]
    fn failing_test_after_a_move_of_the_root_is_an_error_not_a_panic() {
        let ops = json!([{"op": "move", "from": "/metadata", "path": ""}, {"op": "test", "path": "/nope", "value": 1}]);
        let err = patched(PatchKind::Json, json!({"metadata": {"name": "x"}}), ops).unwrap_err();
        assert_eq!(err.code, 422);
    }
}
