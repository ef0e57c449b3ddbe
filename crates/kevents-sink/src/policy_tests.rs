use super::*;
use kevents_model::EventRecord;
use std::collections::BTreeMap;

const SECOND: i64 = 1_000_000;

fn event(name: &str, rv: u64, count: i32) -> Arc<StoredEvent> {
    Arc::new(StoredEvent {
        record: EventRecord {
            namespace: "default".into(),
            name: name.into(),
            resource_version: rv,
            count,
            ..Default::default()
        },
        updated_at: Micros(0),
    })
}

fn emitted(actions: &[Action]) -> Vec<(String, i32, Emission, u64)> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Emit(e, emission, position) => {
                Some((e.record.name.clone(), e.record.count, *emission, *position))
            }
            _ => None,
        })
        .collect()
}

/// Net positions owed after `actions`: every Emit and Hold owes, every Release pays back.
fn owed(actions: &[Action]) -> BTreeMap<u64, i32> {
    let mut owed = BTreeMap::new();
    for action in actions {
        let (position, delta) = match action {
            Action::Emit(_, _, p) | Action::Hold(p) => (*p, 1),
            Action::Release(p) => (*p, -1),
        };
        *owed.entry(position).or_insert(0) += delta;
    }
    owed.retain(|_, n| *n != 0);
    owed
}

#[test]
fn every_update_sends_creates_and_updates_and_ignores_deletes() {
    let mut state = PolicyState::new(Policy::EveryUpdate, 10, usize::MAX);
    let a = state.on_change(ChangeKind::Created, event("a", 1, 1), 1, Micros(0));
    let b = state.on_change(ChangeKind::Updated, event("a", 2, 2), 2, Micros(0));
    let c = state.on_change(ChangeKind::Deleted, event("a", 3, 2), 3, Micros(0));
    assert_eq!(emitted(&a), [("a".into(), 1, Emission::First, 1)]);
    assert_eq!(emitted(&b), [("a".into(), 2, Emission::Update, 2)]);
    assert!(c.is_empty());
}

#[test]
fn first_and_summary_sends_first_then_one_summary_per_interval_with_the_latest_count() {
    let policy = Policy::FirstAndSummary {
        interval: 60 * SECOND,
    };
    let mut state = PolicyState::new(policy, 10, usize::MAX);
    let mut log = state.on_change(ChangeKind::Created, event("a", 1, 1), 1, Micros(0));
    assert_eq!(emitted(&log), [("a".into(), 1, Emission::First, 1)]);
    assert!(
        state.due(Micros(0)).is_empty(),
        "the first tick arms the timer"
    );
    for (rv, count) in [(2, 2), (3, 3), (4, 4)] {
        log.extend(state.on_change(
            ChangeKind::Updated,
            event("a", rv, count),
            rv,
            Micros(rv as i64),
        ));
    }
    assert_eq!(emitted(&log).len(), 1, "updates are held, not sent");
    // Only the latest held update keeps the cursor back; the superseded ones are released.
    assert_eq!(owed(&log), BTreeMap::from([(1, 1), (4, 1)]));
    assert!(state.due(Micros(59 * SECOND)).is_empty());
    let summary = state.due(Micros(60 * SECOND));
    assert_eq!(emitted(&summary), [("a".into(), 4, Emission::Summary, 4)]);
    log.extend(summary);
    assert_eq!(
        owed(&log),
        BTreeMap::from([(1, 1), (4, 1)]),
        "owed until acknowledged"
    );
    assert_eq!(state.held(), 0);
    assert!(
        state.due(Micros(120 * SECOND)).is_empty(),
        "no change, no summary"
    );
}

