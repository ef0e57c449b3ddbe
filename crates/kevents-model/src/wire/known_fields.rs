//! The fields each Event schema knows, to report unknown ones for `fieldValidation`.

use crate::ApiGroup;
use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};
use std::borrow::Cow;
use std::fmt;

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

/// The fields a nested object of `kind` knows; `None`: any (a string map, or free-form).
fn nested_fields(kind: Nested) -> Option<FieldSet> {
    match kind {
        Nested::Metadata => Some(OBJECT_META_FIELDS),
        Nested::ObjectRef => Some(OBJECT_REF_FIELDS),
        Nested::Series => Some(SERIES_FIELDS),
        Nested::Source => Some(SOURCE_FIELDS),
        Nested::StringMap | Nested::Free => None,
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
                let Some(fields) = nested_fields(*nested) else {
                    continue;
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

/// True when the JSON `text` (an Event of `group`) holds a field that [`unknown_fields`] would
/// list, or is not valid JSON. It reads the text without building its tree, so a body with
/// none can be decoded straight into its type.
pub(super) fn text_has_unknown_fields(group: ApiGroup, text: &str) -> bool {
    let mut json = serde_json::Deserializer::from_str(text);
    match Known(top_level_fields(group)).deserialize(&mut json) {
        Ok(unknown) => unknown || json.end().is_err(),
        Err(_) => true,
    }
}

/// Reads a value against the fields an object in its place knows: true when an object in it
/// names one that is not known (values other than objects know nothing and hold nothing).
struct Known(FieldSet);

impl<'de> DeserializeSeed<'de> for Known {
    type Value = bool;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<bool, D::Error> {
        deserializer.deserialize_any(self)
    }
}

/// A key, borrowed from the text unless it holds escapes.
struct Key<'de>(Cow<'de, str>);

impl<'de> serde::Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a field name")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(v.to_owned())))
            }
        }
        deserializer.deserialize_str(KeyVisitor)
    }
}

impl<'de> Visitor<'de> for Known {
    type Value = bool;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<bool, A::Error> {
        let mut unknown = false;
        while let Some(Key(key)) = map.next_key::<Key<'de>>()? {
            match self.0.iter().find(|(name, _)| *name == key) {
                None => {
                    unknown = true;
                    map.next_value::<IgnoredAny>()?;
                }
                Some((_, Some(nested))) => match nested_fields(*nested) {
                    Some(fields) => unknown |= map.next_value_seed(Known(fields))?,
                    None => {
                        map.next_value::<IgnoredAny>()?;
                    }
                },
                Some((_, None)) => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(unknown)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<bool, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(false)
    }

    fn visit_bool<E>(self, _: bool) -> Result<bool, E> {
        Ok(false)
    }

    fn visit_i64<E>(self, _: i64) -> Result<bool, E> {
        Ok(false)
    }

    fn visit_u64<E>(self, _: u64) -> Result<bool, E> {
        Ok(false)
    }

    fn visit_f64<E>(self, _: f64) -> Result<bool, E> {
        Ok(false)
    }

    fn visit_str<E>(self, _: &str) -> Result<bool, E> {
        Ok(false)
    }

    fn visit_unit<E>(self) -> Result<bool, E> {
        Ok(false)
    }
}
