//! `Store::count_buckets`: one pass that splits a count into equal buckets of last-seen time
//! must give, bucket by bucket, what `Store::count` gives for each bucket's window, over hot
//! events, cold time indexes and cold blocks (fields the index does not hold).

mod history;

use history::{config, write_history, MINUTE, T0};
use kevents_model::{ApiGroup, EventField, FieldSelector, Micros};
use kevents_store::{Buckets, CountQuery, Scope, Store, TimeWindow};

fn check_buckets(store: &Store) -> usize {
    let mut nonempty = 0;
    for selector in ["", "type=Warning", "involvedObject.name=obj3"] {
        let selector = FieldSelector::parse(selector, ApiGroup::Core).unwrap();
        for (start, width, count) in [(T0, 60 * MINUTE, 10), (T0 + 95 * MINUTE, 7 * MINUTE, 30)] {
            let buckets = Buckets {
                start: Micros(start),
                width,
                count,
            };
            for by in [EventField::Type, EventField::Reason, EventField::ObjectName] {
                let query = |seen| CountQuery {
                    scope: Scope::ALL,
                    fields: (!selector.is_empty()).then_some(&selector),
                    seen,
                    by,
                };
                let split = store.count_buckets(query(buckets.window()), &buckets);
                assert_eq!(split.buckets.len(), count as usize);
                assert_eq!(split.all, store.count(query(buckets.window())).items);
                for (i, counted) in split.buckets.iter().enumerate() {
                    let from = start + i as i64 * width;
                    let one = store.count(query(TimeWindow {
                        from: Some(Micros(from)),
                        to: Some(Micros(from + width - 1)),
                    }));
                    assert_eq!(counted, &one.items, "{selector:?} bucket {i} by {by:?}");
                    nonempty += usize::from(!counted.is_empty());
                }
            }
        }
    }
    nonempty
}

#[tokio::test]
async fn bucketed_counts_equal_a_count_per_bucket_over_hot_and_cold_events() {
    let dir = tempfile::tempdir().unwrap();
    let store = write_history(dir.path()).await;
    let stats = store.stats();
    assert!(stats.hot_events > 0 && stats.hot_events < stats.events);
    assert!(check_buckets(&store) > 50);

    store.close().await;
    drop(store);
    let store = Store::open(config(dir.path())).unwrap();
    store.checkpoint().await.unwrap();
    assert_eq!(store.stats().hot_events, 0);
    assert!(check_buckets(&store) > 50);
}

#[test]
fn an_event_falls_in_the_bucket_of_its_time_and_none_outside() {
    let buckets = Buckets {
        start: Micros(1_000),
        width: 100,
        count: 3,
    };
    assert_eq!(buckets.of(Micros(999)), None);
    assert_eq!(buckets.of(Micros(1_000)), Some(0));
    assert_eq!(buckets.of(Micros(1_099)), Some(0));
    assert_eq!(buckets.of(Micros(1_100)), Some(1));
    assert_eq!(buckets.of(Micros(1_299)), Some(2));
    assert_eq!(buckets.of(Micros(1_300)), None);
    assert_eq!(buckets.window().to, Some(Micros(1_299)));
    assert_eq!(buckets.of(Micros(i64::MIN)), None);
}
