//! Delivery of alerts to Alertmanagers and webhooks. One task per sink turns the engine's views
//! into requests, retries failed ones with backoff and remembers what a webhook was told, so a
//! restart does not notify it again.
//!
//! - Alertmanager (`POST <base>/api/v2/alerts`): new and changed alerts, each resolve once, and
//!   every firing alert again each `resend_interval`, all pending alerts in one request.
//! - Webhook (`POST <url>` with `{"alerts":[...],"status":"firing"|"resolved"}`): once when an
//!   alert starts firing and once when it resolves.

mod alertmanager;
mod kind;
mod outbox;
mod sink;
mod state;
pub mod webhook;

#[cfg(test)]
mod outbox_tests;
#[cfg(test)]
mod tests;

pub use kind::SinkKind;

use crate::Alert;
use kevents_http::{CaFileError, Client, Endpoint, UrlError};
use outbox::Outbox;
use sink::{Backoff, Counters, Format, Inbox, Receiver, Sink, RESPONSE_BODY_LIMIT};
use state::StateFile;
use std::fmt;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

/// An Alertmanager receiver.
#[derive(Clone, Debug)]
pub struct AlertmanagerConfig {
    /// Base URL, e.g. `http://127.0.0.1:9093` or `https://am.example`.
    pub url: String,
    /// For `https://`: CA certificates (PEM) trusted besides the system's roots.
    pub ca_file: Option<PathBuf>,
}

/// A webhook receiver.
#[derive(Clone)]
pub struct WebhookConfig {
    /// Where notifications are POSTed (`http://` or `https://`).
    pub url: String,
    /// When set, each request carries `X-Kevents-Signature: sha256=<hex HMAC-SHA256(secret, body)>`.
    pub hmac_secret: Option<String>,
    /// For `https://`: CA certificates (PEM) trusted besides the system's roots.
    pub ca_file: Option<PathBuf>,
}

impl fmt::Debug for WebhookConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebhookConfig")
            .field("url", &self.url)
            .field(
                "hmac_secret",
                &self.hmac_secret.as_ref().map(|_| "<redacted>"),
            )
            .field("ca_file", &self.ca_file)
            .finish()
    }
}

/// Where alerts go and how hard delivery tries.
#[derive(Clone, Debug)]
pub struct DeliveryConfig {
    /// Alertmanager receivers.
    pub alertmanagers: Vec<AlertmanagerConfig>,
    /// Webhook receivers.
    pub webhooks: Vec<WebhookConfig>,
    /// How often firing alerts are sent to Alertmanager again, which expires alerts that are
    /// not re-sent. Default 30 s.
    pub resend_interval: Duration,
    /// How long a failed delivery is retried (exponential backoff with full jitter, 250 ms up to
    /// 10 s) before its alerts are dropped. Default 10 min.
    pub retry_window: Duration,
    /// Where to remember which alerts a webhook was notified of, so a restart does not notify
    /// them again. Default none.
    pub state_path: Option<PathBuf>,
}

impl Default for DeliveryConfig {
    fn default() -> Self {
        DeliveryConfig {
            alertmanagers: Vec::new(),
            webhooks: Vec::new(),
            resend_interval: Duration::from_secs(30),
            retry_window: Duration::from_secs(10 * 60),
            state_path: None,
        }
    }
}

/// Why delivery cannot start.
#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    /// A receiver URL is not usable (not a URL, not `http://` or `https://`, ...).
    #[error("receiver URL {url:?}: {reason}")]
    InvalidUrl {
        /// The URL as configured.
        url: String,
        /// What is wrong with it.
        reason: UrlError,
    },
    /// A receiver's CA file is not usable.
    #[error("receiver URL {url:?}: {source}")]
    CaFile {
        /// The URL as configured.
        url: String,
        /// The file and what is wrong with it.
        source: CaFileError,
    },
    /// The same receiver is configured twice.
    #[error("receiver URL {url:?} is configured twice")]
    DuplicateReceiver {
        /// The URL as configured.
        url: String,
    },
    /// `resend_interval` is zero.
    #[error("resend_interval must be greater than zero")]
    ZeroResendInterval,
    /// The state file exists but cannot be read.
    #[error("state file {}: {source}", path.display())]
    State {
        /// The configured `state_path`.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// `Dispatcher::start` was called outside a tokio runtime.
    #[error("alert delivery must be started from within a tokio runtime")]
    NoRuntime,
}

/// One receiver's delivery counters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SinkStats {
    /// Alertmanager or webhook.
    pub kind: SinkKind,
    /// The receiver's URL as configured.
    pub url: String,
    /// Requests the receiver accepted.
    pub sent_batches: u64,
    /// Requests that failed: no response, or a 4xx/5xx status.
    pub failed_attempts: u64,
    /// Alerts given up on because the retry window ran out (or delivery stopped with resolved
    /// alerts still unsent).
    pub dropped_alerts: u64,
    /// Alerts given up on because the receiver refused them (4xx other than 429).
    pub rejected_alerts: u64,
}

/// Hands the rule engine's alerts to the delivery tasks; cheap to clone.
#[derive(Clone)]
pub struct Dispatcher {
    sinks: Arc<[SinkHandle]>,
}

struct SinkHandle {
    kind: SinkKind,
    url: String,
    inbox: Arc<Inbox>,
    counters: Arc<Counters>,
}

