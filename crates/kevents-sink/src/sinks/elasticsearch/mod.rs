//! The Elasticsearch sink: `config` holds its settings and builds the sink from them, `sink` sends.

mod config;
mod sink;

pub use config::{ElasticsearchConfig, ElasticsearchConfigError};
pub use sink::Elasticsearch;
