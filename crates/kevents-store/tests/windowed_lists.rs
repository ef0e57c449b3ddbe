//! Lists over a window of last-seen times (`ListQuery::seen`): cold files pick the window's
//! rows from their time index and decode only those, so a page must hold exactly the events a
//! full list filtered one by one holds, page after page, over hot and cold events, dead rows,
//! two files, after a restart, and when a time index chunk is damaged (blocks answer).

mod history;

use history::{config, damage_last_time_index_chunks, write_history, MINUTE, SCOPES, T0};
use kevents_model::{ApiGroup, EventField, EventKey, EventRecord, FieldSelector, Micros};
use kevents_store::{ListQuery, Scope, Store, TimeWindow};
use std::path::Path;

/// The keys of `all` (every live event, in key order) selected one event at a time.
fn expected(
    all: &[EventRecord],
    scope: Scope<'_>,
    fields: &FieldSelector,
    seen: TimeWindow,
) -> Vec<EventKey> {
    all.iter()
        .filter(|r| {
            let t = r.seen_at().0;
            scope.contains(&r.key())
                && fields.matches(r)
                && seen.from.is_none_or(|from| t >= from.0)
                && seen.to.is_none_or(|to| t <= to.0)
        })
        .map(|r| r.key())
        .collect()
}

/// Lists in pages of `limit`, following the continue key.
fn paged(
    store: &Store,
    scope: Scope<'_>,
    fields: &FieldSelector,
    seen: TimeWindow,
    limit: usize,
) -> Vec<EventKey> {
    let mut keys = Vec::new();
    let mut after: Option<EventKey> = None;
    loop {
        let page = store
            .list(
                ListQuery {
                    scope,
                    start_after: after.as_ref(),
                    limit: Some(limit),
                    object_name: fields.exact(EventField::ObjectName),
                    fields: Some(fields),
                    seen: Some(seen),
                    ..Default::default()
                },
                |_| true,
            )
            .unwrap();
        keys.extend(page.items.iter().map(|e| e.record.key()));
        match page.continue_after {
            Some(key) => after = Some(key),
            None => return keys,
        }
    }
}

/// Lists every selector, window and scope in pages, against a full list taken before the store
/// is reopened (so blocks are read from the files, not found decoded in the block cache);
/// returns the reopened store and how many lists found events.
async fn check_all(dir: &Path, store: Store) -> (Store, usize) {
    let all: Vec<EventRecord> = (store.list(ListQuery::default(), |_| true).unwrap().items)
        .iter()
        .map(|e| e.record.clone())
        .collect();
    store.close().await;
    drop(store);
    let store = Store::open(config(dir)).unwrap();
    let selectors = [
        "",
        "type=Warning",
        "type!=Normal,reason=BackOff",
        "source=kubelet,involvedObject.kind=Pod",
        "metadata.namespace!=ns1",
        // Not in the time index: the rows it picks are checked on the blocks.
        "involvedObject.name=obj3",
        "reportingComponent=default-scheduler,type=Warning",
    ];
    let windows = [
        (Some(T0 + 100 * MINUTE), Some(T0 + 300 * MINUTE)),
        (Some(T0 + 450 * MINUTE), None),
        (None, Some(T0 + 50 * MINUTE - 30_000_000)),
        (Some(T0 + 222 * MINUTE), Some(T0 + 222 * MINUTE)),
        (Some(T0 + 100_000 * MINUTE), None),
        (None, None),
    ];
    let mut nonempty = 0;
    // First with every block on disk, then with every block in the block cache.
    for cached in [false, true] {
        if cached {
            store.list(ListQuery::default(), |_| true).unwrap();
        }
        for text in selectors {
            let fields = FieldSelector::parse(text, ApiGroup::Core).unwrap();
            for (from, to) in windows {
                let seen = TimeWindow {
                    from: from.map(Micros),
                    to: to.map(Micros),
                };
                for scope in SCOPES {
                    let want = expected(&all, scope, &fields, seen);
                    for limit in [7, 1000] {
                        let got = paged(&store, scope, &fields, seen, limit);
                        assert_eq!(
                            got, want,
                            "{text:?} {from:?}..{to:?} {scope:?} limit {limit} cached {cached}"
                        );
                    }
                    nonempty += usize::from(!want.is_empty() && !cached);
                }
            }
        }
    }
    (store, nonempty)
}

#[tokio::test]
async fn windowed_lists_hold_exactly_the_events_last_seen_in_the_window() {
    let dir = tempfile::tempdir().unwrap();
    let store = write_history(dir.path()).await;
    let stats = store.stats();
    assert!(stats.hot_events > 0 && stats.hot_events < stats.events);
    let (store, nonempty) = check_all(dir.path(), store).await;
    assert!(nonempty > 80, "only {nonempty} lists found events");

    // From the files alone.
    store.checkpoint().await.unwrap();
    assert_eq!(store.stats().hot_events, 0);
    let (store, _) = check_all(dir.path(), store).await;

    // A flipped bit in each file's last time index chunk: those files list from their blocks.
    store.close().await;
    drop(store);
    damage_last_time_index_chunks(dir.path());
    let store = Store::open(config(dir.path())).unwrap();
    check_all(dir.path(), store).await;
}
