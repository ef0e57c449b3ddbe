//! The destinations, one module per kind (`sinks/<kind>/`): each owns its settings, the checks
//! that build its sink from them, its typed error and its encoding. Every setting is checked
//! here, at load.

pub mod archive;
mod common;
pub mod elasticsearch;
pub mod file;
pub mod loki;
pub mod nats;
pub mod slack;
pub mod stdout;
pub mod syslog;
pub mod webhook;

pub use common::duration;

use crate::config::SinkKind;
use crate::delivery::Sink;
use std::sync::Arc;

/// A sink's kind settings that cannot be used; each kind's error says which field is wrong.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// `webhook:`
    #[error(transparent)]
    Webhook(#[from] webhook::WebhookConfigError),
    /// `slack:`
    #[error(transparent)]
    Slack(#[from] slack::SlackConfigError),
    /// `elasticsearch:`
    #[error(transparent)]
    Elasticsearch(#[from] elasticsearch::ElasticsearchConfigError),
    /// `loki:`
    #[error(transparent)]
    Loki(#[from] loki::LokiConfigError),
    /// `syslog:`
    #[error(transparent)]
    Syslog(#[from] syslog::SyslogConfigError),
    /// `nats:`
    #[error(transparent)]
    Nats(#[from] nats::NatsConfigError),
    /// `archive:`
    #[error(transparent)]
    Archive(#[from] archive::ArchiveConfigError),
}

impl SinkKind {
    /// Builds the sink these settings describe; `name` is the sink's name.
    pub fn build(&self, name: &str) -> Result<Arc<dyn Sink>, BuildError> {
        Ok(match self {
            SinkKind::Webhook(c) => Arc::new(c.build(name)?),
            SinkKind::Slack(c) => Arc::new(c.build()?),
            SinkKind::Elasticsearch(c) => Arc::new(c.build()?),
            SinkKind::Loki(c) => Arc::new(c.build()?),
            SinkKind::Syslog(c) => Arc::new(c.build()?),
            SinkKind::Stdout(_) => Arc::new(stdout::Stdout),
            SinkKind::File(c) => Arc::new(c.build()),
            SinkKind::Nats(c) => Arc::new(c.build()?),
            SinkKind::Archive(c) => Arc::new(archive::build(c)?),
        })
    }
}