#[test]
fn series_final_waits_for_quiet_and_flushes_on_delete() {
    let mut state = PolicyState::new(Policy::SeriesFinal { quiet: 10 * SECOND }, 10, usize::MAX);
    state.on_change(ChangeKind::Created, event("a", 1, 1), 1, Micros(0));
    state.on_change(ChangeKind::Updated, event("a", 2, 2), 2, Micros(5 * SECOND));
    state.on_change(ChangeKind::Created, event("b", 3, 1), 3, Micros(5 * SECOND));
    assert!(emitted(&state.due(Micros(14 * SECOND))).is_empty());
    let done = state.due(Micros(15 * SECOND));
    assert_eq!(
        emitted(&done),
        [
            ("a".into(), 2, Emission::Final, 2),
            ("b".into(), 1, Emission::Final, 3)
        ]
    );
    state.on_change(
        ChangeKind::Created,
        event("c", 4, 1),
        4,
        Micros(20 * SECOND),
    );
    let deleted = state.on_change(
        ChangeKind::Deleted,
        event("c", 5, 1),
        5,
        Micros(21 * SECOND),
    );
    assert_eq!(emitted(&deleted), [("c".into(), 1, Emission::Final, 4)]);
}

#[test]
fn held_events_are_bounded_by_sending_the_oldest_early() {
    let mut state = PolicyState::new(
        Policy::SeriesFinal {
            quiet: 1000 * SECOND,
        },
        2,
        usize::MAX,
    );
    state.on_change(ChangeKind::Created, event("a", 1, 1), 1, Micros(0));
    state.on_change(ChangeKind::Created, event("b", 2, 1), 2, Micros(0));
    let third = state.on_change(ChangeKind::Created, event("c", 3, 1), 3, Micros(0));
    assert_eq!(emitted(&third), [("a".into(), 1, Emission::Final, 1)]);
    assert_eq!(state.held(), 2);
    let drained = state.drain();
    assert_eq!(emitted(&drained).len(), 2);
    assert_eq!(state.held(), 0);
}

#[test]
fn held_events_with_huge_messages_are_bounded_in_bytes() {
    let huge = |name: &str, rv: u64| {
        let mut stored = (*event(name, rv, 1)).clone();
        stored.record.message = "m".repeat(100 << 10);
        Arc::new(stored)
    };
    let quiet = Policy::SeriesFinal {
        quiet: 1000 * SECOND,
    };
    let mut state = PolicyState::new(quiet, 100_000, 250 << 10);
    let mut sent = Vec::new();
    for (rv, name) in (1..).zip(["a", "b", "c", "d"]) {
        let actions = state.on_change(ChangeKind::Created, huge(name, rv), rv, Micros(0));
        sent.extend(emitted(&actions).into_iter().map(|(name, ..)| name));
        assert!(state.held_bytes() <= 250 << 10, "{}", state.held_bytes());
    }
    assert_eq!(sent, ["a", "b"], "two of ~100 KiB fit in 250 KiB");
    assert_eq!((state.held(), state.take_sent_early()), (2, 2));
    assert_eq!(state.take_sent_early(), 0);
    // One event larger than the bound is still held, alone.
    let mut state = PolicyState::new(quiet, 100_000, 1024);
    state.on_change(ChangeKind::Created, huge("e", 5), 5, Micros(0));
    assert_eq!(state.held(), 1);
    state.drain();
    assert_eq!(state.held_bytes(), 0);
}

#[test]
fn caught_up_events_held_at_one_position_all_come_out_when_due() {
    // A catch-up gives every event the same position (the version it jumps to).
    let mut state = PolicyState::new(Policy::SeriesFinal { quiet: 10 * SECOND }, 10, usize::MAX);
    let mut log = Vec::new();
    for name in ["a", "b", "c"] {
        log.extend(state.on_change(ChangeKind::Created, event(name, 1, 1), 9, Micros(0)));
    }
    // A later change of one of them supersedes only its own hold.
    log.extend(state.on_change(ChangeKind::Updated, event("b", 10, 2), 10, Micros(0)));
    assert_eq!(state.held(), 3);
    let due = state.due(Micros(10 * SECOND));
    assert_eq!(
        emitted(&due),
        [
            ("a".into(), 1, Emission::Final, 9),
            ("c".into(), 1, Emission::Final, 9),
            ("b".into(), 2, Emission::Final, 10),
        ],
        "in feed order, none left behind"
    );
    log.extend(due);
    assert_eq!(state.held(), 0);
    assert_eq!(
        owed(&log),
        BTreeMap::from([(9, 2), (10, 1)]),
        "each emission owes its position until acknowledged, holds are paid back"
    );
}
