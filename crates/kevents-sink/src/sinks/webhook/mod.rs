//! The webhook sink: `config` holds its settings and builds the sink from them, `sink` sends.

mod config;
mod sink;

pub use config::{WebhookConfig, WebhookConfigError};
pub use sink::Webhook;
