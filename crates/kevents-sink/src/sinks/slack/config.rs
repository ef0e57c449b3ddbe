//! The `slack:` settings and the sink they build.

use super::sink::{Slack, DEFAULT_SLACK_TEXT};
use crate::sinks::common::{duration, http_client};
use crate::template;
use serde::Deserialize;
use std::path::PathBuf;
use std::time::Duration;

/// Slack-compatible incoming webhook.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SlackConfig {
    /// The incoming webhook URL (`https://hooks.slack.com/...`, or `http://`).
    pub url: String,
    /// For `https://`: CA certificates (PEM) trusted besides the system's roots.
    pub ca_file: Option<PathBuf>,
    /// The line per event, with `{{ field }}` placeholders (see docs/sinks.md).
    pub text: Option<String>,
    /// Request timeout (default 10s).
    pub timeout: Option<String>,
}

/// Slack settings that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum SlackConfigError {
    /// The URL or the CA file (the message names which).
    #[error("{0}")]
    Client(String),
    /// The line template does not parse.
    #[error("slack.text: {0}")]
    Text(String),
    /// The timeout is not a duration.
    #[error("slack.timeout: {0}")]
    Timeout(String),
}

impl SlackConfig {
    /// The sink these settings describe.
    pub fn build(&self) -> Result<Slack, SlackConfigError> {
        let text = self.text.as_deref().unwrap_or(DEFAULT_SLACK_TEXT);
        Ok(Slack {
            client: http_client("slack", &self.url, "", &self.ca_file)
                .map_err(SlackConfigError::Client)?,
            text: template::parse(text).map_err(|e| SlackConfigError::Text(e.to_string()))?,
            timeout: duration(&self.timeout, Duration::from_secs(10))
                .map_err(SlackConfigError::Timeout)?,
        })
    }
}
