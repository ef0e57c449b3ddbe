//! A sealed block's bytes as recovery reads them (codec byte, compressed columns). A damaged
//! block must be refused with an error, never panic or allocate without bound.
#![no_main]

use kevents_store::fuzzing::decode_block;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // Each event costs at least a byte of some column, so a block cannot claim more events than
    // it could possibly hold after decompression's bounded growth.
    let events = decode_block(data);
    assert!(events <= 64 * 1024 * 1024);
});
