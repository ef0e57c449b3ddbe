//! The `nats:` settings and the sink they build.

use super::sink::Nats;
use crate::sinks::common::duration;
use serde::Deserialize;
use std::time::Duration;

/// NATS JetStream.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct NatsConfig {
    /// `nats://host:port` (default port 4222).
    pub url: String,
    /// Subject prefix (default `kevents`): `<prefix>.<cluster>.<namespace>.<type>`.
    pub subject_prefix: Option<String>,
    /// Create this stream over `<prefix>.>` on start when it does not exist.
    pub stream: Option<String>,
    /// Token authentication.
    pub token: Option<String>,
    /// User authentication.
    pub user: Option<String>,
    /// Password of `user`.
    pub password: Option<String>,
    /// How long to wait for a batch's publish acks (default 10s).
    pub ack_timeout: Option<String>,
}

/// NATS settings that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum NatsConfigError {
    /// Not a `nats://` URL.
    #[error("nats.url {0:?}: use nats://host[:port]")]
    Url(String),
    /// The prefix has wildcards, spaces or a trailing dot.
    #[error("nats.subjectPrefix {0:?}: needs plain subject tokens")]
    SubjectPrefix(String),
    /// The ack timeout is not a duration.
    #[error("nats.ackTimeout: {0}")]
    AckTimeout(String),
}

impl NatsConfig {
    /// The sink these settings describe; it connects on its first batch.
    pub fn build(&self) -> Result<Nats, NatsConfigError> {
        let address = self
            .url
            .strip_prefix("nats://")
            .ok_or_else(|| NatsConfigError::Url(self.url.clone()))?
            .trim_end_matches('/');
        let address = if address.contains(':') {
            address.to_string()
        } else {
            format!("{address}:4222")
        };
        let prefix = self
            .subject_prefix
            .clone()
            .unwrap_or_else(|| "kevents".into());
        if prefix.is_empty() || prefix.contains(['*', '>', ' ']) || prefix.ends_with('.') {
            return Err(NatsConfigError::SubjectPrefix(prefix));
        }
        let mut auth = serde_json::Map::new();
        for (key, value) in [
            ("auth_token", &self.token),
            ("user", &self.user),
            ("pass", &self.password),
        ] {
            if let Some(value) = value {
                auth.insert(key.into(), value.clone().into());
            }
        }
        Ok(Nats {
            address,
            prefix,
            stream: self.stream.clone(),
            auth,
            ack_timeout: duration(&self.ack_timeout, Duration::from_secs(10))
                .map_err(NatsConfigError::AckTimeout)?,
            connection: Default::default(),
            batches: Default::default(),
        })
    }
}
