//! The documents are complete enough for kubectl: PATCH with fieldValidation, resolvable refs.

use super::*;

const GROUPS: [ApiGroup; 2] = [ApiGroup::Core, ApiGroup::Events];

fn parse(bytes: &[u8]) -> Value {
    serde_json::from_slice(bytes).expect("valid JSON")
}

fn collect_refs<'a>(value: &'a Value, refs: &mut Vec<&'a str>) {
    match value {
        Value::Object(map) => {
            refs.extend(map.get("$ref").and_then(Value::as_str));
            map.values().for_each(|value| collect_refs(value, refs));
        }
        Value::Array(items) => items.iter().for_each(|value| collect_refs(value, refs)),
        _ => {}
    }
}

#[test]
fn index_points_at_both_documents_with_their_hashes() {
    let index = parse(index());
    let paths = index["paths"].as_object().expect("paths object");
    assert_eq!(paths.len(), 2);
    for (key, group) in [
        ("api/v1", ApiGroup::Core),
        ("apis/events.k8s.io/v1", ApiGroup::Events),
    ] {
        let url = format!("/openapi/v3/{key}?hash={}", document_hash(group));
        assert_eq!(paths[key]["serverRelativeURL"], url);
    }
}

#[test]
fn hash_is_sixteen_uppercase_hex_digits_of_fnv1a_over_the_document() {
    assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
    assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
    for group in GROUPS {
        let hash = document_hash(group);
        assert_eq!(hash, format!("{:016X}", fnv1a(document(group))));
        assert!(hash
            .chars()
            .all(|c| c.is_ascii_digit() || c.is_ascii_uppercase()));
    }
    assert_ne!(
        document_hash(ApiGroup::Core),
        document_hash(ApiGroup::Events)
    );
}

#[test]
fn patch_operation_has_event_gvk_and_field_validation_so_kubectl_validates_server_side() {
    for group in GROUPS {
        let doc = parse(document(group));
        assert_eq!(doc["openapi"], "3.0.0");
        let path = format!(
            "{}/namespaces/{{namespace}}/events/{{name}}",
            Layout::of(group).prefix
        );
        let patch = &doc["paths"][&path]["patch"];
        let gvk = json!({ "group": group.group_name(), "version": "v1", "kind": "Event" });
        assert_eq!(patch["x-kubernetes-group-version-kind"], gvk);
        let params = patch["parameters"].as_array().expect("parameters");
        assert!(params
            .iter()
            .any(|p| p["name"] == "fieldValidation" && p["in"] == "query"));
        let body = patch["requestBody"]["content"]
            .as_object()
            .expect("patch body");
        assert!(body.contains_key("application/strategic-merge-patch+json"));
    }
}

#[test]
fn event_schema_declares_its_group_version_kind_for_explain_and_apply() {
    let cases = [
        (ApiGroup::Core, "io.k8s.api.core.v1.Event"),
        (ApiGroup::Events, "io.k8s.api.events.v1.Event"),
    ];
    for (group, schema) in cases {
        let doc = parse(document(group));
        let gvk = json!([{ "group": group.group_name(), "kind": "Event", "version": "v1" }]);
        assert_eq!(
            doc["components"]["schemas"][schema]["x-kubernetes-group-version-kind"],
            gvk
        );
    }
}

#[test]
fn every_ref_resolves_to_a_schema_in_the_same_document() {
    for group in GROUPS {
        let doc = parse(document(group));
        let schemas = doc["components"]["schemas"].as_object().expect("schemas");
        let mut refs = Vec::new();
        collect_refs(&doc, &mut refs);
        assert!(!refs.is_empty());
        for target in refs {
            let name = target
                .strip_prefix("#/components/schemas/")
                .expect("local ref");
            assert!(schemas.contains_key(name), "{group:?}: unresolved {target}");
        }
    }
}

#[test]
fn every_operation_has_a_unique_upstream_style_id_and_the_event_gvk() {
    for group in GROUPS {
        let doc = parse(document(group));
        let mut ids = Vec::new();
        for item in doc["paths"].as_object().expect("paths").values() {
            for (method, op) in item.as_object().expect("path item") {
                if method != "parameters" {
                    assert!(op["x-kubernetes-action"].is_string());
                    assert_eq!(op["x-kubernetes-group-version-kind"]["kind"], "Event");
                    ids.push(op["operationId"].as_str().expect("operationId").to_owned());
                }
            }
        }
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), 11);
        let infix = Layout::of(group).id;
        assert!(ids.contains(&format!("patch{infix}NamespacedEvent")));
        assert!(ids.contains(&format!("list{infix}EventForAllNamespaces")));
    }
}
