//! The fields each Event schema knows, to report unknown ones for `fieldValidation`.

use crate::ApiGroup;
use serde_json::{Map, Value};

type FieldSet = &'static [(&'static str, Option<Nested>)];

#[derive(Clone, Copy)]
enum Nested {
    Metadata,
    ObjectRef,
    Series,
    Source,
    StringMap,
    Free,
}

const OBJECT_META_FIELDS: FieldSet = &[
    ("name", None),
    ("generateName", None),
    ("namespace", None),
    ("selfLink", None),
    ("uid", None),
    ("resourceVersion", None),
    ("generation", None),
    ("creationTimestamp", None),
    ("deletionTimestamp", None),
    ("deletionGracePeriodSeconds", None),
    ("labels", Some(Nested::StringMap)),
    ("annotations", Some(Nested::StringMap)),
    ("ownerReferences", Some(Nested::Free)),
    ("finalizers", None),
    ("managedFields", Some(Nested::Free)),
];
const OBJECT_REF_FIELDS: FieldSet = &[
    ("kind", None),
    ("namespace", None),
    ("name", None),
    ("uid", None),
    ("apiVersion", None),
    ("resourceVersion", None),
    ("fieldPath", None),
];
const SERIES_FIELDS: FieldSet = &[("count", None), ("lastObservedTime", None)];
const SOURCE_FIELDS: FieldSet = &[("component", None), ("host", None)];
const CORE_FIELDS: FieldSet = &[
    ("kind", None),
    ("apiVersion", None),
    ("metadata", Some(Nested::Metadata)),
    ("involvedObject", Some(Nested::ObjectRef)),
    ("reason", None),
    ("message", None),
    ("source", Some(Nested::Source)),
    ("firstTimestamp", None),
    ("lastTimestamp", None),
    ("count", None),
    ("type", None),
    ("eventTime", None),
    ("series", Some(Nested::Series)),
    ("action", None),
    ("related", Some(Nested::ObjectRef)),
    ("reportingComponent", None),
    ("reportingInstance", None),
];
const EVENTS_FIELDS: FieldSet = &[
    ("kind", None),
    ("apiVersion", None),
    ("metadata", Some(Nested::Metadata)),
    ("eventTime", None),
    ("series", Some(Nested::Series)),
    ("reportingController", None),
    ("reportingInstance", None),
    ("action", None),
    ("reason", None),
    ("regarding", Some(Nested::ObjectRef)),
    ("related", Some(Nested::ObjectRef)),
    ("note", None),
    ("type", None),
    ("deprecatedSource", Some(Nested::Source)),
    ("deprecatedFirstTimestamp", None),
    ("deprecatedLastTimestamp", None),
    ("deprecatedCount", None),
];

fn top_level_fields(group: ApiGroup) -> FieldSet {
    match group {
        ApiGroup::Core => CORE_FIELDS,
        ApiGroup::Events => EVENTS_FIELDS,
    }
}

fn collect_unknown(
    object: &Map<String, Value>,
    known: FieldSet,
    prefix: &str,
    out: &mut Vec<String>,
) {
    for (key, value) in object {
        let path = if prefix.is_empty() {
            key.clone()
        } else {
            format!("{prefix}.{key}")
        };
        match known.iter().find(|(name, _)| name == key) {
            None => out.push(path),
            Some((_, Some(nested))) => {
                let fields = match nested {
                    Nested::Metadata => OBJECT_META_FIELDS,
                    Nested::ObjectRef => OBJECT_REF_FIELDS,
                    Nested::Series => SERIES_FIELDS,
                    Nested::Source => SOURCE_FIELDS,
                    Nested::StringMap | Nested::Free => continue,
                };
                if let Value::Object(inner) = value {
                    collect_unknown(inner, fields, &path, out);
                }
            }
            Some((_, None)) => {}
        }
    }
}

/// Fields of `object` (an Event of `group`) that its schema does not know, as dotted paths.
pub(super) fn unknown_fields(group: ApiGroup, object: &Map<String, Value>) -> Vec<String> {
    let mut unknown = Vec::new();
    collect_unknown(object, top_level_fields(group), "", &mut unknown);
    unknown
}
