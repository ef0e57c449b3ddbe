//! The NATS sink: `config` holds its settings and builds the sink from them, `sink` sends.

mod config;
mod sink;

pub use config::{NatsConfig, NatsConfigError};
pub use sink::Nats;
