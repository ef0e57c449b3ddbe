//! Rebuilding the series from the stored events after a start, while the hub already serves.
//!
//! A store may hold millions of events; reading them all takes seconds to minutes, so the hub
//! does it in the background, a page at a time, and meanwhile buffers the changes its feed
//! delivers. The series must count every event exactly once, although pages are read at
//! different versions while writes go on:
//!
//! - The feed starts after version `from`. A page keeps only events whose last write is at or
//!   before `from` (their state at `from`); later versions are the feed's.
//! - The first buffered change of a key carries the key's state at `from` as its `previous`.
//!   If the page that covered the key was read before that change, the page saw (and counted)
//!   that state; otherwise the page saw a later version or nothing, and the replay counts the
//!   `previous` state first. Then the change itself is counted, as the feed would.

use super::state::{Pending, SeriesState};
use kevents_model::EventKey;
use kevents_store::{ReadPages, Store, StoredEvent};
use std::collections::HashSet;
use std::sync::Arc;

impl SeriesState {
    /// Events a rebuild reads per page (the store's read lock is held for one page).
    pub const REBUILD_PAGE: usize = 5_000;
}

/// Ends a rebuild that stops early (shutdown, or a panic): the feed is applied directly from
/// then on instead of being buffered without end.
struct EndRebuild<'a> {
    state: &'a SeriesState,
    done: bool,
}

impl Drop for EndRebuild<'_> {
    fn drop(&mut self) {
        if !self.done {
            self.state.abandon_rebuild();
        }
    }
}

impl SeriesState {
    /// Starts buffering the feed: call before the feed is followed from version `from`, then
    /// hand every page of a full read of the store ([`Store::read_pages`]) to
    /// [`SeriesState::rebuild_page`] and end with [`SeriesState::end_rebuild`] (or
    /// [`SeriesState::finish_rebuild`], which does both). Reads of the series answer from what
    /// is counted so far until it ends.
    pub fn begin_rebuild(&self, from: u64) {
        *self.rebuilding.lock() = Some(Pending {
            from,
            changes: Vec::new(),
        });
        self.applied.send_replace(None);
    }

    /// Counts the events of one page of the rebuild's read that are as of the version given
    /// to [`SeriesState::begin_rebuild`] (later versions are the feed's).
    pub fn rebuild_page(&self, events: &[Arc<StoredEvent>]) {
        let Some(from) = self.rebuilding.lock().as_ref().map(|p| p.from) else {
            return;
        };
        // Series watchers opened meanwhile see the series appear (and evictions).
        for event in events {
            if event.record.resource_version <= from {
                self.observe_record(&event.record, None);
            }
        }
    }

    /// Ends a rebuild that stopped early: the feed is applied directly from now on (the
    /// changes buffered so far are dropped; series count only changes from now on).
    pub fn abandon_rebuild(&self) {
        if let Some(pending) = self.rebuilding.lock().take() {
            if std::thread::panicking() {
                tracing::error!(
                    dropped_changes = pending.changes.len(),
                    "the series rebuild failed: series count only changes from now on"
                );
            }
        }
    }

    /// Counts every stored event as of the version given to [`SeriesState::begin_rebuild`],
    /// `page` events at a time, then the changes buffered meanwhile, and returns to following
    /// the feed directly. After each page `between_pages` gets the events read so far and may
    /// stop the rebuild (false: the hub is shutting down; the state stays partial). Returns the
    /// events read.
    pub fn finish_rebuild(
        &self,
        store: &Store,
        page: usize,
        mut between_pages: impl FnMut(usize) -> bool,
    ) -> usize {
        let mut ending = EndRebuild {
            state: self,
            done: false,
        };
        let mut read = 0;
        let pages = store.read_pages(page, |listed| {
            read += listed.items.len();
            self.rebuild_page(&listed.items);
            between_pages(read)
        });
        if let Some(pages) = pages {
            self.end_rebuild(&pages);
            ending.done = true;
        }
        read
    }

