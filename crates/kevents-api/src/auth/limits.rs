//! Per-client limits: a token bucket of requests per second, and a cap on open watches.

use parking_lot::Mutex;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

/// Requests per second per client address, with a burst.
pub struct RateLimiter {
    per_second: f64,
    burst: f64,
    buckets: Mutex<HashMap<IpAddr, (f64, Instant)>>,
}

impl RateLimiter {
    /// A limiter; `burst` requests may come at once.
    pub fn new(per_second: f64, burst: f64) -> RateLimiter {
        RateLimiter {
            per_second,
            burst: burst.max(1.0),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes a token for `client` at `now`; `Err(seconds)` says when to retry.
    pub fn take(&self, client: IpAddr, now: Instant) -> Result<(), u64> {
        let mut buckets = self.buckets.lock();
        if buckets.len() > 100_000 {
            // Forget idle clients rather than grow without bound.
            let burst = self.burst;
            let per_second = self.per_second;
            buckets.retain(|_, (tokens, at)| {
                *tokens + now.duration_since(*at).as_secs_f64() * per_second < burst
            });
        }
        let (tokens, at) = buckets.entry(client).or_insert((self.burst, now));
        *tokens =
            (*tokens + now.duration_since(*at).as_secs_f64() * self.per_second).min(self.burst);
        *at = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            Ok(())
        } else {
            Err(((1.0 - *tokens) / self.per_second).ceil().max(1.0) as u64)
        }
    }
}

/// Open watches per client address.
#[derive(Default)]
pub struct WatchCounter {
    open: Mutex<HashMap<IpAddr, Arc<AtomicUsize>>>,
}

/// Held while a watch is open; releases its slot when dropped.
pub struct WatchSlot(Arc<AtomicUsize>);

impl Drop for WatchSlot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

impl WatchCounter {
    /// A slot for one more watch from `client`, unless it already has `max`.
    pub fn acquire(&self, client: IpAddr, max: usize) -> Option<WatchSlot> {
        let counter = self.open.lock().entry(client).or_default().clone();
        let previous = counter.fetch_add(1, Ordering::AcqRel);
        if previous >= max {
            counter.fetch_sub(1, Ordering::AcqRel);
            return None;
        }
        Some(WatchSlot(counter))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn token_bucket_allows_a_burst_then_the_rate() {
        let limiter = RateLimiter::new(2.0, 3.0);
        let client: IpAddr = "127.0.0.1".parse().unwrap();
        let start = Instant::now();
        for _ in 0..3 {
            assert!(limiter.take(client, start).is_ok());
        }
        assert_eq!(limiter.take(client, start), Err(1));
        assert!(limiter
            .take(client, start + Duration::from_millis(500))
            .is_ok());
        assert!(limiter
            .take(client, start + Duration::from_millis(500))
            .is_err());
        let other: IpAddr = "127.0.0.2".parse().unwrap();
        assert!(
            limiter.take(other, start).is_ok(),
            "clients have their own buckets"
        );
    }

    #[test]
    fn watch_slots_are_capped_and_released() {
        let counter = WatchCounter::default();
        let client: IpAddr = "::1".parse().unwrap();
        let a = counter.acquire(client, 2).unwrap();
        let _b = counter.acquire(client, 2).unwrap();
        assert!(counter.acquire(client, 2).is_none());
        drop(a);
        assert!(counter.acquire(client, 2).is_some());
    }
}
