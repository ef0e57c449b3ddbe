//! Delivery bookkeeping without I/O: which feed positions are still owed (in an open batch, in
//! flight, or held by a policy), the open batch and its limits, and retry backoff.

use crate::delivery::Encoded;
use rand::Rng as _;
use std::collections::BTreeMap;
use std::time::Duration;

/// Tracks owed positions; the cursor is the highest position below which nothing is owed.
#[derive(Debug, Default)]
pub struct Progress {
    /// The last feed position read.
    read: u64,
    owed: BTreeMap<u64, u32>,
}

impl Progress {
    /// Starts at a cursor: everything up to it is delivered.
    pub fn new(cursor: u64) -> Progress {
        Progress {
            read: cursor,
            owed: BTreeMap::new(),
        }
    }

    /// Records that the feed has been read up to `position`.
    pub fn read_to(&mut self, position: u64) {
        self.read = self.read.max(position);
    }

    /// The last position read.
    pub fn read(&self) -> u64 {
        self.read
    }

    /// One more delivery (or hold) owes `position`.
    pub fn owe(&mut self, position: u64) {
        *self.owed.entry(position).or_insert(0) += 1;
    }

    /// One delivery (or hold) of `position` is settled.
    pub fn settle(&mut self, position: u64) {
        if let Some(count) = self.owed.get_mut(&position) {
            *count -= 1;
            if *count == 0 {
                self.owed.remove(&position);
            }
        }
    }

    /// Everything at or below this position is delivered.
    pub fn cursor(&self) -> u64 {
        match self.owed.keys().next() {
            Some(first) => first.saturating_sub(1).min(self.read),
            None => self.read,
        }
    }
}

/// Batch limits.
#[derive(Debug, Clone, Copy)]
pub struct BatchLimits {
    /// Most events.
    pub max_events: usize,
    /// Most encoded bytes.
    pub max_bytes: usize,
    /// Longest time the first event waits.
    pub max_wait: Duration,
}

/// The batch being filled.
#[derive(Debug)]
pub struct Batch {
    limits: BatchLimits,
    items: Vec<Encoded>,
    bytes: usize,
    opened: Option<tokio::time::Instant>,
}

impl Batch {
    /// An empty batch with these limits.
    pub fn new(limits: BatchLimits) -> Batch {
        Batch {
            limits,
            items: Vec::new(),
            bytes: 0,
            opened: None,
        }
    }

    /// Adds an encoded event.
    pub fn push(&mut self, item: Encoded) {
        self.bytes += item.payload.len();
        self.items.push(item);
        self.opened.get_or_insert_with(tokio::time::Instant::now);
    }

    /// True when a limit of size is reached: the batch must go before more is read.
    pub fn is_full(&self) -> bool {
        self.items.len() >= self.limits.max_events || self.bytes >= self.limits.max_bytes
    }

    /// True when the batch has nothing.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// When the batch must go even if not full.
    pub fn deadline(&self) -> Option<tokio::time::Instant> {
        self.opened.map(|opened| opened + self.limits.max_wait)
    }

    /// When the oldest event in the batch was written.
    pub fn oldest(&self) -> Option<kevents_model::Micros> {
        self.items.iter().map(|i| i.delivery.event.updated_at).min()
    }

    /// Takes the events out, leaving an empty batch.
    pub fn take(&mut self) -> Vec<Encoded> {
        self.bytes = 0;
        self.opened = None;
        std::mem::take(&mut self.items)
    }
}

/// Exponential backoff with jitter.
#[derive(Debug, Clone, Copy)]
pub struct Backoff {
    /// Delay before the first retry.
    pub initial: Duration,
    /// Largest delay.
    pub max: Duration,
}

impl Backoff {
    /// The delay before retry number `attempt` (1-based): `initial * 2^(attempt-1)`, capped at
    /// `max`, then drawn uniformly from its upper half so retrying senders spread out.
    pub fn delay(&self, attempt: u32) -> Duration {
        let exponent = attempt.saturating_sub(1).min(30);
        let full = self
            .initial
            .saturating_mul(1u32 << exponent)
            .min(self.max)
            .max(Duration::from_millis(1));
        let half = full / 2;
        let nanos = u64::try_from(half.as_nanos()).unwrap_or(u64::MAX);
        half + Duration::from_nanos(rand::rng().random_range(0..=nanos))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::delivery::tests::delivery;

    #[test]
    fn cursor_stops_below_the_oldest_owed_position() {
        let mut progress = Progress::new(10);
        assert_eq!(progress.cursor(), 10);
        for position in [11, 12, 13] {
            progress.owe(position);
            progress.read_to(position);
        }
        progress.read_to(15); // 14 and 15 were filtered out by the route
        assert_eq!(progress.cursor(), 10);
        progress.settle(12);
        assert_eq!(
            progress.cursor(),
            10,
            "a later batch finishing first does not count"
        );
        progress.settle(11);
        assert_eq!(progress.cursor(), 12);
        progress.owe(13); // a second owner (a policy hold) of the same position
        progress.settle(13);
        assert_eq!(progress.cursor(), 12);
        progress.settle(13);
        assert_eq!(progress.cursor(), 15);
        progress.settle(99); // unknown positions are ignored
        assert_eq!(progress.cursor(), 15);
    }

    #[test]
    fn batch_is_full_by_count_or_bytes_and_has_a_deadline() {
        let limits = BatchLimits {
            max_events: 3,
            max_bytes: 10,
            max_wait: Duration::from_secs(1),
        };
        let item = |bytes: &'static [u8]| Encoded {
            delivery: delivery(1, 1),
            payload: bytes::Bytes::from_static(bytes),
            key: String::new(),
        };
        let mut batch = Batch::new(limits);
        assert!(batch.deadline().is_none());
        batch.push(item(b"abc"));
        assert!(batch.deadline().is_some() && !batch.is_full());
        batch.push(item(b"abc"));
        batch.push(item(b"a"));
        assert!(batch.is_full(), "three events");
        assert_eq!(batch.take().len(), 3);
        assert!(batch.is_empty() && batch.deadline().is_none());
        batch.push(item(b"0123456789"));
        assert!(batch.is_full(), "ten bytes");
    }

    #[test]
    fn backoff_doubles_with_jitter_and_is_capped() {
        let backoff = Backoff {
            initial: Duration::from_millis(100),
            max: Duration::from_secs(1),
        };
        for _ in 0..50 {
            let first = backoff.delay(1);
            assert!(first >= Duration::from_millis(50) && first <= Duration::from_millis(100));
            let third = backoff.delay(3);
            assert!(third >= Duration::from_millis(200) && third <= Duration::from_millis(400));
            let late = backoff.delay(40);
            assert!(late >= Duration::from_millis(500) && late <= Duration::from_secs(1));
        }
    }
}
