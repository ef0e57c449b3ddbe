//! Tests of the parent module.

use super::*;
use crate::Micros;

fn legacy(namespace: &str, involved_namespace: &str) -> EventRecord {
    let mut event = EventRecord {
        namespace: namespace.into(),
        name: "web-0.17a".into(),
        ..Default::default()
    };
    event.involved_object.namespace = involved_namespace.into();
    event
}

fn rendered(errors: &[FieldError]) -> Vec<String> {
    errors.iter().map(|e| e.to_string()).collect()
}

#[test]
fn legacy_event_needs_matching_namespace_only() {
    assert!(validate_create(&legacy("default", ""), ApiGroup::Core).is_empty());
    assert!(validate_create(&legacy("apps", "apps"), ApiGroup::Core).is_empty());
    assert_eq!(
        rendered(&validate_create(&legacy("apps", "other"), ApiGroup::Core)),
        vec![r#"involvedObject.namespace: Invalid value: "other": does not match event.namespace"#]
    );
    assert_eq!(
        validate_create(&legacy("apps", ""), ApiGroup::Core).len(),
        1
    );
    // A legacy event may carry any type and an over-long reason.
    let mut odd = legacy("default", "");
    odd.event_type = "Weird".into();
    odd.reason = "x".repeat(500);
    assert!(validate_create(&odd, ApiGroup::Core).is_empty());
}

#[test]
fn new_style_event_requires_reporting_fields() {
    let mut event = legacy("default", "");
    event.event_time = Some(Micros(1));
    let errors = rendered(&validate_create(&event, ApiGroup::Core));
    assert_eq!(
        errors,
        vec![
            "reportingComponent: Required value",
            r#"reportingComponent: Invalid value: "": name part must be non-empty"#,
            r#"reportingComponent: Invalid value: "": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"#,
            "reportingInstance: Required value",
            "action: Required value",
            "reason: Required value",
        ]
    );
}

#[test]
fn events_group_create_rejects_deprecated_fields_and_bad_type() {
    let mut event = legacy("default", "default");
    event.event_time = Some(Micros(1));
    event.reporting_controller = "example.com/ctl".into();
    event.reporting_instance = "ctl-1".into();
    event.action = "Act".into();
    event.reason = "Done".into();
    event.event_type = "Normal".into();
    assert!(validate_create(&event, ApiGroup::Events).is_empty());
    event.count = 3;
    event.event_type = "Info".into();
    event.series = Some(crate::Series {
        count: 1,
        last_observed: None,
    });
    assert_eq!(
        rendered(&validate_create(&event, ApiGroup::Events)),
        vec![
            r#"series.count: Invalid value: "": should be at least 2"#,
            "series.lastObservedTime: Required value",
            r#"type: Invalid value: "": has invalid value: Info"#,
            r#"count: Invalid value: "": needs to be unset"#,
        ]
    );
}

#[test]
fn events_group_update_keeps_fields_immutable_but_core_does_not() {
    let old = legacy("default", "default");
    let mut new = old.clone();
    new.message = "changed".into();
    new.count = 2;
    assert!(validate_update(&new, &old, ApiGroup::Core).is_empty());
    let errors = rendered(&validate_update(&new, &old, ApiGroup::Events));
    assert_eq!(
        errors,
        vec![
            r#"message: Invalid value: "changed": field is immutable"#,
            "count: Invalid value: 2: field is immutable",
        ]
    );
}

#[test]
fn names_are_checked_per_group() {
    assert!(validate_name("Web_0", "", ApiGroup::Core).is_empty());
    assert_eq!(validate_name("Web_0", "", ApiGroup::Events).len(), 1);
    assert_eq!(validate_name("a/b", "", ApiGroup::Core).len(), 1);
    assert_eq!(
        rendered(&validate_name("", "", ApiGroup::Core)),
        vec!["metadata.name: Required value: name or generateName is required"]
    );
    assert!(validate_name("", "web-", ApiGroup::Events).is_empty());
}

#[test]
fn a_name_too_long_to_address_is_refused_with_the_limit() {
    let longest = "n".repeat(NAME_MAX_BYTES);
    assert!(validate_name(&longest, "", ApiGroup::Core).is_empty());
    let unreachable = "n".repeat(66_000);
    let errors = rendered(&validate_name(&unreachable, "", ApiGroup::Core));
    assert_eq!(errors.len(), 1);
    assert!(
        errors[0].contains("must be no more than 8192 bytes"),
        "{errors:?}"
    );
    let errors = rendered(&validate_name(&unreachable, "", ApiGroup::Events));
    assert!(
        errors[0].contains("must be no more than 253 characters"),
        "{errors:?}"
    );
}
