//! The syslog sink: `config` holds its settings and builds the sink from them, `sink` sends.

mod config;
mod sink;

pub use config::{SyslogConfig, SyslogConfigError, TlsConfig};
pub use sink::Syslog;
