//! Exponential backoff with jitter for retrying a batch while the hub is unreachable.

use rand::Rng;
use std::time::Duration;

/// Delays between attempts: doubling from `initial` up to `cap`, each drawn from the upper half
/// of its window so that collectors restarted together do not retry in lockstep.
#[derive(Debug, Clone)]
pub struct Backoff {
    initial: Duration,
    cap: Duration,
    failures: u32,
}

impl Backoff {
    /// A backoff whose first delay is about `initial` and whose delays never exceed `cap`.
    pub fn new(initial: Duration, cap: Duration) -> Backoff {
        Backoff {
            initial,
            cap: cap.max(initial),
            failures: 0,
        }
    }

    /// The delay before the next attempt, after one more failure.
    pub fn next_delay(&mut self, rng: &mut impl Rng) -> Duration {
        // 2^20 times any sensible initial delay is far past any cap; stop doubling there.
        let exponent = self.failures.min(20);
        self.failures = self.failures.saturating_add(1);
        let window = self
            .initial
            .saturating_mul(1u32 << exponent)
            .min(self.cap)
            .as_secs_f64();
        Duration::from_secs_f64(window / 2.0 + rng.random_range(0.0..=window / 2.0))
    }

    /// Failures since the last success.
    pub fn failures(&self) -> u32 {
        self.failures
    }

    /// Starts over after a success.
    pub fn reset(&mut self) {
        self.failures = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::SeedableRng;

    #[test]
    fn delays_double_within_jittered_windows_up_to_the_cap() {
        let mut rng = StdRng::seed_from_u64(7);
        let mut backoff = Backoff::new(Duration::from_millis(100), Duration::from_secs(30));
        let mut windows = Vec::new();
        for _ in 0..15 {
            windows.push(backoff.next_delay(&mut rng));
        }
        let expected_window = |i: u32| (0.1 * 2f64.powi(i as i32)).min(30.0);
        for (i, delay) in windows.iter().enumerate() {
            let window = expected_window(i as u32);
            let seconds = delay.as_secs_f64();
            assert!(
                seconds >= window / 2.0 - 1e-9 && seconds <= window + 1e-9,
                "attempt {i}: {seconds}s outside [{}, {window}]",
                window / 2.0
            );
        }
        assert!(windows.iter().all(|d| *d <= Duration::from_secs(30)));
        assert!(
            windows[14] >= Duration::from_secs(15),
            "capped window is 30 s"
        );
        assert_eq!(backoff.failures(), 15);
    }

    #[test]
    fn jitter_spreads_collectors_that_fail_together() {
        let mut first = Backoff::new(Duration::from_secs(1), Duration::from_secs(30));
        let mut second = first.clone();
        let mut rng_a = StdRng::seed_from_u64(1);
        let mut rng_b = StdRng::seed_from_u64(2);
        let a: Vec<_> = (0..6).map(|_| first.next_delay(&mut rng_a)).collect();
        let b: Vec<_> = (0..6).map(|_| second.next_delay(&mut rng_b)).collect();
        assert_ne!(a, b);
    }

    #[test]
    fn reset_starts_from_the_initial_delay_again() {
        let mut rng = StdRng::seed_from_u64(3);
        let mut backoff = Backoff::new(Duration::from_millis(200), Duration::from_secs(30));
        for _ in 0..10 {
            backoff.next_delay(&mut rng);
        }
        backoff.reset();
        assert_eq!(backoff.failures(), 0);
        assert!(backoff.next_delay(&mut rng) <= Duration::from_millis(200));
    }

    #[test]
    fn many_failures_do_not_overflow() {
        let mut rng = StdRng::seed_from_u64(4);
        let mut backoff = Backoff::new(Duration::from_secs(5), Duration::from_secs(30));
        for _ in 0..1000 {
            assert!(backoff.next_delay(&mut rng) <= Duration::from_secs(30));
        }
    }
}
