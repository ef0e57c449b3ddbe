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

/// Applies `patch` of `kind` to `target` in place; the result is always a JSON object. On
/// error `target` may be partly patched; callers patch a copy.
pub fn apply(kind: PatchKind, target: &mut Value, patch: &[u8], limits: &Limits) -> ApiResult<()> {
    apply_any(kind, target, patch, limits)?;
    if target.is_object() {
        Ok(())
    } else {
        // A JSON patch can replace the root with any value (`"path": ""`).
        Err(ApiError::invalid_patch_result(
            target,
            "the patched document is not a JSON object",
        ))
    }
}

fn apply_any(kind: PatchKind, target: &mut Value, patch: &[u8], limits: &Limits) -> ApiResult<()> {
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
        check_depth(target, operation)?;
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

/// Deepest nesting a patched object may reach. Events are a few levels deep; without a bound,
/// `copy` and `move` can nest a value inside itself until cloning, encoding or dropping it
/// overflows the stack (found by the `patch` fuzz target).
const MAX_PATCH_DEPTH: usize = 64;

/// Nesting depth of `value`, measured without recursion.
fn depth(value: &Value) -> usize {
    let mut deepest = 0;
    let mut stack = vec![(value, 1usize)];
    while let Some((value, level)) = stack.pop() {
        deepest = deepest.max(level);
        match value {
            Value::Array(items) => stack.extend(items.iter().map(|v| (v, level + 1))),
            Value::Object(map) => stack.extend(map.values().map(|v| (v, level + 1))),
            _ => {}
        }
        if deepest > MAX_PATCH_DEPTH {
            break;
        }
    }
    deepest
}

fn pointer_depth(pointer: &str) -> usize {
    pointer.split('/').count().saturating_sub(1)
}

/// Refuses an operation that would nest the object deeper than [`MAX_PATCH_DEPTH`].
fn check_depth(target: &Value, operation: &json_patch::PatchOperation) -> ApiResult<()> {
    use json_patch::PatchOperation as Op;
    let (destination, placed) = match operation {
        Op::Add(op) => (op.path.as_str(), depth(&op.value)),
        Op::Replace(op) => (op.path.as_str(), depth(&op.value)),
        Op::Copy(op) => (
            op.path.as_str(),
            target.pointer(op.from.as_str()).map_or(0, depth),
        ),
        Op::Move(op) => (
            op.path.as_str(),
            target.pointer(op.from.as_str()).map_or(0, depth),
        ),
        Op::Remove(_) | Op::Test(_) => return Ok(()),
    };
    if pointer_depth(destination) + placed > MAX_PATCH_DEPTH {
        return Err(rejected(format!(
            "the patched object would nest deeper than {MAX_PATCH_DEPTH} levels"
        )));
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
    fn nesting_a_value_inside_itself_is_refused_before_it_grows() {
        let mut ops = vec![json!({"op": "add", "path": "/x", "value": {"a": {"a": {}}}})];
        let mut path = "/x".to_string();
        for _ in 0..40 {
            path.push_str("/a");
            ops.push(json!({"op": "copy", "from": "/x", "path": format!("{path}/a")}));
        }
        let err = patched(PatchKind::Json, json!({}), json!(ops)).unwrap_err();
        assert_eq!(err.code, 422);
        assert!(err.message.contains("nest deeper"), "{}", err.message);
        let nested = |levels: usize| (0..levels).fold(json!({}), |inner, _| json!({"k": inner}));
        let inside = format!("/a{}/b", "/k".repeat(59));
        let deep_move = json!([
            {"op": "add", "path": "/a", "value": nested(59)},
            {"op": "add", "path": "/b", "value": nested(59)},
            {"op": "move", "from": "/b", "path": inside},
        ]);
        let err = patched(PatchKind::Json, json!({}), deep_move).unwrap_err();
        assert!(err.code == 422, "{}", err.message);
    }

    #[test]
    fn json_patch_that_makes_the_root_a_non_object_is_invalid_not_a_panic() {
        let event = json!({"metadata": {"name": "x"}, "items": [1, 2]});
        for root in [json!([]), json!(5), json!("str"), json!(true), json!(null)] {
            let ops = json!([{"op": "replace", "path": "", "value": root}]);
            let err = patched(PatchKind::Json, event.clone(), ops).unwrap_err();
            assert_eq!(err.code, 422, "{root}");
            assert_eq!(err.reason, "Invalid");
            let status = err.to_status();
            assert_eq!(status["details"]["causes"][0]["field"], "patch");
            let quoted = format!("Invalid value: {:?}", root.to_string());
            assert!(err.message.contains(&quoted), "{}", err.message);
        }
        let copy = json!([{"op": "copy", "from": "/items", "path": ""}]);
        assert_eq!(patched(PatchKind::Json, event, copy).unwrap_err().code, 422);
    }

    #[test]
    fn a_large_non_object_result_is_quoted_cut_short() {
        let ops = json!([{"op": "replace", "path": "", "value": "x".repeat(3000)}]);
        let err = patched(PatchKind::Json, json!({}), ops).unwrap_err();
        assert!(err.message.len() < 1200, "{}", err.message.len());
        assert!(err.message.contains("..."));
    }

    #[test]
    fn failing_test_after_a_move_of_the_root_is_an_error_not_a_panic() {
        let ops = json!([{"op": "move", "from": "/metadata", "path": ""}, {"op": "test", "path": "/nope", "value": 1}]);
        let err = patched(PatchKind::Json, json!({"metadata": {"name": "x"}}), ops).unwrap_err();
        assert_eq!(err.code, 422);
    }
}
