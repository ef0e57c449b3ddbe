//! Spam control with the semantics of the apiserver's EventRateLimit admission plugin: each
//! configured limit keeps token buckets per key (one for `Server`; per namespace, user, or
//! source and object otherwise, in an LRU cache of `cacheSize`), every event create or update
//! takes a token from the bucket of each limit, and the request is refused if any bucket was
//! empty, with a `Retry-After` of the time until those buckets have a token again.
//!
//! As in the plugin, every limit is charged even when another refuses the request.

mod bucket;
mod config;
#[cfg(test)]
mod tests;

pub use bucket::TokenBucket;
pub use config::{
    Limit, LimitType, RateLimitConfig, RateLimitConfigError, API_VERSION, DEFAULT_CACHE_SIZE, KIND,
};

use crate::key::KeyBuffer;
use hashlink::LruCache;
use kevents_model::EventRecord;
use std::fmt;
use std::time::Instant;

/// Who sends an event write, and the event.
#[derive(Clone, Copy, Debug)]
pub struct RateLimitRequest<'a> {
    /// The cluster of the event; empty for the hub's own (part of the Namespace and
    /// SourceAndObject keys, so namespaces of different clusters are limited apart).
    pub cluster: &'a str,
    /// The request's namespace.
    pub namespace: &'a str,
    /// The authenticated user's name; empty when anonymous.
    pub user: &'a str,
    /// The event written.
    pub event: &'a EventRecord,
}

/// A refused request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RateLimited {
    /// The (last) limit that refused it.
    pub limit_type: LimitType,
    /// Its key, readable: the namespace, the user, or `component/host/kind/namespace/name`.
    pub key: String,
    /// Whole seconds until every refusing bucket has a token again (at least 1), for
    /// `Retry-After`.
    pub retry_after_seconds: u64,
}

impl fmt::Display for RateLimited {
    /// The plugin's wording (after the apiserver's `Too many requests: ` prefix).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "limit reached on type {} for key {}",
            self.limit_type, self.key
        )
    }
}

/// Requests checked and refused per limit type, for metrics.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RateLimitStats {
    /// Requests checked.
    pub checked: u64,
    /// Requests refused.
    pub refused: u64,
    /// Refusals per limit type, indexed by [`LimitType::index`] (a request refused by two
    /// limits counts for both).
    pub refused_by: [u64; 4],
}

struct Enforcer {
    limit: Limit,
    server: Option<TokenBucket>,
    buckets: LruCache<u64, TokenBucket>,
}

/// Checks event writes against the configured limits. One writer: wrap it in a lock.
pub struct RateLimiter {
    enforcers: Vec<Enforcer>,
    buffer: KeyBuffer,
    stats: RateLimitStats,
}

impl fmt::Debug for RateLimiter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let limits: Vec<&Limit> = self.enforcers.iter().map(|e| &e.limit).collect();
        f.debug_struct("RateLimiter")
            .field("limits", &limits)
            .field("stats", &self.stats)
            .finish()
    }
}

impl RateLimiter {
    /// A limiter for a validated configuration (see [`RateLimitConfig::from_yaml`]).
    pub fn new(config: &RateLimitConfig) -> RateLimiter {
        let enforcers = config
            .limits
            .iter()
            .map(|limit| Enforcer {
                limit: *limit,
                server: None,
                buckets: LruCache::new(limit.buckets()),
            })
            .collect();
        RateLimiter {
            enforcers,
            buffer: KeyBuffer::default(),
            stats: RateLimitStats::default(),
        }
    }

    /// Charges `request` to every limit at `now` (a monotonic clock reading); `Err` when any
    /// limit refuses it.
    pub fn check(
        &mut self,
        request: &RateLimitRequest<'_>,
        now: Instant,
    ) -> Result<(), RateLimited> {
        self.stats.checked += 1;
        let mut refused: Option<RateLimited> = None;
        for enforcer in &mut self.enforcers {
            let limit = enforcer.limit;
            let new_bucket =
                || TokenBucket::full(f64::from(limit.qps), limit.burst.unsigned_abs(), now);
            let bucket = if limit.limit_type == LimitType::Server {
                enforcer.server.get_or_insert_with(new_bucket)
            } else {
                let key = bucket_key(&mut self.buffer, limit.limit_type, request);
                if !enforcer.buckets.contains_key(&key) {
                    enforcer.buckets.insert(key, new_bucket());
                }
                enforcer
                    .buckets
                    .get_mut(&key)
                    .expect("inserted above when missing")
            };
            if let Err(wait) = bucket.try_take(now) {
                self.stats.refused_by[limit.limit_type.index()] += 1;
                let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
                let retry_after_seconds = seconds
                    .max(1)
                    .max(refused.as_ref().map_or(0, |r| r.retry_after_seconds));
                refused = Some(RateLimited {
                    limit_type: limit.limit_type,
                    key: readable_key(limit.limit_type, request),
                    retry_after_seconds,
                });
            }
        }
        match refused {
            None => Ok(()),
            Some(refused) => {
                self.stats.refused += 1;
                Err(refused)
            }
        }
    }

    /// Counters of checks and refusals.
    pub fn stats(&self) -> RateLimitStats {
        self.stats
    }
}

fn bucket_key(
    buffer: &mut KeyBuffer,
    limit_type: LimitType,
    request: &RateLimitRequest<'_>,
) -> u64 {
    let buffer = buffer.start();
    match limit_type {
        LimitType::Server => buffer,
        LimitType::Namespace => buffer.field(request.cluster).field(request.namespace),
        LimitType::User => buffer.field(request.user),
        LimitType::SourceAndObject => {
            let event = request.event;
            let object = &event.involved_object;
            buffer
                .field(request.cluster)
                .field(&event.source_component)
                .field(&event.source_host)
                .field(&object.kind)
                .field(&object.namespace)
                .field(&object.name)
                .field(&object.uid)
                .field(&object.api_version)
        }
    }
    .hash64()
}

fn readable_key(limit_type: LimitType, request: &RateLimitRequest<'_>) -> String {
    let prefix = |cluster: &str| {
        if cluster.is_empty() {
            String::new()
        } else {
            format!("{cluster}/")
        }
    };
    match limit_type {
        LimitType::Server => String::new(),
        LimitType::Namespace => format!("{}{}", prefix(request.cluster), request.namespace),
        LimitType::User => request.user.to_string(),
        LimitType::SourceAndObject => {
            let event = request.event;
            let object = &event.involved_object;
            format!(
                "{}{}/{}/{}/{}/{}",
                prefix(request.cluster),
                event.source_component,
                event.source_host,
                object.kind,
                object.namespace,
                object.name
            )
        }
    }
}
