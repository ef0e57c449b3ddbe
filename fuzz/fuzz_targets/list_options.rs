//! The raw query string of a list or watch, through the same two steps as a request: key/value
//! parsing, then list options for each API group.
#![no_main]

use kevents_api::fuzzing::{parse_query, ListOptions};
use kevents_model::ApiGroup;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(query) = parse_query(Some(text)) else {
        return;
    };
    for group in [ApiGroup::Core, ApiGroup::Events] {
        if let Ok(options) = ListOptions::parse(&query, group) {
            assert!(options.limit.is_none_or(|limit| limit > 0));
            assert_eq!(
                options.resource_version_number.is_some(),
                !options.resource_version.is_empty()
            );
        }
    }
});
