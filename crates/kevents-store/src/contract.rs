//! The storage contract: what the API, the metrics and rules, the sinks and the binary ask of a
//! store (`EventStore`), and following its changes from a version (`Follow`). The disk store
//! and the in-memory store implement it, and one test suite checks both against a model.

use crate::entry::{Change, StoredEvent};
use crate::feed::Live;
use crate::scope::Scope;
use crate::{
    Committed, CountQuery, Counts, ListPage, ListQuery, Mutation, StoreError, Subscription, TooOld,
    WatchFrom,
};
use kevents_model::{EventKey, EventRecord, Micros};
use std::collections::VecDeque;
use std::future::Future;
use std::sync::Arc;
use tokio::sync::broadcast::error::{RecvError, TryRecvError};

/// A store of events with Kubernetes semantics: one global, increasing resourceVersion,
/// preconditions on writes, lists at older versions and watches resumed from a version, as
/// long as the history since is retained. Handles are cheap to clone and share one store.
pub trait EventStore: Clone + Send + Sync + 'static {
    /// Commits a mutation and returns the stored result.
    fn write(
        &self,
        mutation: Mutation,
    ) -> impl Future<Output = Result<Committed, StoreError>> + Send;

    /// Commits several mutations, in order, each with its own result.
    fn write_many(
        &self,
        mutations: Vec<Mutation>,
    ) -> impl Future<Output = Vec<Result<Committed, StoreError>>> + Send;

    /// Deletes every event whose TTL has passed at `now` (as `Mutation::Expire`, so a write
    /// that races it wins); returns how many were deleted.
    fn expire(&self, now: Micros) -> impl Future<Output = Result<usize, StoreError>> + Send;

    /// The current version of an event.
    fn get(&self, key: &EventKey) -> Option<Arc<StoredEvent>>;

    /// Lists events in key order after `query.start_after`, keeping those `filter` accepts, as
    /// of `query.at` (the current version when unset). With a limit, `continue_after` is set
    /// when more matches follow. Fails when `at` is older than the retained history.
    fn list(
        &self,
        query: ListQuery<'_>,
        filter: impl Fn(&EventRecord) -> bool,
    ) -> Result<ListPage, TooOld>;

    /// Counts the live events `query` selects by the values of one field.
    fn count(&self, query: CountQuery<'_>) -> Counts;

    /// Starts a watch of `scope`: the current state or the retained changes after a version,
    /// then the live feed, with nothing falling between. Fails when `from` is older than the
    /// retained history.
    fn subscribe(&self, from: WatchFrom, scope: Scope<'_>) -> Result<Subscription, TooOld>;

    /// Clusters with live events and how many each has (`""`: the hub's own events), by name.
    fn clusters(&self) -> Vec<(String, usize)>;

    /// The oldest version a watch can resume from: every change after it is retained.
    fn oldest_resumable(&self) -> u64;

    /// The version of the last committed change.
    fn resource_version(&self) -> u64;

    /// Whether the store takes writes now; `Err` says why not (closed, the disk is full).
    fn accepts_writes(&self) -> Result<(), StoreError>;

    /// Every change committed after version `from`, in order, across pieces of the feed and
    /// the history (see `Follow`).
    fn follow(&self, from: u64) -> Follow<Self> {
        Follow {
            store: self.clone(),
            last: from,
            backlog: VecDeque::new(),
            live: None,
        }
    }
}

/// The changes of a store after a version, one at a time, in commit order: the retained
/// history first, then the live feed. A reader that falls behind the feed resumes from the
/// history; one that falls behind the history is told (`TooOld`) and decides where to go on
/// (`skip_to`).
pub struct Follow<S> {
    store: S,
    /// The version of the last change returned (or the starting version).
    last: u64,
    backlog: VecDeque<Arc<Change>>,
    live: Option<Live>,
}

impl<S: EventStore> Follow<S> {
    /// The next change, waiting for one; `Err` when the changes after the last one returned
    /// are no longer retained (again on every call until `skip_to`), `None` once the store is
    /// closed. Cancel safe: a change is taken only when it is returned.
    pub async fn next(&mut self) -> Option<Result<Arc<Change>, TooOld>> {
        loop {
            if let Some(ready) = self.ready() {
                return Some(ready);
            }
            let live = self.live.as_mut()?;
            match live.recv().await {
                Ok(change) => self.backlog.push_back(change),
                // The history has what the feed dropped.
                Err(RecvError::Lagged(_)) => self.live = None,
                Err(RecvError::Closed) => return None,
            }
        }
    }

    /// The next change if one is already committed; `None` when there is none (or the store
    /// is closed).
    pub fn try_next(&mut self) -> Option<Result<Arc<Change>, TooOld>> {
        loop {
            if let Some(ready) = self.ready() {
                return Some(ready);
            }
            match self.live.as_mut()?.try_recv() {
                Ok(change) => self.backlog.push_back(change),
                Err(TryRecvError::Lagged(_)) => self.live = None,
                Err(TryRecvError::Empty | TryRecvError::Closed) => return None,
            }
        }
    }

    /// Goes on with the changes after `rv`, dropping what was queued.
    pub fn skip_to(&mut self, rv: u64) {
        self.last = rv;
        self.backlog.clear();
        self.live = None;
    }

    /// The version of the last change returned (or where following started or skipped to).
    pub fn position(&self) -> u64 {
        self.last
    }

    /// When the oldest change not yet returned was committed (`None` when every committed
    /// change was returned): how long this reader has been behind. Past the retained history,
    /// the oldest retained change gives a lower bound.
    pub fn waiting_since(&mut self) -> Option<Micros> {
        let before = self.last;
        match self.try_next()? {
            Ok(first) => {
                // Handed back: it stays the next change to return.
                self.last = before;
                self.backlog.push_front(first.clone());
                Some(first.committed_at)
            }
            Err(too_old) => {
                let first = self.store.follow(too_old.oldest).try_next()?.ok()?;
                Some(first.committed_at)
            }
        }
    }

    /// A queued change newer than the last returned, or the error of resubscribing.
    fn ready(&mut self) -> Option<Result<Arc<Change>, TooOld>> {
        if self.live.is_none() {
            match self
                .store
                .subscribe(WatchFrom::After(self.last), Scope::ALL)
            {
                Ok(subscription) => {
                    self.backlog = subscription.backlog.into();
                    self.live = Some(subscription.live);
                }
                Err(too_old) => return Some(Err(too_old)),
            }
        }
        while let Some(change) = self.backlog.pop_front() {
            if change.resource_version > self.last {
                self.last = change.resource_version;
                return Some(Ok(change));
            }
        }
        None
    }
}
