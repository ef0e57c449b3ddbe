//! Field selectors (`fieldSelector=` of list and watch) for both API groups.
//!
//! Beyond "never panics": a value escaped the way client-go's `fields.EscapeValue` does it must
//! parse back to exactly that value, whatever characters it holds.
#![no_main]

use kevents_model::{ApiGroup, EventField, EventRecord, FieldSelector};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    for group in [ApiGroup::Core, ApiGroup::Events] {
        if let Ok(selector) = FieldSelector::parse(text, group) {
            selector.matches(&EventRecord::default());
            let _ = selector.exact(EventField::Name);
        }
    }

    let selector = format!("reason={}", escape_value(text));
    let parsed = FieldSelector::parse(&selector, ApiGroup::Core)
        .unwrap_or_else(|e| panic!("escaped value {text:?} does not parse: {e}"));
    assert_eq!(parsed.requirements.len(), 1, "selector {selector:?}");
    let requirement = &parsed.requirements[0];
    assert_eq!(requirement.field, EventField::Reason);
    assert!(!requirement.negated);
    assert_eq!(requirement.value, text, "selector {selector:?}");
});

/// client-go's `fields.EscapeValue`: backslash, comma and equals are escaped with a backslash.
fn escape_value(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        if matches!(c, '\\' | ',' | '=') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}
