//! Tuning of the collector loop.

use crate::BatchLimits;
use std::time::Duration;

/// Tuning of the collector loop.
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    /// Batch size limits.
    pub limits: BatchLimits,
    /// How long a batch may wait for more events before it is sent.
    pub linger: Duration,
    /// Observations queued between the watcher and the sender (the memory bound).
    pub queue: usize,
    /// Send an empty batch this long after the last one, so the hub sees the collector alive.
    pub heartbeat: Duration,
    /// First retry delay for a batch the hub did not take.
    pub retry_initial: Duration,
    /// Longest retry delay.
    pub retry_cap: Duration,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            limits: BatchLimits::default(),
            linger: Duration::from_millis(200),
            queue: 500,
            heartbeat: Duration::from_secs(10),
            retry_initial: Duration::from_millis(200),
            retry_cap: Duration::from_secs(30),
        }
    }
}
