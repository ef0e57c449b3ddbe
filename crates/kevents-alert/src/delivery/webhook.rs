//! The webhook sink's wire format: `POST <url>` with `{"alerts":[...],"status":"firing"|"resolved"}`,
//! signed with `X-Kevents-Signature: sha256=<hex HMAC-SHA256(secret, body)>` when a secret is set
//! (the event sinks' webhooks sign the same way).

use super::outbox::Batch;
use crate::http::{Endpoint, UrlError};
use crate::Alert;
use bytes::Bytes;
use hmac::{Hmac, Mac};
use serde::Serialize;
use sha2::Sha256;

/// The header carrying the body's signature.
pub const SIGNATURE_HEADER: &str = "x-kevents-signature";

#[derive(Serialize)]
struct Payload<'a> {
    alerts: &'a [Alert],
    status: &'static str,
}

/// Where notifications go for a webhook at `url`.
pub(super) fn endpoint(url: &str) -> Result<Endpoint, UrlError> {
    Endpoint::parse(url, "")
}

/// The request body; a batch is all firing or all resolved.
pub(super) fn encode(batch: &Batch) -> Bytes {
    let payload = Payload {
        alerts: &batch.alerts,
        status: batch.status(),
    };
    Bytes::from(
        serde_json::to_vec(&payload)
            .expect("an alert serializes: string maps, strings and timestamps"),
    )
}

/// The signature header's value for `body`: `sha256=<hex HMAC-SHA256(secret, body)>`.
pub fn signature(secret: &str, body: &[u8]) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC accepts keys of any length");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_matches_a_known_hmac_sha256_vector() {
        // RFC 4231 test case 2.
        assert_eq!(
            signature("Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