    /// Ends the rebuild once every page of the read went through
    /// [`SeriesState::rebuild_page`] (`pages`: when each was read): counts what the feed
    /// delivered meanwhile, until no change is left buffered, then follows the feed directly.
    pub fn end_rebuild(&self, pages: &ReadPages) {
        let Some(from) = self.rebuilding.lock().as_ref().map(|p| p.from) else {
            return;
        };
        let mut replayed: HashSet<EventKey> = HashSet::new();
        let mut last = from;
        loop {
            let changes = {
                let mut rebuilding = self.rebuilding.lock();
                let Some(pending) = rebuilding.as_mut() else {
                    return;
                };
                if pending.changes.is_empty() {
                    // Under the lock, so the feed's next change sees the version counted.
                    self.applied.send_replace(Some(last));
                    *rebuilding = None;
                    return;
                }
                std::mem::take(&mut pending.changes)
            };
            for change in changes.iter().filter(|c| c.resource_version > from) {
                let key = change.object.record.key();
                if let Some(previous) = &change.previous {
                    if !replayed.contains(&key) && !pages.read_before(&key, change.resource_version)
                    {
                        self.observe_record(&previous.record, None);
                    }
                }
                replayed.insert(key);
                self.observe_change(change);
                last = change.resource_version;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kevents_model::{EventRecord, Micros, ObjectRef};
    use kevents_store::{Mutation, Scope, StoreConfig, WatchFrom};

    fn event(i: usize, count: i32) -> EventRecord {
        let pod = format!("web-{}", i % 9);
        EventRecord {
            namespace: "default".into(),
            name: format!("e{i:03}"),
            involved_object: ObjectRef {
                kind: "Pod".into(),
                namespace: "default".into(),
                name: pod.clone(),
                uid: format!("uid-{pod}"),
                ..Default::default()
            },
            reason: ["BackOff", "Unhealthy", "Pulled"][i % 3].into(),
            message: "Back-off restarting failed container".into(),
            event_type: "Warning".into(),
            source_component: "kubelet".into(),
            count,
            last_timestamp: Some(Micros::now()),
            ..Default::default()
        }
    }

    /// Every series with its count, comparable between two states.
    fn counts(state: &SeriesState) -> Vec<(String, u64)> {
        let mut counts: Vec<(String, u64)> = state
            .tracker
            .read()
            .iter()
            .map(|s| (format!("{:?}", s.key()), s.count))
            .collect();
        counts.sort();
        counts
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_rebuild_while_writes_go_on_counts_every_occurrence_once() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(StoreConfig::new(dir.path())).unwrap();
        let mut every_change = store
            .subscribe(WatchFrom::After(store.resource_version()), Scope::ALL)
            .unwrap()
            .live;
        for i in 0..60 {
            store
                .write(Mutation::Create(event(i, 1 + (i % 4) as i32)))
                .await
                .unwrap();
        }
        // Events no write touches during the rebuild: only the pages announce their series.
        for i in 0..10 {
            let mut quiet = event(i, 1);
            quiet.name = format!("q{i:03}");
            quiet.involved_object.name = format!("quiet-{}", i % 5);
            quiet.involved_object.uid = format!("uid-quiet-{}", i % 5);
            store.write(Mutation::Create(quiet)).await.unwrap();
        }
        let from = store.resource_version();
        let rebuilt = std::sync::Arc::new(SeriesState::default());
        rebuilt.begin_rebuild(from);
        // A series watcher opened before the rebuild sees every series it adds.
        let mut watcher = rebuilt.feed.subscribe();
        let mut live = store
            .subscribe(WatchFrom::After(from), Scope::ALL)
            .unwrap()
            .live;
        let handle = tokio::runtime::Handle::current();
        let (state, writer) = (rebuilt.clone(), store.clone());
        // Between pages of 7: raise the count of an event the rebuild has not read yet and of
        // one it has, delete one ahead, create one: each way a key can change meanwhile.
        let read = tokio::task::spawn_blocking(move || {
            state.finish_rebuild(&writer, 7, |read| {
                handle.block_on(async {
                    for (i, raise) in [(read + 10, true), (read.saturating_sub(3), true)] {
                        if let Some(stored) = writer.get(&event(i, 1).key()) {
                            let mut record = stored.record.clone();
                            record.count += if raise { 2 } else { 0 };
                            let update = Mutation::Update {
                                record,
                                expected_rv: None,
                            };
                            writer.write(update).await.unwrap();
                        }
                    }
                    let key = event(read + 12, 1).key();
                    let delete = Mutation::Delete {
                        key,
                        expected_rv: None,
                        expected_uid: None,
                    };
                    let _ = writer.write(delete).await;
                    let created = event(100 + read, 3);
                    writer.write(Mutation::Create(created)).await.unwrap();
                });
                while let Ok(change) = live.try_recv() {
                    state.observe(&change);
                }
                true
            })
        })
        .await
        .unwrap();
        assert!(read >= 60, "read {read} events");
        assert!(rebuilt.rebuilding.lock().is_none());
        assert_eq!(*rebuilt.applied.borrow(), Some(store.resource_version()));

        // The reference counted every change as it was committed.
        let reference = SeriesState::default();
        while let Ok(change) = every_change.try_recv() {
            reference.observe(&change);
        }
        assert_eq!(counts(&rebuilt), counts(&reference));
        let mut announced = std::collections::HashSet::new();
        while let Ok(Some(change)) = watcher.try_recv() {
            announced.insert(format!("{:?}", change.series.key()));
        }
        let held: std::collections::HashSet<String> =
            counts(&rebuilt).into_iter().map(|(key, _)| key).collect();
        assert_eq!(announced, held);
        assert!(counts(&reference).iter().map(|(_, c)| c).sum::<u64>() > 150);

        // After the rebuild the feed counts directly again.
        let mut record = store.get(&event(0, 1).key()).unwrap().record.clone();
        record.count += 5;
        let change = store
            .write(Mutation::Update {
                record,
                expected_rv: None,
            })
            .await
            .unwrap();
        let before: u64 = counts(&rebuilt).iter().map(|(_, c)| c).sum();
        let fed = store
            .subscribe(
                WatchFrom::After(change.object.record.resource_version - 1),
                Scope::ALL,
            )
            .unwrap()
            .backlog;
        rebuilt.observe(&fed[0]);
        let after: u64 = counts(&rebuilt).iter().map(|(_, c)| c).sum();
        assert_eq!(after, before + 5);
    }
}
