//! The `webhook:` settings and the sink they build.

use super::sink::Webhook;
use crate::sinks::common::{duration, http_client};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

/// Generic webhook.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct WebhookConfig {
    /// `http[s]://host[:port]/path`.
    pub url: String,
    /// For `https://`: CA certificates (PEM) trusted besides the system's roots.
    pub ca_file: Option<PathBuf>,
    /// Secret for the `X-Kevents-Signature: sha256=<hex>` header.
    pub hmac_secret: Option<String>,
    /// Extra request headers.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// Request timeout (default 10s).
    pub timeout: Option<String>,
}

/// Webhook settings that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum WebhookConfigError {
    /// The URL or the CA file (the message names which).
    #[error("{0}")]
    Client(String),
    /// The timeout is not a duration.
    #[error("webhook.timeout: {0}")]
    Timeout(String),
}

impl WebhookConfig {
    /// The sink these settings describe; `name` goes into every body.
    pub fn build(&self, name: &str) -> Result<Webhook, WebhookConfigError> {
        let headers = self.headers.iter().map(|(k, v)| (k.clone(), v.clone()));
        Ok(Webhook {
            name: name.to_string(),
            client: http_client("webhook", &self.url, "", &self.ca_file)
                .map_err(WebhookConfigError::Client)?,
            hmac_secret: self.hmac_secret.clone(),
            headers: headers.collect(),
            timeout: duration(&self.timeout, Duration::from_secs(10))
                .map_err(WebhookConfigError::Timeout)?,
        })
    }
}
