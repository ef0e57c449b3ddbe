//! Label selectors (`labelSelector=`): parsing and matching must never panic, and a parsed
//! selector must match the label set it describes when that set exists.
#![no_main]

use kevents_model::{LabelOperator, LabelSelector};
use libfuzzer_sys::fuzz_target;
use std::collections::BTreeMap;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(selector) = LabelSelector::parse(text) else {
        return;
    };
    selector.matches(&BTreeMap::new());

    // One label set satisfying every requirement, when the requirements do not conflict.
    let mut labels = BTreeMap::new();
    for requirement in &selector.requirements {
        let wanted = match &requirement.operator {
            LabelOperator::In(values) => values.first().cloned(),
            LabelOperator::Exists => Some(String::new()),
            LabelOperator::GreaterThan(n) => n.checked_add(1).map(|v| v.to_string()),
            LabelOperator::LessThan(n) => n.checked_sub(1).map(|v| v.to_string()),
            LabelOperator::NotIn(_) | LabelOperator::DoesNotExist => continue,
        };
        let Some(wanted) = wanted else { return };
        if labels.insert(requirement.key.clone(), wanted).is_some() {
            return;
        }
    }
    let satisfiable = selector.requirements.iter().all(|r| match &r.operator {
        LabelOperator::NotIn(values) => labels.get(&r.key).is_none_or(|v| !values.contains(v)),
        LabelOperator::DoesNotExist => !labels.contains_key(&r.key),
        _ => true,
    });
    if satisfiable {
        assert!(
            selector.matches(&labels),
            "{text:?} does not match {labels:?}"
        );
    }
});
