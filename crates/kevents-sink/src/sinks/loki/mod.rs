//! The Loki sink: `config` holds its settings and builds the sink from them, `sink` sends.

mod config;
mod sink;

pub use config::{LokiConfig, LokiConfigError};
pub use sink::Loki;
