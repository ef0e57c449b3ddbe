//! PATCH bodies of every kind applied to a document, with small limits.
//!
//! Input: a document and a patch separated by the first NUL byte (no NUL is valid inside JSON
//! text). Must never panic. When a patch applies:
//! - the result is no larger than max(original, max_document_bytes) plus the patch's own compact
//!   size: every byte the result gains comes from the patch text or from a `copy`, and copies
//!   are counted against the limit;
//! - the result nests no deeper than a request body may (127 levels, serde_json's limit). The
//!   hub clones, serializes and drops documents recursively on 2 MiB worker stacks; the body
//!   decoder's bound is what keeps that safe, and a patch must not be a way around it.
#![no_main]

use kevents_api::fuzzing::{apply_patch, PatchKind, PatchLimits};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

const LIMITS: PatchLimits = PatchLimits {
    max_operations: 32,
    max_document_bytes: 16 * 1024,
};

fuzz_target!(|data: &[u8]| {
    let Some(split) = data.iter().position(|b| *b == 0) else {
        return;
    };
    let (document, patch) = (&data[..split], &data[split + 1..]);
    let Ok(original) = serde_json::from_slice::<Value>(document) else {
        return;
    };
    let original_size = compact_size(&original);
    let patch_size = serde_json::from_slice::<Value>(patch)
        .map(|p| compact_size(&p))
        .unwrap_or(0);
    let bound = original_size.max(LIMITS.max_document_bytes) + patch_size;
    for kind in [
        PatchKind::Json,
        PatchKind::Merge,
        PatchKind::StrategicMerge,
        PatchKind::Apply,
    ] {
        let mut target = original.clone();
        if apply_patch(kind, &mut target, patch, &LIMITS).is_ok() {
            let size = compact_size(&target);
            assert!(
                size <= bound,
                "{kind:?} patch grew the document to {size} bytes (bound {bound})"
            );
            let depth = nesting_depth(&target);
            assert!(
                depth <= MAX_BODY_DEPTH,
                "{kind:?} patch nested the document {depth} levels deep"
            );
        }
    }
});

/// The deepest request body `serde_json::from_slice` accepts (its recursion limit is 128).
const MAX_BODY_DEPTH: usize = 127;

/// Levels of arrays and objects, counted without recursion (a scalar is 0).
fn nesting_depth(value: &Value) -> usize {
    let mut deepest = 0;
    let mut pending = vec![(value, 1)];
    while let Some((value, depth)) = pending.pop() {
        match value {
            Value::Array(items) => pending.extend(items.iter().map(|v| (v, depth + 1))),
            Value::Object(map) => pending.extend(map.values().map(|v| (v, depth + 1))),
            _ => continue,
        }
        deepest = deepest.max(depth);
    }
    deepest
}

fn compact_size(value: &Value) -> usize {
    serde_json::to_vec(value).map(|b| b.len()).unwrap_or(0)
}
