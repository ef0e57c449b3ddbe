//! Model-based property test: random creates, updates, deletes (with and without preconditions),
//! TTL expiry at an explicit clock, forced checkpoints, restarts and simulated crashes across
//! clusters and namespaces, checked after every step against a `BTreeMap` model: `get`, `list`
//! in several scopes with paging (continuing at the first page's version across a write), lists
//! at older versions, watches resumed from a version, the live feed, and every crash copy
//! reopened as of its last acknowledged write; with events kept in memory, moved to the cold tier
//! at every checkpoint, or a mix. The same run checks the in-memory store, without the
//! checkpoint, restart and crash steps: every implementation of the contract must pass it.
//!
//! `PROPTEST_CASES` raises the case count (default 24, a few seconds).

mod model;

use kevents_model::{ApiGroup, EventKey, FieldSelector, Micros};
use kevents_store::{
    Change, EventStore, ListQuery, MemoryStore, Mutation, Scope, Store, StoreConfig, StoreError,
    StoredEvent, WatchFrom,
};
use model::crash::{crash_copy, CrashCopy};
use model::{Model, ModelChange, Op, Pre, Step, OBJECTS, SCOPES};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use std::path::{Path, PathBuf};
use std::sync::Arc;

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(24)
}

/// Where events live between checkpoints.
#[derive(Debug, Clone, Copy)]
enum Tiers {
    /// Everything stays in memory (recently written).
    Hot,
    /// Every checkpoint moves every event to the cold tier.
    Cold,
    /// The head keeps two events; checkpoints move the rest, oldest first.
    Mixed,
}

/// A store implementation under test, and the steps only a store on disk has.
trait Subject {
    type Store: EventStore;
    /// Opens the store (for a restart: again, on the same data).
    fn open(&self, history_limit: usize) -> Self::Store;
    /// Where a store on disk keeps its data; `None` in memory, where checkpoints, restarts
    /// and crashes are not steps.
    fn data_dir(&self) -> Option<&Path>;
    /// Forces a checkpoint; returns its version.
    async fn checkpoint(&self, store: &Self::Store) -> u64;
    /// Closes the store before a restart.
    async fn close(&self, store: &Self::Store);
}

/// The store on disk in `dir`.
struct Disk {
    dir: PathBuf,
    tiers: Tiers,
}

impl Subject for Disk {
    type Store = Store;

    fn open(&self, history_limit: usize) -> Store {
        Store::open(config(&self.dir, history_limit, self.tiers)).expect("open")
    }

    fn data_dir(&self) -> Option<&Path> {
        Some(&self.dir)
    }

    async fn checkpoint(&self, store: &Store) -> u64 {
        store.checkpoint().await.unwrap()
    }

    async fn close(&self, store: &Store) {
        store.close().await
    }
}

/// The in-memory store.
struct Memory;

impl Subject for Memory {
    type Store = MemoryStore;

    fn open(&self, history_limit: usize) -> MemoryStore {
        MemoryStore::new(&config(Path::new(""), history_limit, Tiers::Hot))
    }

    fn data_dir(&self) -> Option<&Path> {
        None
    }

    async fn checkpoint(&self, _: &MemoryStore) -> u64 {
        unreachable!("a store in memory has no checkpoint steps")
    }

    async fn close(&self, _: &MemoryStore) {}
}

fn config(dir: &Path, history_limit: usize, tiers: Tiers) -> StoreConfig {
    let mut config = StoreConfig::new(dir);
    match tiers {
        Tiers::Hot => {}
        Tiers::Cold => config.tiers.cold_after_micros = 0,
        Tiers::Mixed => {
            config.tiers.cold_after_micros = i64::MAX;
            config.tiers.hot_events = 2;
        }
    }
    config.ttl_micros = model::TTL;
    config.history_limit = history_limit;
    // Only forced checkpoints, so a crash copy never races a background one; small segments so
    // checkpoints have several to delete.
    config.log.checkpoint_min_bytes = u64::MAX / 4;
    config.log.segment_bytes = 2048;
    // Tiny blocks, so a checkpoint of a few events spans several and restarts cross their
    // boundaries.
    config.log.block_events = 3;
    config.tiers.cold_block_events = 2;
    config
}

