//! Log segment bytes as recovery reads them: CRC frames, each decoded as a log entry. A torn or
//! corrupt file must end the scan, never panic or allocate without bound.
//!
//! Mutated bytes almost never carry a valid checksum, so the input is also read a second way:
//! each line framed with a correct checksum, which lets mutations reach the entry decoder.
#![no_main]

use kevents_store::fuzzing::decode_log;
use libfuzzer_sys::fuzz_target;

/// A frame is an 8-byte header and at least one payload byte.
const SMALLEST_FRAME: usize = 9;

fuzz_target!(|data: &[u8]| {
    let decoded = decode_log(data);
    assert!(decoded <= data.len() / SMALLEST_FRAME);

    let mut framed = Vec::with_capacity(data.len() + 64);
    let mut frames = 0;
    for payload in data.split(|b| *b == b'\n').filter(|line| !line.is_empty()) {
        framed.extend_from_slice(&(payload.len() as u32).to_le_bytes());
        framed.extend_from_slice(&crc32fast::hash(payload).to_le_bytes());
        framed.extend_from_slice(payload);
        frames += 1;
    }
    assert!(decode_log(&framed) <= frames);
});
