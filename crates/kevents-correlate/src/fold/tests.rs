use super::*;
use std::collections::BTreeMap;

const T0: i64 = 1_767_225_600_000_000; // 2026-01-01T00:00:00Z, a minute boundary

fn at_ms(millis: i64) -> Micros {
    Micros(T0 + millis * 1000)
}

fn folder(threshold: u64) -> Folder {
    Folder::new(FoldConfig {
        threshold_per_minute: threshold,
        ..FoldConfig::default()
    })
}

#[test]
fn the_first_occurrences_of_a_minute_are_stored_and_the_rest_folded() {
    let mut folder = folder(3);
    let series = SeriesId(7 << 64);
    let decisions: Vec<_> = (0..6)
        .map(|i| folder.offer(series, "default", "web-0", 1, at_ms(i * 100)))
        .collect();
    assert!(decisions[..3].iter().all(|d| *d == FoldDecision::Store));
    let FoldDecision::Folded {
        aggregate,
        count,
        write,
    } = &decisions[3]
    else {
        panic!("the fourth is folded: {:?}", decisions[3]);
    };
    assert_eq!(
        aggregate.name,
        format!("web-0.{:016x}-{:x}", 7, T0 / 60_000_000)
    );
    assert_eq!(*count, 1);
    let create = write.as_ref().expect("the aggregate is created at once");
    assert!(create.create);
    assert_eq!((create.count, create.first_seen), (1, at_ms(300)));
    assert!(
        matches!(
            &decisions[5],
            FoldDecision::Folded {
                count: 3,
                write: None,
                ..
            }
        ),
        "later folds within the write interval wait: {:?}",
        decisions[5]
    );
    let due = folder.due_writes(at_ms(1300));
    assert_eq!(due.len(), 1);
    assert!(!due[0].create);
    assert_eq!((due[0].count, due[0].last_seen), (3, at_ms(500)));
    assert!(folder.due_writes(at_ms(1400)).is_empty(), "nothing owed");
}

#[test]
fn a_new_minute_starts_over_and_finishes_the_last_aggregate() {
    let mut folder = folder(1);
    let series = SeriesId(1);
    folder.offer(series, "default", "web-0", 1, at_ms(0));
    folder.offer(series, "default", "web-0", 1, at_ms(10));
    folder.offer(series, "default", "web-0", 5, at_ms(20));
    assert_eq!(
        folder.offer(series, "default", "web-0", 1, at_ms(60_000)),
        FoldDecision::Store
    );
    let FoldDecision::Folded {
        aggregate,
        write: Some(create),
        ..
    } = folder.offer(series, "default", "web-0", 1, at_ms(60_010))
    else {
        panic!("the second of the new minute folds into a new aggregate");
    };
    assert!(
        create.create
            && aggregate
                .name
                .ends_with(&format!("-{:x}", T0 / 60_000_000 + 1))
    );
    let due = folder.due_writes(at_ms(60_011));
    assert_eq!(
        due.len(),
        1,
        "the last minute's aggregate gets its final count: {due:?}"
    );
    assert_eq!((due[0].count, due[0].create), (6, false));
}

#[test]
fn an_idle_aggregate_is_written_once_its_minute_ends() {
    let mut folder = folder(1);
    for millis in [0, 10, 20] {
        folder.offer(SeriesId(1), "default", "web-0", 1, at_ms(millis));
    }
    assert!(folder.due_writes(at_ms(500)).is_empty());
    let due = folder.due_writes(at_ms(61_000));
    assert_eq!(due.iter().map(|w| w.count).collect::<Vec<_>>(), vec![2]);
    assert_eq!(folder.tracked(), 0, "finished minutes are forgotten");
}

#[test]
fn counts_of_past_minutes_are_forgotten() {
    let mut folder = folder(2);
    for i in 0..1000 {
        assert_eq!(
            folder.offer(SeriesId(i), "a", "x", 1, at_ms(0)),
            FoldDecision::Store
        );
    }
    assert_eq!(folder.tracked(), 1000);
    assert!(folder.due_writes(at_ms(60_000)).is_empty());
    assert_eq!(folder.tracked(), 0);
}

