//! One sink's task: takes in the engine's views, sends what its outbox says, retries failures with
//! backoff and records the outcome in its counters and the state file.

use super::outbox::{merge_views, Batch, Outbox};
use super::state::StateFile;
use super::{alertmanager, webhook};
use crate::Alert;
use bytes::Bytes;
use kevents_http::{Client, Request};
use parking_lot::Mutex;
use rand::Rng as _;
use std::ops::ControlFlow;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{watch, Notify};
use tokio::time::{Instant, Interval, MissedTickBehavior};

/// How long one request may take, from connecting to reading the response.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// How much of a response body is kept for logs.
pub(super) const RESPONSE_BODY_LIMIT: usize = 64 * 1024;

/// How long the final flush of resolved alerts may take at shutdown.
const FLUSH_TIMEOUT: Duration = Duration::from_secs(2);

/// The engine's views not yet taken in by a sink, merged so that it never blocks the engine and
/// never grows.
#[derive(Default)]
pub(super) struct Inbox {
    view: Mutex<Option<Vec<Alert>>>,
    wake: Notify,
}

impl Inbox {
    /// Hands over a view.
    pub(super) fn push(&self, view: Vec<Alert>) {
        let mut slot = self.view.lock();
        *slot = Some(match slot.take() {
            Some(older) => merge_views(older, view),
            None => view,
        });
        drop(slot);
        self.wake.notify_one();
    }

    fn take(&self) -> Option<Vec<Alert>> {
        self.view.lock().take()
    }
}

/// A sink's counters, written by its task and read by [`super::Dispatcher::stats`].
#[derive(Default)]
pub(super) struct Counters {
    pub(super) sent_batches: AtomicU64,
    pub(super) failed_attempts: AtomicU64,
    pub(super) dropped_alerts: AtomicU64,
    pub(super) rejected_alerts: AtomicU64,
}

fn add(counter: &AtomicU64, n: usize) {
    counter.fetch_add(n as u64, Ordering::Relaxed);
}

/// Exponential backoff with full jitter: the n-th wait is uniform in `0..=min(cap, base·2ⁿ⁻¹)`.
#[derive(Clone, Copy, Debug)]
pub(super) struct Backoff {
    pub(super) base: Duration,
    pub(super) cap: Duration,
}

impl Backoff {
    /// 250 ms doubling up to 10 s.
    pub(super) const DEFAULT: Backoff = Backoff {
        base: Duration::from_millis(250),
        cap: Duration::from_secs(10),
    };

    fn delay(&self, failures: u32) -> Duration {
        let doublings = failures.saturating_sub(1).min(20);
        let ceiling = self.base.saturating_mul(1 << doublings).min(self.cap);
        let nanos = u64::try_from(ceiling.as_nanos()).unwrap_or(u64::MAX);
        Duration::from_nanos(rand::rng().random_range(0..=nanos))
    }
}

/// Where and how a sink sends.
pub(super) struct Receiver {
    /// The configured URL, for logs and stats.
    pub(super) url: String,
    pub(super) client: Client,
    pub(super) format: Format,
}

/// The wire format of a sink.
pub(super) enum Format {
    Alertmanager,
    Webhook { hmac_secret: Option<String> },
}

enum Outcome {
    Delivered,
    /// The receiver refused the request (4xx other than 429): sending it again cannot help.
    Rejected(String),
    /// Worth retrying: no response, 5xx or 429.
    Failed(String),
}

impl Receiver {
    async fn attempt(&self, batch: &Batch, timeout: Duration) -> Outcome {
        let (body, headers): (Bytes, Vec<(String, String)>) = match &self.format {
            Format::Alertmanager => (alertmanager::encode(batch), Vec::new()),
            Format::Webhook { hmac_secret } => {
                let body = webhook::encode(batch);
                let headers = hmac_secret
                    .iter()
                    .map(|secret| {
                        let signature = kevents_http::signature(secret, &body);
                        (kevents_http::SIGNATURE_HEADER.to_string(), signature)
                    })
                    .collect();
                (body, headers)
            }
        };
        let request = Request::post_json(body, &headers);
        match self.client.send(request, timeout).await {
            Ok(response) if response.is_success() => Outcome::Delivered,
            Ok(response) if response.status >= 500 || response.status == 429 => {
                Outcome::Failed(format!("HTTP {}: {}", response.status, response.snippet()))
            }
            Ok(response) => {
                Outcome::Rejected(format!("HTTP {}: {}", response.status, response.snippet()))
            }
            Err(error) => Outcome::Failed(error.to_string()),
        }
    }
}

/// One sink's task state.
pub(super) struct Sink {
    pub(super) receiver: Receiver,
    pub(super) outbox: Outbox,
    pub(super) inbox: Arc<Inbox>,
    pub(super) counters: Arc<Counters>,
    /// The state file and this sink's key in it; webhooks only.
    pub(super) state: Option<(Arc<StateFile>, String)>,
    /// Alertmanager: how often firing alerts are sent again.
    pub(super) resend_interval: Option<Duration>,
    pub(super) retry_window: Duration,
    pub(super) backoff: Backoff,
    pub(super) shutdown: watch::Receiver<bool>,
}

impl Sink {
    /// Runs until shutdown, then flushes pending resolved alerts for at most [`FLUSH_TIMEOUT`].
    pub(super) async fn run(mut self) {
        let mut resend = self.resend_interval.map(|period| {
            let mut interval = tokio::time::interval_at(Instant::now() + period, period);
            interval.set_missed_tick_behavior(MissedTickBehavior::Delay);
            interval
        });
        loop {
            self.take_inbox();
            if self.outbox.has_pending() {
                if self.deliver_pending().await.is_break() {
                    break;
                }
                continue;
            }
            tokio::select! {
                _ = self.inbox.wake.notified() => {}
                _ = next_tick(&mut resend) => self.outbox.resend_firing(std::time::Instant::now()),
                _ = shutdown_requested(&mut self.shutdown) => break,
            }
        }
        self.flush_resolved().await;
    }

