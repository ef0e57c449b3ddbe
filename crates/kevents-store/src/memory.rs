//! An in-memory store: the storage contract over a `BTreeMap` of live events and a bounded
//! change history, nothing on disk. For tests of the layers above the store, and the reference
//! the disk store's shared test suite is compared with.

use crate::check::checked_change;
use crate::contract::EventStore;
use crate::counts::count_records;
use crate::entry::{ChangeType, LogEntryRef, StoredEvent};
use crate::feed::Feeds;
use crate::history::History;
use crate::scope::Scope;
use crate::snapshot::{merge_states, page, past_states};
use crate::{
    Committed, CountQuery, Counts, ListPage, ListQuery, Mutation, StoreConfig, StoreError,
    Subscription, TooOld, WatchFrom,
};
use kevents_model::{EventKey, EventRecord, Micros};
use parking_lot::RwLock;
use std::collections::BTreeMap;
use std::ops::Bound;
use std::sync::Arc;

/// The version of an empty store, as for the disk store.
const INITIAL_RESOURCE_VERSION: u64 = 1;

/// A store held in memory; cheap to clone. Writes commit at once, one at a time.
#[derive(Clone)]
pub struct MemoryStore {
    shared: Arc<Shared>,
}

struct Shared {
    state: RwLock<State>,
    feeds: Feeds,
    ttl_micros: i64,
    history_limit: usize,
    history_bytes_limit: usize,
    max_event_bytes: usize,
}

struct State {
    events: BTreeMap<EventKey, Arc<StoredEvent>>,
    history: History,
    resource_version: u64,
}

impl MemoryStore {
    /// An empty store with the settings of `config` that apply without a disk: the TTL, the
    /// history kept for watches (changes and bytes), the feed's capacity and the largest event.
    pub fn new(config: &StoreConfig) -> MemoryStore {
        MemoryStore {
            shared: Arc::new(Shared {
                state: RwLock::new(State {
                    events: BTreeMap::new(),
                    history: History::starting_at(INITIAL_RESOURCE_VERSION),
                    resource_version: INITIAL_RESOURCE_VERSION,
                }),
                feeds: Feeds::new(config.feed_capacity, INITIAL_RESOURCE_VERSION),
                ttl_micros: config.ttl_micros,
                history_limit: config.history_limit,
                history_bytes_limit: config.history_bytes_limit,
                max_event_bytes: config.max_event_bytes,
            }),
        }
    }

    fn commit(&self, mutation: Mutation) -> Result<Committed, StoreError> {
        let key = mutation.key();
        let now = Micros::now();
        let shared = &*self.shared;
        let mut state = shared.state.write();
        let current = state.events.get(&key).cloned();
        let rv = state.resource_version + 1;
        let change = checked_change(mutation, current, rv, now)?;
        // The same limit as the disk store's, on the same encoding.
        let bytes = serde_json::to_vec(&LogEntryRef::of(&change, &key))
            .expect("log entries always serialize")
            .len();
        if bytes > shared.max_event_bytes {
            return Err(StoreError::TooLarge {
                bytes,
                limit: shared.max_event_bytes,
            });
        }
        let change = Arc::new(change);
        match change.change_type {
            ChangeType::Deleted => state.events.remove(&key),
            ChangeType::Added | ChangeType::Modified => {
                state.events.insert(key, change.object.clone())
            }
        };
        state.resource_version = rv;
        state.history.push(change.clone());
        let oldest = Micros(now.0.saturating_sub(shared.ttl_micros));
        state
            .history
            .trim(shared.history_limit, shared.history_bytes_limit, oldest);
        // Sent under the lock so a watcher subscribing under the read lock sees no gap.
        shared.feeds.publish(std::slice::from_ref(&change));
        Ok(Committed {
            created: change.previous.is_none(),
            object: change.object.clone(),
        })
    }
}

impl Default for MemoryStore {
    /// An empty store with the disk store's default settings.
    fn default() -> MemoryStore {
        MemoryStore::new(&StoreConfig::new(""))
    }
}

impl EventStore for MemoryStore {
    async fn write(&self, mutation: Mutation) -> Result<Committed, StoreError> {
        self.commit(mutation)
    }

    async fn write_many(&self, mutations: Vec<Mutation>) -> Vec<Result<Committed, StoreError>> {
        mutations.into_iter().map(|m| self.commit(m)).collect()
    }

    async fn expire(&self, now: Micros) -> Result<usize, StoreError> {
        let mut due: Vec<(Micros, EventKey, u64)> = {
            let state = self.shared.state.read();
            let ttl = self.shared.ttl_micros;
            state
                .events
                .iter()
                .filter(|(_, e)| e.updated_at.0.saturating_add(ttl) <= now.0)
                .map(|(key, e)| (e.updated_at, key.clone(), e.record.resource_version))
                .collect()
        };
        // In the order the disk store expires: by last write, then key.
        due.sort_unstable();
        let mut deleted = 0;
        for (_, key, expected_rv) in due {
            match self.commit(Mutation::Expire { key, expected_rv }) {
                Ok(_) => deleted += 1,
                Err(StoreError::Skipped) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(deleted)
    }

    fn get(&self, key: &EventKey) -> Option<Arc<StoredEvent>> {
        self.shared.state.read().events.get(key).cloned()
    }

    fn list(
        &self,
        query: ListQuery<'_>,
        filter: impl Fn(&EventRecord) -> bool,
    ) -> Result<ListPage, TooOld> {
        let state = self.shared.state.read();
        let past = past_states(&state.history, state.resource_version, &query)?;
        let start = query.start_after.map_or(Bound::Unbounded, Bound::Excluded);
        let current = state
            .events
            .range((start, Bound::Unbounded))
            .filter(|(key, _)| query.scope.contains(key))
            .map(|(_, event)| event.clone());
        let candidates = merge_states(current, past);
        Ok(page(candidates, &query, filter, state.resource_version))
    }

    fn count(&self, query: CountQuery<'_>) -> Counts {
        let state = self.shared.state.read();
        let records = state.events.values().map(|e| &e.record);
        count_records(records, &query, state.resource_version)
    }

    fn subscribe(&self, from: WatchFrom, scope: Scope<'_>) -> Result<Subscription, TooOld> {
        let state = self.shared.state.read();
        let live = self.shared.feeds.subscribe(scope);
        let (initial, backlog) = match from {
            WatchFrom::InitialState => {
                let initial = state.events.iter().filter(|(key, _)| scope.contains(key));
                (initial.map(|(_, e)| e.clone()).collect(), Vec::new())
            }
            WatchFrom::After(rv) => (Vec::new(), state.history.after(rv)?),
        };
        Ok(Subscription {
            initial,
            backlog,
            live,
            resource_version: state.resource_version,
        })
    }

    fn clusters(&self) -> Vec<(String, usize)> {
        let mut clusters: BTreeMap<&str, usize> = BTreeMap::new();
        let state = self.shared.state.read();
        for key in state.events.keys() {
            *clusters.entry(key.cluster.as_str()).or_default() += 1;
        }
        clusters
            .into_iter()
            .map(|(c, n)| (c.to_owned(), n))
            .collect()
    }

    fn oldest_resumable(&self) -> u64 {
        self.shared.state.read().history.oldest_resumable()
    }

    fn resource_version(&self) -> u64 {
        self.shared.state.read().resource_version
    }

    /// Always: a store in memory has no disk to fill and no writer to lose.
    fn accepts_writes(&self) -> Result<(), StoreError> {
        Ok(())
    }
}
