//! The apiserver's Event validation (pkg/apis/core/validation/events.go), rule for rule.
//!
//! Legacy (core/v1) requests are checked far less than events.k8s.io/v1 ones, and the checks
//! branch on whether `eventTime` is set; this module keeps those differences on purpose.

use crate::record::EventRecord;
use crate::ApiGroup;
use std::fmt;

const REPORTING_INSTANCE_LIMIT: usize = 128;
const ACTION_LIMIT: usize = 128;
const REASON_LIMIT: usize = 128;
const NOTE_LIMIT: usize = 1024;
const DNS1123_SUBDOMAIN_MAX: usize = 253;
const QUALIFIED_NAME_MAX: usize = 63;
/// Longest event name kevents accepts, in bytes. The apiserver bounds core/v1 names only by
/// its request size; kevents bounds them so that every stored event stays addressable: even
/// percent-encoded whole (3 bytes a byte) under the longest path, a name this long keeps the
/// request target below the HTTP server's fixed 65,534-byte limit.
pub const NAME_MAX_BYTES: usize = 8192;

/// The kind of a field error, named as in `metav1.CauseType`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FieldErrorKind {
    /// A required field is missing (`FieldValueRequired`).
    Required,
    /// A field has a bad value (`FieldValueInvalid`).
    Invalid,
    /// A field may not be set (`FieldValueForbidden`).
    Forbidden,
}

impl FieldErrorKind {
    /// The `reason` of a `StatusCause`.
    pub fn cause_reason(self) -> &'static str {
        match self {
            FieldErrorKind::Required => "FieldValueRequired",
            FieldErrorKind::Invalid => "FieldValueInvalid",
            FieldErrorKind::Forbidden => "FieldValueForbidden",
        }
    }
}

/// One validation failure, rendered like `field.Error`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldError {
    /// What went wrong.
    pub kind: FieldErrorKind,
    /// The field path, e.g. `involvedObject.namespace`.
    pub field: String,
    /// The offending value, already quoted as the apiserver prints it; `None` when not shown.
    pub value: Option<String>,
    /// Extra explanation.
    pub detail: String,
}

impl FieldError {
    fn required(field: &str, detail: &str) -> FieldError {
        FieldError {
            kind: FieldErrorKind::Required,
            field: field.to_string(),
            value: None,
            detail: detail.to_string(),
        }
    }

    fn invalid(field: &str, value: &str, detail: impl Into<String>) -> FieldError {
        FieldError {
            kind: FieldErrorKind::Invalid,
            field: field.to_string(),
            value: Some(format!("{value:?}")),
            detail: detail.into(),
        }
    }

    fn immutable(field: &str, value: String) -> FieldError {
        FieldError {
            kind: FieldErrorKind::Invalid,
            field: field.to_string(),
            value: Some(value),
            detail: "field is immutable".to_string(),
        }
    }

    /// The message without the field path, as put in a `StatusCause`.
    pub fn message_without_field(&self) -> String {
        let head = match self.kind {
            FieldErrorKind::Required => "Required value".to_string(),
            FieldErrorKind::Forbidden => "Forbidden".to_string(),
            FieldErrorKind::Invalid => match &self.value {
                Some(value) => format!("Invalid value: {value}"),
                None => "Invalid value".to_string(),
            },
        };
        if self.detail.is_empty() {
            head
        } else {
            format!("{head}: {}", self.detail)
        }
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.message_without_field())
    }
}

/// Validates a new event as the apiserver does for a create through `group`.
pub fn validate_create(event: &EventRecord, group: ApiGroup) -> Vec<FieldError> {
    let mut errors = legacy_validate(event, group);
    errors.extend(validate_name(&event.name, &event.generate_name, group));
    if group == ApiGroup::Core {
        return errors;
    }
    validate_series(event, &mut errors);
    if event.event_time.is_none() {
        errors.push(FieldError::required("eventTime", ""));
    }
    if event.event_type != "Normal" && event.event_type != "Warning" {
        errors.push(FieldError::invalid(
            "type",
            "",
            format!("has invalid value: {}", event.event_type),
        ));
    }
    if event.first_timestamp.is_some() {
        errors.push(FieldError::invalid(
            "firstTimestamp",
            "",
            "needs to be unset",
        ));
    }
    if event.last_timestamp.is_some() {
        errors.push(FieldError::invalid(
            "lastTimestamp",
            "",
            "needs to be unset",
        ));
    }
    if event.count != 0 {
        errors.push(FieldError::invalid("count", "", "needs to be unset"));
    }
    if !event.source_component.is_empty() || !event.source_host.is_empty() {
        errors.push(FieldError::invalid("source", "", "needs to be unset"));
    }
    errors
}

