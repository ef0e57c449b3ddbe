//! The decision of one trigger for one matching change, without I/O: fire, wait for the
//! series count, or suppress (cooldown, rate limit, paused). Times are the store's commit
//! times, so replaying the same changes after a restart decides the same way.

use std::collections::{HashMap, VecDeque};

/// The safety settings of a trigger, in microseconds.
#[derive(Debug, Clone, PartialEq)]
pub struct Limits {
    /// A key does not fire again within this long of its last firing.
    pub cooldown: i64,
    /// At most `.0` firings per `.1` microseconds, over all keys.
    pub rate_limit: Option<(u32, i64)>,
    /// Fire only once a key's occurrences reach `.0` within `.1` microseconds.
    pub series: Option<(u64, i64)>,
}

/// Why a firing was suppressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// The key fired less than the cooldown ago.
    Cooldown,
    /// The trigger fired its rate limit's worth in the period.
    RateLimit,
    /// The kill switch is on.
    Paused,
}

/// What to do with a matching change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Fire: a new window starts at this time.
    Fire {
        /// The window's start (the change's commit time): part of the idempotency key.
        window_start: i64,
    },
    /// The series count is not reached yet.
    Wait,
    /// Suppressed; the run to count it on (the key's, else the trigger's latest), if any.
    Suppress(Reason, Option<String>),
}

/// The state of one trigger.
#[derive(Debug, Default)]
pub struct SafetyState {
    /// Per key: the last window's start and its run.
    last: HashMap<String, (i64, String)>,
    /// Start times of recent firings (within the rate limit's period).
    recent: VecDeque<i64>,
    /// The trigger's latest run.
    latest: Option<String>,
    /// Per key: occurrences within the series window, oldest first.
    windows: HashMap<String, VecDeque<(i64, u64)>>,
}

impl SafetyState {
    /// Remembers a firing (a new one, or one read back from the journal after a restart).
    pub fn fired(&mut self, key: &str, window_start: i64, run: &str) {
        let newer = self.last.get(key).is_none_or(|(at, _)| *at <= window_start);
        if newer {
            self.last
                .insert(key.to_string(), (window_start, run.to_string()));
        }
        let at = self.recent.partition_point(|t| *t <= window_start);
        self.recent.insert(at, window_start);
        if self.recent.back() == Some(&window_start) {
            self.latest = Some(run.to_string());
        }
        self.windows.remove(key);
    }

    /// Decides for a change of `key` committed at `at` that adds `occurrences`.
    pub fn decide(
        &mut self,
        limits: &Limits,
        key: &str,
        at: i64,
        occurrences: u64,
        paused: bool,
    ) -> Decision {
        if let Some((start, run)) = self.last.get(key) {
            if at >= *start && at - start < limits.cooldown {
                return Decision::Suppress(Reason::Cooldown, Some(run.clone()));
            }
        }
        if let Some((count, within)) = limits.series {
            let window = self.windows.entry(key.to_string()).or_default();
            window.push_back((at, occurrences));
            while window.front().is_some_and(|(t, _)| at - t >= within) {
                window.pop_front();
            }
            if window.iter().map(|(_, n)| n).sum::<u64>() < count {
                return Decision::Wait;
            }
        }
        if paused {
            self.windows.remove(key);
            return Decision::Suppress(Reason::Paused, self.latest.clone());
        }
        if let Some((count, per)) = limits.rate_limit {
            while self.recent.front().is_some_and(|t| at - t >= per) {
                self.recent.pop_front();
            }
            if self.recent.len() >= count as usize {
                self.windows.remove(key);
                return Decision::Suppress(Reason::RateLimit, self.latest.clone());
            }
        }
        Decision::Fire { window_start: at }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINUTE: i64 = 60_000_000;

    fn limits() -> Limits {
        Limits {
            cooldown: 10 * MINUTE,
            rate_limit: Some((2, MINUTE)),
            series: None,
        }
    }

    #[test]
    fn a_key_fires_once_per_cooldown() {
        let mut state = SafetyState::default();
        let l = limits();
        assert_eq!(
            state.decide(&l, "a", 0, 1, false),
            Decision::Fire { window_start: 0 }
        );
        state.fired("a", 0, "run-a");
        assert_eq!(
            state.decide(&l, "a", 5 * MINUTE, 1, false),
            Decision::Suppress(Reason::Cooldown, Some("run-a".into()))
        );
        assert_eq!(
            state.decide(&l, "a", 10 * MINUTE, 1, false),
            Decision::Fire {
                window_start: 10 * MINUTE
            }
        );
    }

    #[test]
    fn the_rate_limit_counts_every_key_and_frees_up_after_the_period() {
        let mut state = SafetyState::default();
        let l = limits();
        for (i, key) in ["a", "b"].iter().enumerate() {
            assert!(matches!(
                state.decide(&l, key, i as i64, 1, false),
                Decision::Fire { .. }
            ));
            state.fired(key, i as i64, &format!("run-{key}"));
        }
        assert_eq!(
            state.decide(&l, "c", 10, 1, false),
            Decision::Suppress(Reason::RateLimit, Some("run-b".into()))
        );
        assert!(matches!(
            state.decide(&l, "c", MINUTE + 1, 1, false),
            Decision::Fire { .. }
        ));
    }

    #[test]
    fn a_series_fires_when_the_count_is_reached_within_the_window() {
        let mut state = SafetyState::default();
        let l = Limits {
            series: Some((5, 10 * MINUTE)),
            ..limits()
        };
        assert_eq!(state.decide(&l, "a", 0, 2, false), Decision::Wait);
        // The first two occurrences leave the window before the count is reached.
        assert_eq!(state.decide(&l, "a", 10 * MINUTE, 2, false), Decision::Wait);
        assert_eq!(state.decide(&l, "a", 11 * MINUTE, 2, false), Decision::Wait);
        assert!(matches!(
            state.decide(&l, "a", 12 * MINUTE, 1, false),
            Decision::Fire { .. }
        ));
    }

    #[test]
    fn paused_triggers_suppress_and_a_replayed_firing_restores_the_cooldown() {
        let mut state = SafetyState::default();
        let l = limits();
        assert_eq!(
            state.decide(&l, "a", 0, 1, true),
            Decision::Suppress(Reason::Paused, None)
        );
        // After a restart the journal replays the firing: the same change is now suppressed.
        state.fired("a", 7, "run-a");
        assert_eq!(
            state.decide(&l, "a", 7, 1, false),
            Decision::Suppress(Reason::Cooldown, Some("run-a".into()))
        );
    }
}
