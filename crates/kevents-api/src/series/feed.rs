//! The series changes shared by every series watch: one ring of the latest changes, bounded in
//! count and in bytes of series text. A watcher reads it at its own pace; one that falls
//! behind the oldest change kept is told so and its watch ends (the client relists), as a
//! watcher that lags the events feed does.

use kevents_correlate::Series;
use parking_lot::Mutex;
use std::collections::VecDeque;
use std::sync::Arc;

/// What a series watch receives.
#[derive(Debug, Clone)]
pub(crate) struct SeriesChange {
    pub kind: &'static str,
    pub series: Series,
    pub version: u64,
}

/// The latest series changes, shared with the watchers.
pub(crate) struct SeriesFeed {
    ring: Arc<Mutex<Ring>>,
    /// The number of the next change; watchers wait for it to move.
    next: tokio::sync::watch::Sender<u64>,
}

struct Ring {
    changes: VecDeque<Arc<SeriesChange>>,
    /// The number of the oldest change kept.
    first: u64,
    bytes: usize,
    max_changes: usize,
    max_bytes: usize,
}

/// Why a watcher gets no further change.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum FeedEnded {
    /// It fell behind the oldest change kept.
    Lagged,
    /// The feed is gone (shutdown).
    Closed,
}

/// One watcher's place in the feed.
pub(crate) struct FeedReceiver {
    ring: Arc<Mutex<Ring>>,
    next: tokio::sync::watch::Receiver<u64>,
    cursor: u64,
}

impl SeriesFeed {
    /// A feed keeping at most `max_changes` changes and `max_bytes` of their series' text (the
    /// newest change is kept even alone past the bytes).
    pub(crate) fn new(max_changes: usize, max_bytes: usize) -> SeriesFeed {
        SeriesFeed {
            ring: Arc::new(Mutex::new(Ring {
                changes: VecDeque::new(),
                first: 0,
                bytes: 0,
                max_changes: max_changes.max(1),
                max_bytes,
            })),
            next: tokio::sync::watch::channel(0).0,
        }
    }

    /// Watchers reading the feed.
    pub(crate) fn receiver_count(&self) -> usize {
        self.next.receiver_count()
    }

    /// A watcher of the changes sent from now on.
    pub(crate) fn subscribe(&self) -> FeedReceiver {
        let next = self.next.subscribe();
        let cursor = *next.borrow();
        FeedReceiver {
            ring: self.ring.clone(),
            next,
            cursor,
        }
    }

    /// Adds a change, dropping the oldest past either bound.
    pub(crate) fn send(&self, change: Arc<SeriesChange>) {
        let next = {
            let mut ring = self.ring.lock();
            ring.bytes += change.series.text_bytes();
            ring.changes.push_back(change);
            while ring.changes.len() > ring.max_changes
                || (ring.bytes > ring.max_bytes && ring.changes.len() > 1)
            {
                let dropped = ring.changes.pop_front().expect("more than one change");
                ring.bytes -= dropped.series.text_bytes();
                ring.first += 1;
            }
            ring.first + ring.changes.len() as u64
        };
        self.next.send_replace(next);
    }

    /// Bytes of series text the feed holds.
    #[cfg(test)]
    pub(crate) fn bytes(&self) -> usize {
        self.ring.lock().bytes
    }
}

impl FeedReceiver {
    /// The next change, waiting for one.
    pub(crate) async fn recv(&mut self) -> Result<Arc<SeriesChange>, FeedEnded> {
        loop {
            if let Some(change) = self.try_recv()? {
                return Ok(change);
            }
            if self.next.changed().await.is_err() {
                return Err(FeedEnded::Closed);
            }
        }
    }

    /// The next change if there is one now.
    pub(crate) fn try_recv(&mut self) -> Result<Option<Arc<SeriesChange>>, FeedEnded> {
        // Seen before the ring is read, so a change sent after the read wakes `recv`.
        self.next.borrow_and_update();
        let ring = self.ring.lock();
        if self.cursor < ring.first {
            return Err(FeedEnded::Lagged);
        }
        let at = usize::try_from(self.cursor - ring.first).unwrap_or(usize::MAX);
        let change = ring.changes.get(at).cloned();
        if change.is_some() {
            self.cursor += 1;
        }
        Ok(change)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kevents_correlate::{SeriesConfig, SeriesTracker};
    use kevents_model::{EventRecord, Micros, ObjectRef};

    /// A change of its own series whose latest message is `message_bytes` long.
    fn change(tracker: &mut SeriesTracker, i: usize, message_bytes: usize) -> Arc<SeriesChange> {
        let event = EventRecord {
            namespace: "default".into(),
            name: format!("e{i}"),
            involved_object: ObjectRef {
                kind: "Pod".into(),
                namespace: "default".into(),
                name: format!("web-{i}"),
                uid: format!("uid-{i}"),
                ..Default::default()
            },
            reason: "BackOff".into(),
            message: "m".repeat(message_bytes),
            count: 1,
            last_timestamp: Some(Micros::now()),
            ..Default::default()
        };
        let observation = tracker.observe("", &event, None, Micros::now());
        Arc::new(SeriesChange {
            kind: "ADDED",
            series: tracker.get(&observation.series).unwrap().clone(),
            version: i as u64,
        })
    }

    #[tokio::test]
    async fn a_watcher_that_keeps_up_gets_every_change_in_order() {
        let mut tracker = SeriesTracker::new(SeriesConfig::default());
        let feed = Arc::new(SeriesFeed::new(4, 1 << 20));
        let mut watcher = feed.subscribe();
        let (read, mut was_read) = tokio::sync::mpsc::channel(1);
        let reader = tokio::spawn(async move {
            let mut versions = Vec::new();
            while let Ok(change) = watcher.recv().await {
                versions.push(change.version);
                read.send(()).await.unwrap();
            }
            versions
        });
        for i in 0..20 {
            feed.send(change(&mut tracker, i, 10));
            was_read.recv().await.unwrap();
        }
        drop(feed);
        assert_eq!(reader.await.unwrap(), (0..20).collect::<Vec<u64>>());
    }

    #[test]
    fn the_feed_holds_at_most_its_bytes_and_a_watcher_behind_them_is_cut_off() {
        let mut tracker = SeriesTracker::new(SeriesConfig::default());
        let max_bytes = 256 << 10;
        let feed = SeriesFeed::new(4096, max_bytes);
        let mut slow = feed.subscribe();
        for i in 0..100 {
            feed.send(change(&mut tracker, i, 10 << 10));
            assert!(feed.bytes() <= max_bytes, "{} bytes", feed.bytes());
        }
        assert!(feed.bytes() > max_bytes / 2, "{} bytes", feed.bytes());
        assert_eq!(slow.try_recv().unwrap_err(), FeedEnded::Lagged);
        let mut fresh = feed.subscribe();
        assert!(
            fresh.try_recv().unwrap().is_none(),
            "a new watcher starts now"
        );
        feed.send(change(&mut tracker, 100, 600 << 10));
        assert_eq!(
            fresh.try_recv().unwrap().unwrap().version,
            100,
            "the newest change is kept alone past the bytes"
        );
        assert_eq!(feed.ring.lock().changes.len(), 1);
    }
}
