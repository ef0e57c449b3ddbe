//! `serve` flags of write-time correlation: EventRateLimit, dedup and storm folding.

use anyhow::Context as _;
use clap::Args;
use kevents_api::AdmissionConfig;
use kevents_correlate::dedupe::{DedupeConfig, DedupeMode};
use kevents_correlate::fold::FoldConfig;
use kevents_correlate::ratelimit::RateLimitConfig;
use std::path::PathBuf;

/// Flags of write-time correlation.
#[derive(Args, Debug, Clone)]
pub struct CorrelationArgs {
    /// The EventRateLimit admission plugin's configuration file
    /// (`apiVersion: eventratelimit.admission.k8s.io/v1alpha1`, `kind: Configuration`): writes
    /// over a limit get `429 TooManyRequests` with `Retry-After`.
    #[arg(long, env = "KEVENTS_EVENT_RATE_LIMIT_CONFIG", value_name = "FILE")]
    event_rate_limit_config: Option<PathBuf>,
    /// Server-side dedup of creates: `identical` counts a repeat of a recent identical event on
    /// it (client-go's dedup key); `similar` also combines similar events (client-go's
    /// aggregation: 10 in 10 minutes).
    #[arg(long, env = "KEVENTS_DEDUPE", default_value = "off", value_parser = parse_dedupe)]
    dedupe: DedupeMode,
    /// Fold storms: past `--storm-fold-threshold` occurrences of one series in a minute, its new
    /// events are counted in one aggregate record per series and minute.
    #[arg(long, env = "KEVENTS_STORM_FOLDING")]
    storm_folding: bool,
    /// Occurrences of one series per minute stored as their own events before folding starts.
    #[arg(long, env = "KEVENTS_STORM_FOLD_THRESHOLD", default_value_t = 100, value_parser = clap::value_parser!(u64).range(1..))]
    storm_fold_threshold: u64,
}

fn parse_dedupe(text: &str) -> Result<DedupeMode, String> {
    text.parse()
        .map_err(|e: kevents_correlate::dedupe::DedupeModeError| e.to_string())
}

impl CorrelationArgs {
    /// The admission settings these flags ask for.
    pub fn config(&self) -> anyhow::Result<AdmissionConfig> {
        let rate_limit = match &self.event_rate_limit_config {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("reading {}", path.display()))?;
                let config = RateLimitConfig::from_yaml(&text).with_context(|| {
                    format!("{}: invalid EventRateLimit configuration", path.display())
                })?;
                Some(config)
            }
            None => None,
        };
        Ok(AdmissionConfig {
            rate_limit,
            dedupe: DedupeConfig {
                mode: self.dedupe,
                ..DedupeConfig::default()
            },
            fold: self.storm_folding.then(|| FoldConfig {
                threshold_per_minute: self.storm_fold_threshold,
                ..FoldConfig::default()
            }),
        })
    }
}
