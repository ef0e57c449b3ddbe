//! A token bucket with the semantics of `golang.org/x/time/rate` as client-go's
//! `flowcontrol.NewTokenBucketRateLimiter` uses it: it starts full with `burst` tokens, refills
//! continuously at `qps` up to `burst`, and a request takes one token or is refused.

use std::time::{Duration, Instant};

/// One bucket.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TokenBucket {
    tokens: f64,
    last: Instant,
    qps: f64,
    burst: f64,
}

impl TokenBucket {
    /// A full bucket refilling at `qps` tokens per second, holding at most `burst`.
    pub fn full(qps: f64, burst: u32, now: Instant) -> TokenBucket {
        TokenBucket {
            tokens: f64::from(burst),
            last: now,
            qps,
            burst: f64::from(burst),
        }
    }

    /// Takes a token at `now`, or says how long until one is available.
    pub fn try_take(&mut self, now: Instant) -> Result<(), Duration> {
        self.refill(now);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            return Ok(());
        }
        let missing = 1.0 - self.tokens;
        Err(Duration::from_secs_f64(missing / self.qps))
    }

    /// Tokens available at `now`.
    pub fn available(&mut self, now: Instant) -> f64 {
        self.refill(now);
        self.tokens
    }

    fn refill(&mut self, now: Instant) {
        // A clock reading older than the last one adds nothing (x/time/rate does the same).
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.qps).min(self.burst);
        self.last = self.last.max(now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_full_bucket_allows_burst_then_refills_at_qps() {
        let start = Instant::now();
        let mut bucket = TokenBucket::full(2.0, 3, start);
        for _ in 0..3 {
            assert_eq!(bucket.try_take(start), Ok(()));
        }
        let wait = bucket.try_take(start).expect_err("empty");
        assert_eq!(wait, Duration::from_millis(500), "one token takes 1/qps");
        assert!(bucket.try_take(start + Duration::from_millis(499)).is_err());
        assert_eq!(bucket.try_take(start + Duration::from_millis(500)), Ok(()));
        let later = start + Duration::from_secs(60);
        assert_eq!(bucket.available(later), 3.0, "never more than burst");
    }

    #[test]
    fn a_clock_going_backwards_adds_nothing() {
        let start = Instant::now() + Duration::from_secs(10);
        let mut bucket = TokenBucket::full(1.0, 1, start);
        assert_eq!(bucket.try_take(start), Ok(()));
        assert!(bucket.try_take(start - Duration::from_secs(5)).is_err());
        assert!(bucket.try_take(start + Duration::from_millis(999)).is_err());
        assert_eq!(bucket.try_take(start + Duration::from_secs(1)), Ok(()));
    }

    proptest! {
        #[test]
        fn allowed_requests_never_exceed_burst_plus_refill(
            qps in 1u32..50,
            burst in 1u32..50,
            gaps_ms in proptest::collection::vec(0u64..200, 1..500),
        ) {
            let start = Instant::now();
            let mut bucket = TokenBucket::full(f64::from(qps), burst, start);
            let mut now = start;
            let mut allowed = 0u64;
            for gap in gaps_ms {
                now += Duration::from_millis(gap);
                match bucket.try_take(now) {
                    Ok(()) => allowed += 1,
                    Err(wait) => {
                        // The promised wait is exactly enough for one token.
                        let mut probe = bucket;
                        prop_assert!(probe.try_take(now + wait + Duration::from_micros(1)).is_ok());
                    }
                }
            }
            let elapsed = now.duration_since(start).as_secs_f64();
            let limit = f64::from(burst) + elapsed * f64::from(qps);
            prop_assert!(allowed as f64 <= limit + 1e-9, "{allowed} allowed, limit {limit}");
        }

        #[test]
        fn a_steady_rate_within_qps_is_always_allowed(qps in 1u32..100, burst in 1u32..10, n in 1usize..300) {
            let start = Instant::now();
            let mut bucket = TokenBucket::full(f64::from(qps), burst, start);
            // A microsecond of slack: 1/qps rounded to nanoseconds may refill a hair under 1.
            let gap = Duration::from_secs_f64(1.0 / f64::from(qps)) + Duration::from_micros(1);
            for i in 0..n {
                prop_assert!(bucket.try_take(start + gap * i as u32).is_ok(), "request {i}");
            }
        }
    }
}
