//! NDJSON envelopes on standard output; a batch is acknowledged once written.

use super::common::{joined, ndjson};
use crate::delivery::{all, BoxFuture, Delivery, Encoded, Sink, Verdict};
use serde::Deserialize;
use std::io::Write;

/// The `stdout:` settings (none).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StdoutConfig {}

/// NDJSON envelopes on standard output.
pub struct Stdout;

impl Sink for Stdout {
    fn encode(&self, delivery: Delivery) -> Result<Encoded, (Delivery, String)> {
        Ok(ndjson(delivery))
    }

    fn send<'a>(&'a self, batch: &'a [Encoded]) -> BoxFuture<'a, Vec<Verdict>> {
        Box::pin(async move {
            let data = joined(batch);
            let mut out = std::io::stdout().lock();
            match out.write_all(&data).and_then(|_| out.flush()) {
                Ok(()) => all(batch.len(), Verdict::Delivered),
                Err(e) => all(batch.len(), Verdict::Retry(format!("stdout: {e}"))),
            }
        })
    }
}
