//! The `elasticsearch:` settings and the sink they build.

use super::sink::Elasticsearch;
use crate::sinks::common::{basic_auth, duration, http_client};
use serde::Deserialize;
use std::path::PathBuf;
use std::time::Duration;

/// Elasticsearch / OpenSearch `_bulk`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ElasticsearchConfig {
    /// Base URL, e.g. `http://127.0.0.1:9200` or `https://es.example:9200`.
    pub url: String,
    /// For `https://`: CA certificates (PEM) trusted besides the system's roots.
    pub ca_file: Option<PathBuf>,
    /// Index name with `%Y`, `%m`, `%d` of the event's time (default `kevents-%Y.%m.%d`).
    pub index: Option<String>,
    /// Install an index template on start (default true).
    pub install_template: Option<bool>,
    /// The template's name (default `kevents`).
    pub template_name: Option<String>,
    /// Basic authentication user.
    pub username: Option<String>,
    /// Basic authentication password.
    pub password: Option<String>,
    /// Request timeout (default 30s).
    pub timeout: Option<String>,
}

/// Elasticsearch settings that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ElasticsearchConfigError {
    /// The URL or the CA file (the message names which).
    #[error("{0}")]
    Client(String),
    /// The index pattern gives names Elasticsearch refuses.
    #[error("elasticsearch.index {0:?}: index names are lowercase without \\ / * ? \" < > | , # or spaces")]
    Index(String),
    /// The timeout is not a duration.
    #[error("elasticsearch.timeout: {0}")]
    Timeout(String),
}

impl ElasticsearchConfig {
    /// The sink these settings describe.
    pub fn build(&self) -> Result<Elasticsearch, ElasticsearchConfigError> {
        let client = http_client("elasticsearch", &self.url, "", &self.ca_file)
            .map_err(ElasticsearchConfigError::Client)?;
        let index = self
            .index
            .clone()
            .unwrap_or_else(|| "kevents-%Y.%m.%d".into());
        let sample = crate::layout::index_name(&index, kevents_model::Micros(0));
        if sample.is_empty()
            || sample
                .chars()
                .any(|ch| ch.is_ascii_uppercase() || "\\/*?\"<>| ,#".contains(ch))
        {
            return Err(ElasticsearchConfigError::Index(index));
        }
        let template = self
            .template_name
            .clone()
            .unwrap_or_else(|| "kevents".into());
        Ok(Elasticsearch {
            client,
            index,
            template: self.install_template.unwrap_or(true).then_some(template),
            headers: basic_auth(&self.username, &self.password),
            timeout: duration(&self.timeout, Duration::from_secs(30))
                .map_err(ElasticsearchConfigError::Timeout)?,
        })
    }
}
