//! Protobuf request bodies (`application/vnd.kubernetes.protobuf`), as client-go's typed clients
//! send them: the envelope and Event message decoded for either group, then through the JSON path.
//!
//! Invariants: nothing panics; whatever decodes re-encodes, and encoding is a fixed point
//! (encode(decode(encode(json))) == encode(json)), so the encoder never loses what the decoder
//! read. The input is tried as a whole body and, to reach the Event message sooner, as the `raw`
//! of a valid envelope.
#![no_main]

use kevents_model::proto::{decode_event, encode_event, MAGIC};
use kevents_model::validation::validate_create;
use kevents_model::ApiGroup;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for group in [ApiGroup::Core, ApiGroup::Events] {
        check_body(group, data);
        check_body(group, &in_envelope(group, data));
    }
});

/// `data` as the object of an envelope naming `group`'s Event.
fn in_envelope(group: ApiGroup, data: &[u8]) -> Vec<u8> {
    let api_version = group.api_version().as_bytes();
    let mut type_meta = vec![0x0a, api_version.len() as u8];
    type_meta.extend_from_slice(api_version);
    type_meta.extend_from_slice(&[0x12, 5]);
    type_meta.extend_from_slice(b"Event");
    let mut body = MAGIC.to_vec();
    body.extend_from_slice(&[0x0a, type_meta.len() as u8]);
    body.extend(type_meta);
    body.push(0x12);
    let mut len = data.len();
    while len >= 0x80 {
        body.push((len as u8) | 0x80);
        len >>= 7;
    }
    body.push(len as u8);
    body.extend_from_slice(data);
    body
}

fn check_body(group: ApiGroup, body: &[u8]) {
    let Ok(json) = decode_event(group, body) else {
        return;
    };
    let encoded = encode_event(group, &json)
        .unwrap_or_else(|e| panic!("decoded JSON does not encode: {e}\n{json:#}"));
    let again = decode_event(group, &encoded)
        .unwrap_or_else(|e| panic!("our own encoding does not decode: {e}\n{json:#}"));
    let re_encoded = encode_event(group, &again).expect("decoded JSON encodes");
    assert_eq!(re_encoded, encoded, "encoding is not a fixed point\n{json:#}");
    if let Ok(decoded) = kevents_model::wire::decode_event(group, json) {
        validate_create(&decoded.record, group);
    }
}
