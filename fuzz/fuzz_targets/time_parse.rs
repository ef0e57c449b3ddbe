//! Timestamps (RFC 3339, as in event bodies and rule files) and Go durations (`--ttl`, rule
//! windows). Parsed timestamps must survive formatting in both wire forms.
#![no_main]

use kevents_model::{parse_go_duration, Micros};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = parse_go_duration(text);
    let Some(instant) = Micros::parse(text) else {
        return;
    };
    let micro = instant.to_micro_time_string();
    assert_eq!(
        Micros::parse(&micro),
        Some(instant),
        "{text:?} printed as {micro:?}"
    );
    let seconds = instant.truncate_to_seconds();
    let time = instant.to_time_string();
    assert_eq!(
        Micros::parse(&time),
        Some(seconds),
        "{text:?} printed as {time:?}"
    );
});
