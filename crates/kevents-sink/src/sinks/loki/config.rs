//! The `loki:` settings and the sink they build.

use super::sink::{valid_label_name, Loki, DEFAULT_LABELS, LABEL_FIELDS};
use crate::sinks::common::{duration, http_client};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

/// Loki push API.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct LokiConfig {
    /// Base URL, e.g. `http://127.0.0.1:3100` or `https://loki.example`.
    pub url: String,
    /// For `https://`: CA certificates (PEM) trusted besides the system's roots.
    pub ca_file: Option<PathBuf>,
    /// Event fields that become stream labels (default cluster, namespace, type, kind).
    pub labels: Option<Vec<String>>,
    /// Fixed stream labels (default `job: kevents`).
    pub static_labels: Option<BTreeMap<String, String>>,
    /// `X-Scope-OrgID` tenant.
    pub tenant: Option<String>,
    /// Request timeout (default 10s).
    pub timeout: Option<String>,
}

/// Loki settings that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum LokiConfigError {
    /// The URL or the CA file (the message names which).
    #[error("{0}")]
    Client(String),
    /// A label field would give unbounded streams.
    #[error("loki.labels: {0:?} is not a bounded field; use some of {fields}", fields = LABEL_FIELDS.join(", "))]
    Label(String),
    /// A static label's name is not a Prometheus label name.
    #[error("loki.staticLabels: {0:?} is not a valid label name")]
    StaticLabel(String),
    /// The timeout is not a duration.
    #[error("loki.timeout: {0}")]
    Timeout(String),
}

impl LokiConfig {
    /// The sink these settings describe.
    pub fn build(&self) -> Result<Loki, LokiConfigError> {
        let labels: Vec<String> = match &self.labels {
            Some(labels) => labels.clone(),
            None => DEFAULT_LABELS.iter().map(|s| s.to_string()).collect(),
        };
        if let Some(bad) = labels.iter().find(|l| !LABEL_FIELDS.contains(&l.as_str())) {
            return Err(LokiConfigError::Label(bad.clone()));
        }
        let static_labels = self
            .static_labels
            .clone()
            .unwrap_or_else(|| BTreeMap::from([("job".to_string(), "kevents".to_string())]));
        if let Some(bad) = static_labels.keys().find(|k| !valid_label_name(k)) {
            return Err(LokiConfigError::StaticLabel(bad.clone()));
        }
        let headers = self
            .tenant
            .iter()
            .map(|t| ("x-scope-orgid".to_string(), t.clone()));
        Ok(Loki {
            client: http_client("loki", &self.url, "/loki/api/v1/push", &self.ca_file)
                .map_err(LokiConfigError::Client)?,
            labels,
            static_labels,
            headers: headers.collect(),
            timeout: duration(&self.timeout, Duration::from_secs(10))
                .map_err(LokiConfigError::Timeout)?,
        })
    }
}