#[test]
fn beyond_max_tracked_new_series_are_stored_unfolded() {
    let mut folder = Folder::new(FoldConfig {
        threshold_per_minute: 0,
        max_tracked: 1,
        ..FoldConfig::default()
    });
    // Series 1 is counted, so series 2 is beyond the limit and stored as it is.
    assert!(matches!(
        folder.offer(SeriesId(1), "a", "x", 1, at_ms(0)),
        FoldDecision::Folded { .. }
    ));
    assert_eq!(
        folder.offer(SeriesId(2), "a", "x", 1, at_ms(1)),
        FoldDecision::Store
    );
    assert_eq!(folder.stats().untracked, 1);
}

#[test]
fn a_requeued_create_is_created_again_with_the_full_count() {
    let mut folder = folder(0);
    let FoldDecision::Folded {
        write: Some(create),
        ..
    } = folder.offer(SeriesId(1), "a", "x", 2, at_ms(0))
    else {
        panic!("folded and created");
    };
    folder.offer(SeriesId(1), "a", "x", 3, at_ms(10));
    folder.requeue(create);
    let due = folder.due_writes(at_ms(20));
    assert_eq!(due.len(), 1);
    assert!(due[0].create);
    assert_eq!(due[0].count, 5);
}

#[test]
fn aggregate_names_are_dns_subdomains() {
    let name = aggregate_name("-Web_0.", SeriesId(u128::MAX), 3);
    assert_eq!(name, "web-0.ffffffffffffffff-3");
    assert!(aggregate_name("___", SeriesId(0), 0).starts_with("event."));
    assert!(aggregate_name(&"a".repeat(300), SeriesId(0), 0).len() <= 253);
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    #[derive(Debug, Clone)]
    enum Step {
        Offer {
            series: u8,
            occurrences: u64,
            advance_ms: i64,
        },
        Tick {
            advance_ms: i64,
        },
        FailNextWrite,
    }

    fn steps() -> impl Strategy<Value = Vec<Step>> {
        let step = prop_oneof![
            8 => (0u8..4, 1u64..4, 0i64..2_000).prop_map(|(series, occurrences, advance_ms)| Step::Offer { series, occurrences, advance_ms }),
            2 => (0i64..70_000).prop_map(|advance_ms| Step::Tick { advance_ms }),
            1 => Just(Step::FailNextWrite),
        ];
        proptest::collection::vec(step, 1..400)
    }

    /// Applies a write to the model store: creates must be new, updates must find their record.
    fn apply(
        store: &mut BTreeMap<EventRef, u64>,
        write: &AggregateWrite,
    ) -> Result<(), TestCaseError> {
        if write.create {
            prop_assert!(
                store.insert(write.target.clone(), write.count).is_none(),
                "created twice: {write:?}"
            );
        } else {
            let stored = store.get_mut(&write.target);
            prop_assert!(stored.is_some(), "update before create: {write:?}");
            if let Some(count) = stored {
                prop_assert!(write.count >= *count, "count went down: {write:?}");
                *count = write.count;
            }
        }
        Ok(())
    }

    proptest! {
        #[test]
        fn stored_counts_sum_to_the_occurrences_offered(threshold in 0u64..6, steps in steps()) {
            let mut folder = folder(threshold);
            let mut store: BTreeMap<EventRef, u64> = BTreeMap::new();
            let mut individual = 0u64;
            let mut offered = 0u64;
            let mut now = 0i64;
            let mut fail_next = false;
            let handle = |folder: &mut Folder, store: &mut BTreeMap<EventRef, u64>, write: AggregateWrite, fail: &mut bool| {
                if std::mem::take(fail) {
                    folder.requeue(write);
                    Ok(())
                } else {
                    apply(store, &write)
                }
            };
            for step in steps {
                match step {
                    Step::Offer { series, occurrences, advance_ms } => {
                        now += advance_ms;
                        offered += occurrences;
                        match folder.offer(SeriesId(u128::from(series) << 64), "ns", "obj", occurrences, at_ms(now)) {
                            FoldDecision::Store => individual += occurrences,
                            FoldDecision::Folded { write: Some(write), .. } => handle(&mut folder, &mut store, write, &mut fail_next)?,
                            FoldDecision::Folded { write: None, .. } => {}
                        }
                    }
                    Step::Tick { advance_ms } => {
                        now += advance_ms;
                        for write in folder.due_writes(at_ms(now)) {
                            handle(&mut folder, &mut store, write, &mut fail_next)?;
                        }
                    }
                    Step::FailNextWrite => fail_next = true,
                }
            }
            for write in folder.drain() {
                apply(&mut store, &write)?;
            }
            prop_assert_eq!(individual + store.values().sum::<u64>(), offered);
        }
    }
}