impl Dispatcher {
    /// Validates the config (URLs parse) and starts one task per receiver on the current tokio
    /// runtime. The tasks stop when `shutdown` turns true (or its sender is dropped), after a
    /// final attempt of at most ~2 s to deliver pending resolved alerts; they outlive the
    /// `Dispatcher` until then.
    pub fn start(
        config: DeliveryConfig,
        shutdown: tokio::sync::watch::Receiver<bool>,
    ) -> Result<Dispatcher, DeliveryError> {
        Dispatcher::start_with_backoff(config, Backoff::DEFAULT, shutdown)
    }

    fn start_with_backoff(
        config: DeliveryConfig,
        backoff: Backoff,
        shutdown: tokio::sync::watch::Receiver<bool>,
    ) -> Result<Dispatcher, DeliveryError> {
        let runtime =
            tokio::runtime::Handle::try_current().map_err(|_| DeliveryError::NoRuntime)?;
        if config.resend_interval.is_zero() {
            return Err(DeliveryError::ZeroResendInterval);
        }
        let mut receivers = Vec::new();
        for am in &config.alertmanagers {
            receivers.push(Receiver {
                url: am.url.clone(),
                client: client(&am.url, alertmanager::endpoint(&am.url), &am.ca_file)?,
                format: Format::Alertmanager,
            });
        }
        for hook in &config.webhooks {
            receivers.push(Receiver {
                url: hook.url.clone(),
                client: client(&hook.url, webhook::endpoint(&hook.url), &hook.ca_file)?,
                format: Format::Webhook {
                    hmac_secret: hook.hmac_secret.clone(),
                },
            });
        }
        let keys: Vec<String> = receivers.iter().map(state_key).collect();
        for (index, key) in keys.iter().enumerate() {
            if keys[..index].contains(key) {
                return Err(DeliveryError::DuplicateReceiver {
                    url: receivers[index].url.clone(),
                });
            }
        }
        let state = match &config.state_path {
            Some(path) => Some(Arc::new(StateFile::load(path, &keys).map_err(
                |source| DeliveryError::State {
                    path: path.clone(),
                    source,
                },
            )?)),
            None => None,
        };

        let mut handles = Vec::new();
        for (receiver, key) in receivers.into_iter().zip(keys) {
            let kind = match receiver.format {
                Format::Alertmanager => SinkKind::Alertmanager,
                Format::Webhook { .. } => SinkKind::Webhook,
            };
            // Alertmanager needs no memory across restarts: it gets every firing alert again.
            let state = state.clone().filter(|_| kind == SinkKind::Webhook);
            let notified = state
                .as_ref()
                .map(|state| state.notified(&key))
                .unwrap_or_default();
            let handle = SinkHandle {
                kind,
                url: receiver.url.clone(),
                inbox: Arc::default(),
                counters: Arc::default(),
            };
            let sink = Sink {
                receiver,
                outbox: Outbox::new(kind, notified),
                inbox: handle.inbox.clone(),
                counters: handle.counters.clone(),
                state: state.map(|state| (state, key)),
                resend_interval: (kind == SinkKind::Alertmanager).then_some(config.resend_interval),
                retry_window: config.retry_window,
                backoff,
                shutdown: shutdown.clone(),
            };
            runtime.spawn(sink.run());
            handles.push(handle);
        }
        Ok(Dispatcher {
            sinks: handles.into(),
        })
    }

    /// Hands over the engine's current view after an evaluation: every firing alert, plus the
    /// alerts that resolved since the previous call (`ends_at` set). Never blocks; the receivers
    /// catch up asynchronously.
    pub fn update(&self, alerts: Vec<Alert>) {
        if let Some((last, others)) = self.sinks.split_last() {
            for sink in others {
                sink.inbox.push(alerts.clone());
            }
            last.inbox.push(alerts);
        }
    }

    /// Each receiver's counters, in configuration order (Alertmanagers first).
    pub fn stats(&self) -> Vec<SinkStats> {
        self.sinks
            .iter()
            .map(|sink| SinkStats {
                kind: sink.kind,
                url: sink.url.clone(),
                sent_batches: sink.counters.sent_batches.load(Ordering::Relaxed),
                failed_attempts: sink.counters.failed_attempts.load(Ordering::Relaxed),
                dropped_alerts: sink.counters.dropped_alerts.load(Ordering::Relaxed),
                rejected_alerts: sink.counters.rejected_alerts.load(Ordering::Relaxed),
            })
            .collect()
    }
}

/// The client of a receiver at `url`, whose endpoint parsing gave `endpoint`.
fn client(
    url: &str,
    endpoint: Result<Endpoint, UrlError>,
    ca_file: &Option<PathBuf>,
) -> Result<Client, DeliveryError> {
    let endpoint = endpoint.map_err(|reason| DeliveryError::InvalidUrl {
        url: url.to_string(),
        reason,
    })?;
    let client =
        Client::new(endpoint, ca_file.as_deref()).map_err(|source| DeliveryError::CaFile {
            url: url.to_string(),
            source,
        })?;
    Ok(client.with_body_limit(RESPONSE_BODY_LIMIT))
}

/// A receiver's identity in the state file and in duplicate checks.
fn state_key(receiver: &Receiver) -> String {
    match receiver.format {
        Format::Alertmanager => format!("alertmanager:{}", receiver.url),
        Format::Webhook { .. } => format!("webhook:{}", receiver.url),
    }
}