fn as_model(change: &Change) -> ModelChange {
    ModelChange {
        rv: change.resource_version,
        change_type: change.change_type,
        object: (*change.object).clone(),
    }
}

fn plain(items: &[Arc<StoredEvent>]) -> Vec<StoredEvent> {
    items.iter().map(|e| (**e).clone()).collect()
}

/// An open store and the live feeds subscribed when it opened: of every change, and of
/// namespace `a` and cluster `east` (feeds of their own), read up to version `checked`.
struct Open<S> {
    store: S,
    live: kevents_store::Live,
    scoped: Vec<(Scope<'static>, kevents_store::Live)>,
    checked: u64,
}

fn open<S: Subject>(subject: &S, history_limit: usize) -> Open<S::Store> {
    let store = subject.open(history_limit);
    let checked = store.resource_version();
    let subscribe = |scope| {
        store
            .subscribe(WatchFrom::After(checked), scope)
            .expect("subscribe at the current version")
            .live
    };
    let live = subscribe(SCOPES[0]);
    // A namespace of every cluster, a cluster of every namespace.
    let scoped = [SCOPES[3], SCOPES[2]]
        .into_iter()
        .map(|scope| (scope, subscribe(scope)))
        .collect();
    Open {
        store,
        live,
        scoped,
        checked,
    }
}

/// Lists every page of `query`, continuing at the first page's version.
fn all_pages(store: &impl EventStore, query: ListQuery<'_>) -> Result<Vec<StoredEvent>, ()> {
    let first = store.list(query, |_| true).map_err(|_| ())?;
    let mut items = plain(&first.items);
    let mut cursor = first.continue_after;
    while let Some(after) = cursor {
        let page = store
            .list(
                ListQuery {
                    start_after: Some(&after),
                    at: Some(first.resource_version),
                    ..query
                },
                |_| true,
            )
            .map_err(|_| ())?;
        assert!(page.items.len() <= query.limit.unwrap_or(usize::MAX));
        items.extend(plain(&page.items));
        cursor = page.continue_after;
    }
    Ok(items)
}

/// Compares every read of the store with the model.
fn check(open: &mut Open<impl EventStore>, model: &Model, step: &Step) {
    let store = &open.store;
    assert_eq!(store.resource_version(), model.rv);
    let scope = SCOPES[step.scope];
    let object = step.by_object.map(|o| OBJECTS[o]);
    let query = ListQuery {
        scope,
        limit: Some(step.limit),
        object_name: object,
        ..Default::default()
    };
    // First, before other reads fill the block cache: field requirements (checked on cold
    // columns before events are built) select exactly what the model's events match.
    for text in [
        "reason=BackOff",
        "reason!=BackOff,involvedObject.kind=Pod",
        "type=Warning",
    ] {
        let selector = FieldSelector::parse(text, ApiGroup::Core).unwrap();
        let listed = all_pages(
            store,
            ListQuery {
                fields: Some(&selector),
                ..query
            },
        )
        .unwrap();
        let expected: Vec<StoredEvent> = model
            .list(model.rv, scope, object)
            .into_iter()
            .filter(|e| selector.matches(&e.record))
            .collect();
        assert_eq!(listed, expected, "list {scope:?} {text}");
    }

    for index in 0..16 {
        let key = model::key(index);
        assert_eq!(
            store.get(&key).map(|e| (*e).clone()),
            model.events.get(&key).cloned(),
            "get {key:?}"
        );
    }
    let listed = all_pages(store, query).expect("the current version is always listable");
    assert_eq!(
        listed,
        model.list(model.rv, scope, object),
        "list {scope:?}"
    );

    // An older version: listable exactly when a watch can resume from it.
    let at = model.rv.saturating_sub(step.back).max(1);
    let past = all_pages(
        store,
        ListQuery {
            at: Some(at),
            ..query
        },
    );
    let watch = store.subscribe(WatchFrom::After(at), scope);
    match (&past, &watch) {
        (Ok(items), Ok(sub)) => {
            assert_eq!(items, &model.list(at, scope, object), "list at {at}");
            let backlog: Vec<ModelChange> = sub.backlog.iter().map(|c| as_model(c)).collect();
            assert_eq!(backlog, model.changes_after(at), "watch after {at}");
        }
        (Err(()), Err(too_old)) => {
            assert!(
                at < too_old.oldest && too_old.oldest <= model.rv,
                "{too_old:?}"
            );
        }
        _ => panic!("list at {at} and watch from {at} disagree on retention"),
    }
    // Whatever committed since the last check arrived on the live feed, in order.
    let mut delivered = Vec::new();
    while let Ok(change) = open.live.try_recv() {
        delivered.push(as_model(&change));
    }
    let since = delivered.first().map(|c| c.rv - 1).unwrap_or(model.rv);
    assert_eq!(delivered, model.changes_after(since), "live feed");
    // A scope's own feed: exactly its changes since the last check, in order.
    for (scope, live) in &mut open.scoped {
        let mut delivered = Vec::new();
        while let Ok(change) = live.try_recv() {
            delivered.push(as_model(&change));
        }
        let expected: Vec<ModelChange> = model
            .changes_after(open.checked)
            .into_iter()
            .filter(|c| scope.contains(&c.object.record.key()))
            .collect();
        assert_eq!(delivered, expected, "the feed of {scope:?}");
    }
    open.checked = model.rv;
}

async fn write(store: &impl EventStore, model: &mut Model, mutation: Mutation) {
    let result = store.write(mutation.clone()).await;
    let stored_at = result.as_ref().ok().map(|c| c.object.updated_at);
    let expected = model.apply(&mutation, stored_at);
    match (&result, expected) {
        (Ok(committed), Ok(())) => {
            let change = model.changes.last().expect("a committed change");
            assert_eq!(*committed.object, change.object);
            assert_eq!(committed.created, matches!(mutation, Mutation::Create(_)));
        }
        (Err(StoreError::AlreadyExists(_) | StoreError::NotFound(_)), Err(()))
        | (Err(StoreError::Conflict(_)), Err(())) => {}
        (result, expected) => panic!("{mutation:?}: store {result:?}, model {expected:?}"),
    }
}

fn precondition(model: &Model, key: &EventKey, pre: Pre) -> Option<u64> {
    let current = model.events.get(key).map(|e| e.record.resource_version);
    match pre {
        Pre::None => None,
        Pre::Current => Some(current.unwrap_or(1)),
        Pre::Stale => Some(current.map_or(1, |rv| rv - 1)),
    }
}

/// Runs `steps` on `subject`'s store; returns the crash copies taken on the way.
async fn run<S: Subject>(subject: &S, steps: Vec<Step>, history_limit: usize) -> Vec<CrashCopy> {
    let mut model = Model::new();
    let mut open_store = open(subject, history_limit);
    let mut crashes = Vec::new();
    for step in &steps {
        let store = open_store.store.clone();
        let durability = matches!(step.op, Op::Checkpoint | Op::Restart | Op::Crash { .. });
        if durability && subject.data_dir().is_none() {
            continue;
        }
        match step.op {
            Op::Create { key, msg, object } => {
                model.uids += 1;
                let record =
                    model::record(&model::key(key), format!("uid-{}", model.uids), msg, object);
                write(&store, &mut model, Mutation::Create(record)).await;
            }
            Op::Update {
                key,
                msg,
                object,
                pre,
            } => {
                let key = model::key(key);
                let expected_rv = precondition(&model, &key, pre);
                let record = model::record(&key, "client-uid".into(), msg, object);
                write(
                    &store,
                    &mut model,
                    Mutation::Update {
                        record,
                        expected_rv,
                    },
                )
                .await;
            }
            Op::Delete { key, pre } => {
                let key = model::key(key);
                let expected_rv = precondition(&model, &key, pre);
                let mutation = Mutation::Delete {
                    key,
                    expected_rv,
                    expected_uid: None,
                };
                write(&store, &mut model, mutation).await;
            }
            Op::Expire { pick } => {
                let now = model.expiry_clock(pick);
                let expected = model.expire(now);
                assert_eq!(
                    store.expire(now).await.unwrap(),
                    expected,
                    "expired at {now:?}"
                );
            }
            Op::Checkpoint => {
                assert_eq!(subject.checkpoint(&store).await, model.rv);
            }
            Op::Restart => {
                check(&mut open_store, &model, step);
                subject.close(&store).await;
                open_store = open(subject, history_limit);
            }
            Op::Crash { torn } => {
                let dir = subject.data_dir().expect("crash steps are on disk");
                crashes.push(crash_copy(dir, &model, torn));
            }
        }
        check(&mut open_store, &model, step);
    }
    subject.close(&open_store.store).await;
    crashes
}

/// Reopens every crash copy and checks it holds its model's state and takes writes after it.
async fn check_crash_copies(crashes: Vec<CrashCopy>, history_limit: usize, tiers: Tiers) {
    for crash in crashes {
        let disk = Disk {
            dir: crash.dir.path().to_path_buf(),
            tiers,
        };
        let reopened = open(&disk, history_limit);
        let everything = ListQuery::default();
        let listed = plain(&reopened.store.list(everything, |_| true).unwrap().items);
        assert_eq!(listed, crash.model.list(crash.model.rv, SCOPES[0], None));
        assert_eq!(reopened.store.resource_version(), crash.model.rv);
        let probe = model::record(&model::key(0), "probe".into(), 0, 0);
        let next = reopened.store.write(Mutation::Update {
            record: probe.clone(),
            expected_rv: None,
        });
        let rv = match next.await {
            Ok(c) => c.object.record.resource_version,
            Err(_) => {
                reopened
                    .store
                    .write(Mutation::Create(probe))
                    .await
                    .unwrap()
                    .object
                    .record
                    .resource_version
            }
        };
        assert_eq!(
            rv,
            crash.model.rv + 1,
            "writes continue after the crash point"
        );
        reopened.store.close().await;
    }
}

fn block_on<T>(future: impl std::future::Future<Output = T>) -> T {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(future)
}

#[test]
fn store_matches_the_model_through_restarts_checkpoints_and_crashes() {
    let mut runner = TestRunner::new(Config::with_cases(cases()));
    let strategy = (
        model::steps(48),
        prop_oneof![Just(6usize), Just(10_000usize)],
        prop_oneof![Just(Tiers::Hot), Just(Tiers::Cold), Just(Tiers::Mixed)],
    );
    runner
        .run(&strategy, |(steps, history_limit, tiers)| {
            let dir = tempfile::tempdir().unwrap();
            let disk = Disk {
                dir: dir.path().to_path_buf(),
                tiers,
            };
            block_on(async {
                let crashes = run(&disk, steps, history_limit).await;
                check_crash_copies(crashes, history_limit, tiers).await;
            });
            Ok(())
        })
        .unwrap();
}

#[test]
fn memory_store_matches_the_model() {
    let mut runner = TestRunner::new(Config::with_cases(cases()));
    let strategy = (
        model::steps(48),
        prop_oneof![Just(6usize), Just(10_000usize)],
    );
    runner
        .run(&strategy, |(steps, history_limit)| {
            let crashes = block_on(run(&Memory, steps, history_limit));
            assert!(crashes.is_empty());
            Ok(())
        })
        .unwrap();
}

/// The expiry clock is explicit: nothing expires before its last write plus the TTL.
#[test]
fn expiry_clock_of_an_empty_model_expires_nothing() {
    let mut model = Model::new();
    assert_eq!(model.expire(Micros(0)), 0);
}
