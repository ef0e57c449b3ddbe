//! Predictive analysis of events: per-key baselines of occurrences with daily and weekly
//! seasonality, robust to bursts (median and MAD), and the anomalies found against them — a new
//! pattern, a rate spike, a rate drop of a usually regular event, the first Warning for a key
//! resource. Pure logic: the caller feeds occurrences and the time.
#![warn(missing_docs)]

pub mod anomaly;
pub mod baseline;
pub mod detector;
pub mod stats;

pub use anomaly::{Anomaly, AnomalyKind, EventLink};
pub use baseline::{Baseline, BaselineConfig, Basis, Expectation, Expected};
pub use detector::{Detector, DetectorConfig, Occurrence};
