//! `continue` tokens of paged lists: decoding arbitrary text must never panic, and a token that
//! decodes must survive encode → decode unchanged (the server re-encodes tokens it hands out).
#![no_main]

use kevents_api::fuzzing::ContinueToken;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(token) = ContinueToken::decode(text) else {
        return;
    };
    let encoded = token.encode();
    assert_eq!(
        ContinueToken::decode(&encoded),
        Ok(token),
        "token {text:?} re-encoded as {encoded:?}"
    );
});