/// Validates a replacement of `old` by `new` as the apiserver does for an update through `group`.
pub fn validate_update(new: &EventRecord, old: &EventRecord, group: ApiGroup) -> Vec<FieldError> {
    let mut errors = legacy_validate(new, group);
    if group == ApiGroup::Core {
        return errors;
    }
    if new.series != old.series {
        validate_series(new, &mut errors);
    }
    let mut immutable = |field: &str, changed: bool, value: String| {
        if changed {
            errors.push(FieldError::immutable(field, value));
        }
    };
    immutable(
        "involvedObject",
        new.involved_object != old.involved_object,
        format!("{:?}", new.involved_object),
    );
    immutable(
        "reason",
        new.reason != old.reason,
        format!("{:?}", new.reason),
    );
    immutable(
        "message",
        new.message != old.message,
        format!("{:?}", new.message),
    );
    immutable(
        "source",
        new.source_component != old.source_component || new.source_host != old.source_host,
        format!("{{{:?}, {:?}}}", new.source_component, new.source_host),
    );
    immutable(
        "firstTimestamp",
        new.first_timestamp != old.first_timestamp,
        time_value(new.first_timestamp),
    );
    immutable(
        "lastTimestamp",
        new.last_timestamp != old.last_timestamp,
        time_value(new.last_timestamp),
    );
    immutable("count", new.count != old.count, new.count.to_string());
    immutable(
        "type",
        new.event_type != old.event_type,
        format!("{:?}", new.event_type),
    );
    immutable(
        "eventTime",
        new.event_time != old.event_time,
        time_value(new.event_time),
    );
    immutable(
        "action",
        new.action != old.action,
        format!("{:?}", new.action),
    );
    immutable(
        "related",
        new.related != old.related,
        format!("{:?}", new.related),
    );
    immutable(
        "reportingController",
        new.reporting_controller != old.reporting_controller,
        format!("{:?}", new.reporting_controller),
    );
    immutable(
        "reportingInstance",
        new.reporting_instance != old.reporting_instance,
        format!("{:?}", new.reporting_instance),
    );
    errors
}

fn time_value(value: Option<crate::Micros>) -> String {
    match value {
        Some(t) => format!("{:?}", t.to_micro_time_string()),
        None => "null".to_string(),
    }
}

fn validate_series(event: &EventRecord, errors: &mut Vec<FieldError>) {
    if let Some(series) = &event.series {
        if series.count < 2 {
            errors.push(FieldError::invalid(
                "series.count",
                "",
                "should be at least 2",
            ));
        }
        if series.last_observed.is_none() {
            errors.push(FieldError::required("series.lastObservedTime", ""));
        }
    }
}

fn legacy_validate(event: &EventRecord, group: ApiGroup) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let reporting_field = match group {
        ApiGroup::Core => "reportingComponent",
        ApiGroup::Events => "reportingController",
    };
    let involved_namespace = &event.involved_object.namespace;
    let namespace_mismatch = || {
        FieldError::invalid(
            "involvedObject.namespace",
            involved_namespace,
            "does not match event.namespace",
        )
    };
    if event.event_time.is_none() {
        if involved_namespace.is_empty() {
            if !event.namespace.is_empty() && event.namespace != "default" {
                errors.push(namespace_mismatch());
            }
        } else if &event.namespace != involved_namespace {
            errors.push(namespace_mismatch());
        }
    } else {
        if involved_namespace.is_empty()
            && event.namespace != "default"
            && event.namespace != "kube-system"
        {
            errors.push(namespace_mismatch());
        }
        if event.reporting_controller.is_empty() {
            errors.push(FieldError::required(reporting_field, ""));
        }
        errors.extend(
            qualified_name_errors(&event.reporting_controller)
                .into_iter()
                .map(|msg| FieldError::invalid(reporting_field, &event.reporting_controller, msg)),
        );
        let mut bounded = |field: &str, value: &str, limit: usize, required: bool| {
            if required && value.is_empty() {
                errors.push(FieldError::required(field, ""));
            }
            if value.len() > limit {
                errors.push(FieldError::invalid(
                    field,
                    "",
                    format!("can have at most {limit} characters"),
                ));
            }
        };
        bounded(
            "reportingInstance",
            &event.reporting_instance,
            REPORTING_INSTANCE_LIMIT,
            true,
        );
        bounded("action", &event.action, ACTION_LIMIT, true);
        bounded("reason", &event.reason, REASON_LIMIT, true);
        bounded("message", &event.message, NOTE_LIMIT, false);
    }
    for msg in dns1123_subdomain_errors(&event.namespace) {
        errors.push(FieldError::invalid("namespace", &event.namespace, msg));
    }
    errors
}

