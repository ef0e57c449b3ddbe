//! Sending one batch until every event in it is delivered or dead-lettered: retries with
//! backoff for what may pass, the dead-letter file for what will not.

use crate::delivery::{Encoded, Sink, Verdict};
use crate::files::RotatingFile;
use crate::layout::envelope;
use crate::metrics::SinkCounters;
use crate::progress::Backoff;
use kevents_model::Micros;
use std::sync::Arc;

/// The dead-letter file: one JSON line per permanently rejected event, with the sink's error.
pub struct DeadLetter {
    sink: String,
    file: parking_lot::Mutex<RotatingFile>,
}

impl DeadLetter {
    /// A dead-letter file for `sink` at `file`.
    pub fn new(sink: &str, file: RotatingFile) -> DeadLetter {
        DeadLetter {
            sink: sink.to_string(),
            file: parking_lot::Mutex::new(file),
        }
    }

    /// Appends a record for `item`; the error says why the sink refused it.
    pub fn write(&self, item: &Encoded, error: &str) -> std::io::Result<()> {
        let record = serde_json::json!({
            "at": Micros::now().to_micro_time_string(),
            "sink": self.sink,
            "id": item.delivery.id,
            "resourceVersion": item.delivery.event.record.resource_version.to_string(),
            "error": error,
            "payload": String::from_utf8_lossy(&item.payload),
            "envelope": envelope(&item.delivery),
        });
        let mut line = record.to_string().into_bytes();
        line.push(b'\n');
        self.file.lock().append(&line)
    }
}

/// What a batch worker needs, shared by all batches of a sink.
pub struct Worker {
    /// The sink's name, for logs.
    pub name: String,
    /// The destination.
    pub sink: Arc<dyn Sink>,
    /// Metrics.
    pub counters: SinkCounters,
    /// The dead-letter file.
    pub dead_letter: DeadLetter,
    /// Backoff between attempts.
    pub backoff: Backoff,
    /// Attempts before giving up on an event (0: never give up).
    pub max_attempts: u32,
}

impl Worker {
    fn reject(&self, item: &Encoded, error: &str) {
        self.counters.dead_lettered.inc();
        if let Err(e) = self.dead_letter.write(item, error) {
            tracing::error!(sink = %self.name, id = %item.delivery.id, error = %e,
                rejection = %error, "writing the dead-letter file failed; the event is dropped");
        }
    }

    /// Sends `items` until none is left to retry; returns the feed positions they settle.
    pub async fn deliver(self: Arc<Self>, mut items: Vec<Encoded>) -> Vec<u64> {
        let positions = items.iter().map(|i| i.delivery.position).collect();
        let mut attempt = 0u32;
        while !items.is_empty() {
            attempt += 1;
            let verdicts = self.sink.send(&items).await;
            let missing = Verdict::Retry("the sink gave no answer for this event".into());
            let mut retry = Vec::new();
            let mut last_error = String::new();
            let verdicts = verdicts.into_iter().chain(std::iter::repeat(missing));
            for (item, verdict) in items.into_iter().zip(verdicts) {
                match verdict {
                    Verdict::Delivered => {
                        self.counters.sent.inc();
                    }
                    Verdict::Reject(reason) => {
                        self.counters.failed.inc();
                        self.reject(&item, &reason);
                    }
                    Verdict::Retry(reason) => {
                        self.counters.failed.inc();
                        last_error = reason;
                        retry.push(item);
                    }
                }
            }
            if retry.is_empty() {
                break;
            }
            if self.max_attempts > 0 && attempt >= self.max_attempts {
                let reason = format!("gave up after {attempt} attempts: {last_error}");
                for item in &retry {
                    self.reject(item, &reason);
                }
                break;
            }
            let delay = self.backoff.delay(attempt);
            tracing::warn!(sink = %self.name, attempt, events = retry.len(), error = %last_error,
                retry_in_ms = delay.as_millis() as u64, "delivery failed; retrying");
            self.counters.retried.inc_by(retry.len() as u64);
            tokio::time::sleep(delay).await;
            items = retry;
        }
        positions
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::delivery::tests::delivery;
    use crate::delivery::{BoxFuture, Delivery};
    use std::time::Duration;

    /// Answers each attempt with the next scripted verdicts.
    struct Scripted(parking_lot::Mutex<Vec<Vec<Verdict>>>);

    impl Sink for Scripted {
        fn encode(&self, delivery: Delivery) -> Result<Encoded, (Delivery, String)> {
            Ok(Encoded {
                delivery,
                payload: bytes::Bytes::from_static(b"x"),
                key: String::new(),
            })
        }
        fn send<'a>(&'a self, _batch: &'a [Encoded]) -> BoxFuture<'a, Vec<Verdict>> {
            let answer = self.0.lock().remove(0);
            Box::pin(async move { answer })
        }
    }

    fn worker(script: Vec<Vec<Verdict>>, max_attempts: u32, dir: &std::path::Path) -> Arc<Worker> {
        Arc::new(Worker {
            name: "t".into(),
            sink: Arc::new(Scripted(parking_lot::Mutex::new(script))),
            counters: SinkCounters::default(),
            dead_letter: DeadLetter::new("t", RotatingFile::new(dir.join("dl.ndjson"), 1 << 20, 1)),
            backoff: Backoff {
                initial: Duration::from_millis(1),
                max: Duration::from_millis(2),
            },
            max_attempts,
        })
    }

    fn batch(worker: &Worker, n: u64) -> Vec<Encoded> {
        (1..=n)
            .map(|rv| worker.sink.encode(delivery(rv, 1)).unwrap())
            .collect()
    }

    #[tokio::test]
    async fn only_retryable_events_are_resent_and_rejections_are_dead_lettered() {
        let dir = tempfile::tempdir().unwrap();
        let retry = || Verdict::Retry("429".into());
        let w = worker(
            vec![
                vec![
                    Verdict::Delivered,
                    retry(),
                    Verdict::Reject("bad field".into()),
                ],
                vec![retry()],
                vec![Verdict::Delivered],
            ],
            0,
            dir.path(),
        );
        let positions = w.clone().deliver(batch(&w, 3)).await;
        assert_eq!(positions, [1, 2, 3]);
        assert_eq!(w.counters.sent.get(), 2);
        assert_eq!(w.counters.retried.get(), 2);
        assert_eq!(w.counters.failed.get(), 3);
        assert_eq!(w.counters.dead_lettered.get(), 1);
        let text = std::fs::read_to_string(dir.path().join("dl.ndjson")).unwrap();
        let record: serde_json::Value = serde_json::from_str(text.trim()).unwrap();
        assert_eq!(record["id"], "prod-eu/u-1/3");
        assert_eq!(record["error"], "bad field");
        assert_eq!(record["envelope"]["event"]["reason"], "BackOff");
    }

    #[tokio::test]
    async fn max_attempts_dead_letters_what_keeps_failing() {
        let dir = tempfile::tempdir().unwrap();
        let down = || vec![Verdict::Retry("connection refused".into()); 2];
        let w = worker(vec![down(), down()], 2, dir.path());
        w.clone().deliver(batch(&w, 2)).await;
        assert_eq!(w.counters.dead_lettered.get(), 2);
        let text = std::fs::read_to_string(dir.path().join("dl.ndjson")).unwrap();
        assert!(
            text.contains("gave up after 2 attempts: connection refused"),
            "{text}"
        );
    }
}