    fn take_inbox(&mut self) {
        if let Some(view) = self.inbox.take() {
            if self.outbox.observe(view, std::time::Instant::now()) {
                self.save_state();
            }
        }
    }

    /// Sends until nothing is pending; breaks when shutdown is requested.
    async fn deliver_pending(&mut self) -> ControlFlow<()> {
        let mut failures = 0;
        while let Some(batch) = self.outbox.next_batch(false) {
            let outcome = tokio::select! {
                outcome = self.receiver.attempt(&batch, REQUEST_TIMEOUT) => outcome,
                _ = shutdown_requested(&mut self.shutdown) => return ControlFlow::Break(()),
            };
            match outcome {
                Outcome::Delivered => {
                    failures = 0;
                    self.delivered(&batch);
                }
                Outcome::Rejected(reason) => self.rejected(&batch, &reason),
                Outcome::Failed(reason) => {
                    failures += 1;
                    self.failed(&batch, &reason, failures);
                    let dropped = self
                        .outbox
                        .expire(std::time::Instant::now(), self.retry_window);
                    self.dropped(&dropped, "the retry window ran out");
                    let wake_at = Instant::now() + self.backoff.delay(failures);
                    loop {
                        tokio::select! {
                            _ = tokio::time::sleep_until(wake_at) => break,
                            _ = self.inbox.wake.notified() => self.take_inbox(),
                            _ = shutdown_requested(&mut self.shutdown) => return ControlFlow::Break(()),
                        }
                    }
                }
            }
            self.take_inbox();
        }
        ControlFlow::Continue(())
    }

    async fn flush_resolved(&mut self) {
        self.take_inbox();
        let deadline = Instant::now() + FLUSH_TIMEOUT;
        let mut failures = 0;
        while let Some(batch) = self.outbox.next_batch(true) {
            let remaining = deadline.saturating_duration_since(Instant::now());
            if remaining.is_zero() {
                break;
            }
            match self
                .receiver
                .attempt(&batch, remaining.min(REQUEST_TIMEOUT))
                .await
            {
                Outcome::Delivered => self.delivered(&batch),
                Outcome::Rejected(reason) => self.rejected(&batch, &reason),
                Outcome::Failed(reason) => {
                    failures += 1;
                    self.failed(&batch, &reason, failures);
                    let wake_at = Instant::now() + self.backoff.delay(failures);
                    tokio::time::sleep_until(wake_at.min(deadline)).await;
                }
            }
        }
        let unsent: Vec<Alert> = self
            .outbox
            .abandon()
            .into_iter()
            .filter(Alert::is_resolved)
            .collect();
        self.dropped(&unsent, "delivery stopped before the receiver took them");
    }

    fn delivered(&mut self, batch: &Batch) {
        if self.outbox.settle(batch) {
            self.save_state();
        }
        tracing::debug!(sink = %self.receiver.url, alerts = batch.alerts.len(), "alerts delivered");
        add(&self.counters.sent_batches, 1);
    }

    fn rejected(&mut self, batch: &Batch, reason: &str) {
        tracing::error!(
            sink = %self.receiver.url,
            alerts = ?batch.fingerprints(),
            %reason,
            "the receiver rejected the alerts; not retrying"
        );
        if self.outbox.settle(batch) {
            self.save_state();
        }
        add(&self.counters.failed_attempts, 1);
        add(&self.counters.rejected_alerts, batch.alerts.len());
    }

    /// Counts a failed attempt; the first of a run of failures is a warning, the rest debug.
    fn failed(&self, batch: &Batch, reason: &str, failures: u32) {
        if failures == 1 {
            tracing::warn!(
                sink = %self.receiver.url,
                alerts = batch.alerts.len(),
                %reason,
                "alert delivery failed; retrying"
            );
        } else {
            tracing::debug!(
                sink = %self.receiver.url,
                alerts = batch.alerts.len(),
                failures,
                %reason,
                "alert delivery failed again; retrying"
            );
        }
        add(&self.counters.failed_attempts, 1);
    }

    fn dropped(&self, alerts: &[Alert], why: &str) {
        if alerts.is_empty() {
            return;
        }
        let fingerprints: Vec<String> = alerts.iter().map(Alert::fingerprint).collect();
        tracing::warn!(
            sink = %self.receiver.url,
            alerts = ?fingerprints,
            "alerts dropped: {why}"
        );
        add(&self.counters.dropped_alerts, alerts.len());
    }

    fn save_state(&self) {
        if let Some((state, key)) = &self.state {
            state.save(key, self.outbox.notified());
        }
    }
}

/// Ticks the resend interval; never, for sinks without one.
async fn next_tick(interval: &mut Option<Interval>) {
    match interval {
        Some(interval) => {
            interval.tick().await;
        }
        None => std::future::pending().await,
    }
}

/// Completes once shutdown is requested, or the sender is gone (nobody can request it anymore).
async fn shutdown_requested(shutdown: &mut watch::Receiver<bool>) {
    let _ = shutdown.wait_for(|&stop| stop).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_its_cap() {
        let backoff = Backoff {
            base: Duration::from_millis(10),
            cap: Duration::from_millis(50),
        };
        for _ in 0..100 {
            assert!(backoff.delay(1) <= Duration::from_millis(10));
            assert!(backoff.delay(3) <= Duration::from_millis(40));
            assert!(backoff.delay(40) <= Duration::from_millis(50));
        }
    }
}