/// Name checks: core/v1 requires a name usable as a URL path segment of at most
/// [`NAME_MAX_BYTES`]; events.k8s.io/v1 requires a DNS-1123 subdomain (at most 253).
fn validate_name(name: &str, generate_name: &str, group: ApiGroup) -> Vec<FieldError> {
    let mut errors = Vec::new();
    if name.is_empty() {
        if generate_name.is_empty() {
            errors.push(FieldError::required(
                "metadata.name",
                "name or generateName is required",
            ));
        }
        return errors;
    }
    for msg in path_segment_errors(name) {
        errors.push(FieldError::invalid("metadata.name", name, msg));
    }
    if group == ApiGroup::Core && name.len() > NAME_MAX_BYTES {
        errors.push(FieldError::invalid(
            "metadata.name",
            name,
            format!(
                "must be no more than {NAME_MAX_BYTES} bytes, so that the event can be addressed \
                 by name"
            ),
        ));
    }
    if group == ApiGroup::Events {
        for msg in dns1123_subdomain_errors(name) {
            errors.push(FieldError::invalid("metadata.name", name, msg));
        }
    }
    errors
}

/// The apiserver's `path.IsValidPathSegmentName`.
pub fn path_segment_errors(name: &str) -> Vec<String> {
    if name == "." || name == ".." {
        return vec![format!("may not be '{name}'")];
    }
    let mut errors = Vec::new();
    for bad in ["/", "%"] {
        if name.contains(bad) {
            errors.push(format!("may not contain '{bad}'"));
        }
    }
    errors
}

/// `validation.IsDNS1123Subdomain`: lower-case alphanumerics, '-' and '.', at most 253 characters.
pub fn dns1123_subdomain_errors(value: &str) -> Vec<String> {
    let mut errors = Vec::new();
    if value.len() > DNS1123_SUBDOMAIN_MAX {
        errors.push(format!(
            "must be no more than {DNS1123_SUBDOMAIN_MAX} characters"
        ));
    }
    let label_ok = |label: &str| {
        let bytes = label.as_bytes();
        !bytes.is_empty()
            && bytes[0].is_ascii_alphanumeric()
            && bytes[bytes.len() - 1].is_ascii_alphanumeric()
            && bytes
                .iter()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-')
    };
    if !value.split('.').all(label_ok) {
        errors.push(
            "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, \
             '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', \
             regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
                .to_string(),
        );
    }
    errors
}

/// `validation.IsQualifiedName`: an optional DNS subdomain prefix and `/`, then a name part.
pub fn qualified_name_errors(value: &str) -> Vec<String> {
    let mut errors = Vec::new();
    let parts: Vec<&str> = value.split('/').collect();
    let name = match parts.as_slice() {
        [name] => *name,
        [prefix, name] => {
            if prefix.is_empty() {
                errors.push("prefix part must be non-empty".to_string());
            } else {
                errors.extend(
                    dns1123_subdomain_errors(prefix)
                        .into_iter()
                        .map(|msg| format!("prefix part {msg}")),
                );
            }
            *name
        }
        _ => {
            errors.push(
                "a qualified name must consist of alphanumeric characters, '-', '_' or '.', and \
                 must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  \
                 or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') \
                 with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"
                    .to_string(),
            );
            return errors;
        }
    };
    if name.is_empty() {
        errors.push("name part must be non-empty".to_string());
    } else if name.len() > QUALIFIED_NAME_MAX {
        errors.push(format!(
            "name part must be no more than {QUALIFIED_NAME_MAX} characters"
        ));
    }
    let bytes = name.as_bytes();
    let valid = !bytes.is_empty()
        && bytes[0].is_ascii_alphanumeric()
        && bytes[bytes.len() - 1].is_ascii_alphanumeric()
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    if !valid {
        errors.push(
            "name part must consist of alphanumeric characters, '-', '_' or '.', and must start \
             and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', \
             regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"
                .to_string(),
        );
    }
    errors
}

#[cfg(test)]
mod tests;
