//! `Store::count`: events per value of a field over a window of last-seen times, from hot
//! events, cold files' time indexes and (for fields the index does not hold) cold blocks, must
//! equal counting the listed events one by one: after rewrites and deletes of cold events
//! (dead rows), across cold files, and after a restart.

mod history;

use history::{config, damage_last_time_index_chunks, write_history, MINUTE, SCOPES, T0};
use kevents_model::{ApiGroup, EventField, FieldSelector, Micros};
use kevents_store::{CountQuery, Counted, ListQuery, Scope, Store, TimeWindow};
use std::collections::HashMap;

/// The answer counted one listed event at a time.
fn by_listing(store: &Store, query: &CountQuery<'_>) -> Vec<Counted> {
    let all = store.list(ListQuery::default(), |_| true).unwrap().items;
    let mut totals: HashMap<String, (u64, u64)> = HashMap::new();
    for event in &all {
        let r = &event.record;
        let t = r.seen_at().0;
        let selected = query.scope.contains(&r.key())
            && query.seen.from.is_none_or(|f| t >= f.0)
            && query.seen.to.is_none_or(|to| t <= to.0)
            && query.fields.is_none_or(|f| f.matches(r));
        if selected {
            let total = totals.entry(query.by.value(r).to_string()).or_default();
            total.0 += 1;
            total.1 += r.occurrences().max(1) as u64;
        }
    }
    let mut items: Vec<Counted> = totals
        .into_iter()
        .map(|(value, (events, occurrences))| Counted {
            value,
            events,
            occurrences,
        })
        .collect();
    items.sort_by(|a, b| {
        (b.events, b.occurrences)
            .cmp(&(a.events, a.occurrences))
            .then_with(|| a.value.cmp(&b.value))
    });
    items
}

fn check_all(store: &Store) -> usize {
    let selectors = [
        "",
        "type=Warning",
        "type!=Normal,reason=BackOff",
        "source=kubelet",
        "involvedObject.kind=Node,metadata.namespace!=ns1",
        // Not in the time index: answered from the blocks.
        "involvedObject.name=obj3",
    ];
    let windows = [
        (None, None),
        (Some(T0 + 100 * MINUTE), Some(T0 + 300 * MINUTE)),
        (Some(T0 + 450 * MINUTE), None),
        (None, Some(T0 + 50 * MINUTE - 30_000_000)),
    ];
    let fields = [
        EventField::Reason,
        EventField::Namespace,
        EventField::Type,
        EventField::Cluster,
        EventField::ObjectKind,
        EventField::Source,
        EventField::ObjectName,
        EventField::Name,
    ];
    let mut nonempty = 0;
    for text in selectors {
        let selector = FieldSelector::parse(text, ApiGroup::Core).unwrap();
        for (from, to) in windows {
            for scope in SCOPES {
                for by in fields {
                    let query = CountQuery {
                        scope,
                        fields: (!text.is_empty()).then_some(&selector),
                        seen: TimeWindow {
                            from: from.map(Micros),
                            to: to.map(Micros),
                        },
                        by,
                    };
                    let expected = by_listing(store, &query);
                    let counted = store.count(query);
                    assert_eq!(
                        counted.items, expected,
                        "{text:?} {from:?}..{to:?} {scope:?} by {by:?}"
                    );
                    nonempty += usize::from(!expected.is_empty());
                }
            }
        }
    }
    nonempty
}

#[tokio::test]
async fn counts_over_hot_and_cold_events_equal_counting_each_listed_event() {
    let dir = tempfile::tempdir().unwrap();
    let store = write_history(dir.path()).await;
    let stats = store.stats();
    assert!(stats.hot_events > 0 && stats.hot_events < stats.events);
    let nonempty = check_all(&store);
    assert!(nonempty > 300, "only {nonempty} queries found events");

    // The same answers from the files alone after a restart.
    store.close().await;
    drop(store);
    let store = Store::open(config(dir.path())).unwrap();
    store.checkpoint().await.unwrap();
    assert_eq!(store.stats().hot_events, 0);
    check_all(&store);

    // Indexed fields over a window read time index chunks, not blocks; others read blocks.
    let warnings = FieldSelector::parse("type=Warning", ApiGroup::Core).unwrap();
    let indexed = store.count(CountQuery {
        scope: Scope::ALL,
        fields: Some(&warnings),
        seen: TimeWindow {
            from: Some(Micros(T0 + 100 * MINUTE)),
            to: Some(Micros(T0 + 130 * MINUTE)),
        },
        by: EventField::Reason,
    });
    assert!(indexed.chunks_read > 0);
    assert_eq!(indexed.blocks_read, 0);
    assert!(!indexed.items.is_empty());
    let by_object = store.count(CountQuery {
        scope: Scope::ALL,
        fields: None,
        seen: TimeWindow {
            from: None,
            to: None,
        },
        by: EventField::ObjectName,
    });
    assert!(by_object.blocks_read > 0);

    // A flipped bit in a time index chunk fails its checksum: that file is counted from its
    // blocks, with the same answer.
    damage_last_time_index_chunks(dir.path());
    let all_time = CountQuery {
        scope: Scope::ALL,
        fields: None,
        seen: TimeWindow {
            from: None,
            to: None,
        },
        by: EventField::Reason,
    };
    let counted = store.count(all_time);
    assert!(counted.blocks_read > 0);
    assert_eq!(counted.items, by_listing(&store, &all_time));
}
