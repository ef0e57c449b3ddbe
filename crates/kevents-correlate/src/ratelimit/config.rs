//! The EventRateLimit admission plugin's configuration file, in its own shape:
//!
//! ```yaml
//! kind: Configuration
//! apiVersion: eventratelimit.admission.k8s.io/v1alpha1
//! limits:
//! - type: Namespace
//!   qps: 50
//!   burst: 100
//!   cacheSize: 2000
//! - type: User
//!   qps: 10
//!   burst: 50
//! ```

use serde::Deserialize;
use std::fmt;

/// The only `apiVersion` accepted.
pub const API_VERSION: &str = "eventratelimit.admission.k8s.io/v1alpha1";
/// The only `kind` accepted.
pub const KIND: &str = "Configuration";
/// Buckets kept per limit when `cacheSize` is 0 or unset (the plugin's default).
pub const DEFAULT_CACHE_SIZE: usize = 4096;

/// What a limit's buckets are per.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Deserialize)]
pub enum LimitType {
    /// One bucket for every event request the server receives.
    Server,
    /// One bucket per namespace.
    Namespace,
    /// One bucket per user.
    User,
    /// One bucket per source (component, host) and involved object.
    SourceAndObject,
}

impl LimitType {
    /// Every type, in the order of [`LimitType::index`].
    pub const ALL: [LimitType; 4] = [
        LimitType::Server,
        LimitType::Namespace,
        LimitType::User,
        LimitType::SourceAndObject,
    ];

    /// Position in [`LimitType::ALL`], for per-type counters.
    pub fn index(self) -> usize {
        self as usize
    }

    /// The name used in the configuration and in messages.
    pub fn as_str(self) -> &'static str {
        match self {
            LimitType::Server => "Server",
            LimitType::Namespace => "Namespace",
            LimitType::User => "User",
            LimitType::SourceAndObject => "SourceAndObject",
        }
    }
}

impl fmt::Display for LimitType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One limit: a token bucket per key of its type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Limit {
    /// What the buckets are per.
    #[serde(rename = "type")]
    pub limit_type: LimitType,
    /// Tokens added per second to each bucket; must be positive.
    pub qps: i32,
    /// Size of each bucket (and its content when new); must be positive.
    pub burst: i32,
    /// Buckets kept (least recently used dropped, which resets them); 0 means 4096. Ignored
    /// for `Server`.
    #[serde(default)]
    pub cache_size: i32,
}

/// The whole configuration.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RateLimitConfig {
    /// Must be `Configuration`.
    pub kind: String,
    /// Must be `eventratelimit.admission.k8s.io/v1alpha1`.
    pub api_version: String,
    /// At least one limit.
    pub limits: Vec<Limit>,
}

/// A configuration that does not parse or is invalid; the message names the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RateLimitConfigError {
    /// Not YAML of the expected shape (unknown or missing field, wrong type, unknown limit type).
    #[error("event rate limit configuration: {0}")]
    Parse(String),
    /// Parsed, but values are out of range; every problem is listed.
    #[error("event rate limit configuration: {}", .0.join(", "))]
    Invalid(Vec<String>),
}

impl RateLimitConfig {
    /// Parses and validates the YAML (or JSON) text of a configuration file.
    pub fn from_yaml(text: &str) -> Result<RateLimitConfig, RateLimitConfigError> {
        let config: RateLimitConfig = serde_saphyr::from_str(text).map_err(|e| {
            let message = e.to_string();
            RateLimitConfigError::Parse(
                message.lines().next().unwrap_or("invalid YAML").to_string(),
            )
        })?;
        config.validate()?;
        Ok(config)
    }

    /// Checks what the plugin's validation checks, with its wording.
    pub fn validate(&self) -> Result<(), RateLimitConfigError> {
        let mut problems = Vec::new();
        if self.kind != KIND {
            problems.push(format!(
                "kind: Unsupported value: {:?}: supported values: \"{KIND}\"",
                self.kind
            ));
        }
        if self.api_version != API_VERSION {
            problems.push(format!(
                "apiVersion: Unsupported value: {:?}: supported values: \"{API_VERSION}\"",
                self.api_version
            ));
        }
        if self.limits.is_empty() {
            problems.push("limits: Invalid value: []: must not be empty".to_string());
        }
        for (index, limit) in self.limits.iter().enumerate() {
            if limit.burst <= 0 {
                problems.push(format!(
                    "limits[{index}].burst: Invalid value: {}: must be positive",
                    limit.burst
                ));
            }
            if limit.qps <= 0 {
                problems.push(format!(
                    "limits[{index}].qps: Invalid value: {}: must be positive",
                    limit.qps
                ));
            }
            if limit.limit_type != LimitType::Server && limit.cache_size < 0 {
                problems.push(format!(
                    "limits[{index}].cacheSize: Invalid value: {}: must not be negative",
                    limit.cache_size
                ));
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(RateLimitConfigError::Invalid(problems))
        }
    }
}

impl Limit {
    /// Buckets kept for this limit.
    pub fn buckets(&self) -> usize {
        match self.limit_type {
            LimitType::Server => 1,
            _ if self.cache_size <= 0 => DEFAULT_CACHE_SIZE,
            _ => usize::try_from(self.cache_size).unwrap_or(DEFAULT_CACHE_SIZE),
        }
    }
}
