//! A stream of client operations like a cluster's recorders produce: new events, and repeats of
//! recent ones (client-go bumps `count` and `lastTimestamp` with a PATCH), heavy-tailed so a few
//! crash loops and scheduling storms repeat far more than anything else.

use crate::workload::Workload;
use kevents_model::{EventRecord, Micros};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::collections::VecDeque;

/// What a recorder does next.
#[derive(Debug, Clone)]
pub enum Operation {
    /// A new event (POST).
    Create(EventRecord),
    /// A repeat of an earlier event: the record with `count` and `lastTimestamp` bumped (PATCH).
    Repeat(EventRecord),
}

/// Recent events that may repeat; older ones stop repeating, as a recorder's cache forgets them.
const OPEN_SERIES: usize = 2_000;

/// Generates operations; the same seed gives the same stream.
pub struct Simulator {
    workload: Workload,
    rng: StdRng,
    /// Oldest first.
    open: VecDeque<EventRecord>,
    next_index: u64,
    repeat_ratio: f64,
}

impl Simulator {
    /// A simulator where about `repeat_ratio` of operations repeat an earlier event; `start`
    /// makes event names unique across runs.
    pub fn new(seed: u64, repeat_ratio: f64, start: Micros) -> Simulator {
        Simulator {
            workload: Workload::new(seed, start),
            rng: StdRng::seed_from_u64(seed ^ 0x5eed),
            open: VecDeque::new(),
            next_index: 0,
            repeat_ratio: repeat_ratio.clamp(0.0, 1.0),
        }
    }

    /// The next operation, stamped at `now`.
    pub fn next_operation(&mut self, now: Micros) -> Operation {
        let stamp = now.truncate_to_seconds();
        if !self.open.is_empty() && self.rng.random_bool(self.repeat_ratio) {
            // Square the uniform draw: the newest series repeat most (a heavy tail).
            let draw: f64 = self.rng.random();
            let index = self.open.len() - 1 - ((draw * draw) * self.open.len() as f64) as usize;
            let index = index.min(self.open.len() - 1);
            let event = &mut self.open[index];
            event.count = event.count.max(1) + 1;
            event.last_timestamp = Some(stamp);
            return Operation::Repeat(event.clone());
        }
        let mut event = self.workload.event(self.next_index);
        self.next_index += 1;
        event.first_timestamp = Some(stamp);
        event.last_timestamp = Some(stamp);
        event.count = 1;
        let repeats = event.event_type == "Warning";
        if repeats {
            if self.open.len() >= OPEN_SERIES {
                self.open.pop_front();
            }
            self.open.push_back(event.clone());
        }
        Operation::Create(event)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_stream_with_repeats_of_earlier_events() {
        let now = Micros(1_700_000_000_000_000);
        let names = |seed| {
            let mut sim = Simulator::new(seed, 0.3, now);
            (0..500)
                .map(|_| match sim.next_operation(now) {
                    Operation::Create(e) => ("create", e.name, e.count),
                    Operation::Repeat(e) => ("repeat", e.name, e.count),
                })
                .collect::<Vec<_>>()
        };
        let first = names(7);
        assert!(first == names(7), "the same seed gives the same stream");
        let created: std::collections::HashSet<_> = first
            .iter()
            .filter(|o| o.0 == "create")
            .map(|o| o.1.clone())
            .collect();
        let repeats: Vec<_> = first.iter().filter(|o| o.0 == "repeat").collect();
        assert!(
            repeats.len() > 50,
            "about 30% repeat, got {}",
            repeats.len()
        );
        assert!(repeats.iter().all(|o| created.contains(&o.1) && o.2 >= 2));
        assert_eq!(
            created.len(),
            first.len() - repeats.len(),
            "new events have unique names"
        );
    }
}
