//! What several sinks share: durations as written in the file, HTTP clients with basic
//! authentication and a CA, and the NDJSON lines of the stream sinks.

use crate::delivery::{Delivery, Encoded};
use crate::layout::envelope;
use bytes::Bytes;
use kevents_http::{Client, Endpoint};
use std::path::PathBuf;
use std::time::Duration;

/// Parses an optional Go duration with a default.
pub fn duration(value: &Option<String>, default: Duration) -> Result<Duration, String> {
    match value {
        None => Ok(default),
        Some(text) => kevents_model::parse_go_duration(text)
            .ok()
            .filter(|micros| *micros > 0)
            .map(|micros| Duration::from_micros(micros as u64))
            .ok_or_else(|| format!("invalid duration {text:?} (use Go syntax: 500ms, 30s, 5m)")),
    }
}

pub(crate) fn basic_auth(
    user: &Option<String>,
    password: &Option<String>,
) -> Vec<(String, String)> {
    use base64::Engine as _;
    match user {
        Some(user) => {
            let pair = format!("{user}:{}", password.as_deref().unwrap_or(""));
            let encoded = base64::engine::general_purpose::STANDARD.encode(pair);
            vec![("authorization".into(), format!("Basic {encoded}"))]
        }
        None => Vec::new(),
    }
}

/// The client of an HTTP sink's `<section>.url`, with `suffix` appended to the URL's path.
pub(crate) fn http_client(
    section: &str,
    url: &str,
    suffix: &str,
    ca_file: &Option<PathBuf>,
) -> Result<Client, String> {
    let endpoint =
        Endpoint::parse(url, suffix).map_err(|e| format!("{section}.url {url:?}: {e}"))?;
    Client::new(endpoint, ca_file.as_deref()).map_err(|e| format!("{section}.caFile: {e}"))
}

/// The NDJSON encoding of the stream sinks (stdout, file): the envelope and a newline.
pub(crate) fn ndjson(delivery: Delivery) -> Encoded {
    let mut line = envelope(&delivery).to_string().into_bytes();
    line.push(b'\n');
    Encoded {
        delivery,
        payload: Bytes::from(line),
        key: String::new(),
    }
}

/// The payloads of a batch, back to back.
pub(crate) fn joined(batch: &[Encoded]) -> Vec<u8> {
    let mut data = Vec::with_capacity(batch.iter().map(|i| i.payload.len()).sum());
    for item in batch {
        data.extend_from_slice(&item.payload);
    }
    data
}

#[cfg(test)]
mod tests {
    #[test]
    fn basic_auth_header_is_standard_base64() {
        let header = super::basic_auth(&Some("elastic".into()), &Some("changeme".into()));
        assert_eq!(header[0].1, "Basic ZWxhc3RpYzpjaGFuZ2VtZQ==");
        assert!(super::basic_auth(&None, &None).is_empty());
    }
}
