//! The Slack sink: `config` holds its settings and builds the sink from them, `sink` sends.

mod config;
mod sink;

pub use config::{SlackConfig, SlackConfigError};
pub use sink::Slack;
