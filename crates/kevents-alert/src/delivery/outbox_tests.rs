//! The delivery rules of [`Outbox`], without I/O.

use super::outbox::{merge_views, Outbox};
use super::SinkKind;
use crate::Alert;
use kevents_model::Micros;
use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

fn firing(name: &str, started: i64) -> Alert {
    Alert {
        labels: BTreeMap::from([("alertname".to_string(), name.to_string())]),
        annotations: BTreeMap::from([("summary".to_string(), format!("{name} fires"))]),
        starts_at: Micros(started),
        ends_at: None,
        generator_url: String::new(),
    }
}

fn resolved(name: &str, started: i64, ended: i64) -> Alert {
    Alert {
        ends_at: Some(Micros(ended)),
        ..firing(name, started)
    }
}

/// Delivers whatever is next and returns it.
fn deliver(outbox: &mut Outbox) -> Vec<Alert> {
    match outbox.next_batch(false) {
        Some(batch) => {
            outbox.settle(&batch);
            batch.alerts
        }
        None => Vec::new(),
    }
}

#[test]
fn alertmanager_is_sent_new_changed_and_resolved_alerts_once() {
    let now = Instant::now();
    let mut outbox = Outbox::new(SinkKind::Alertmanager, BTreeSet::new());
    outbox.observe(vec![firing("A", 1)], now);
    assert_eq!(deliver(&mut outbox), vec![firing("A", 1)]);

    outbox.observe(vec![firing("A", 1)], now);
    assert!(
        deliver(&mut outbox).is_empty(),
        "unchanged alert is not sent"
    );

    let mut changed = firing("A", 1);
    changed.annotations.insert("summary".into(), "worse".into());
    outbox.observe(vec![changed.clone()], now);
    assert_eq!(deliver(&mut outbox), vec![changed]);

    outbox.observe(vec![resolved("A", 1, 5)], now);
    assert_eq!(deliver(&mut outbox), vec![resolved("A", 1, 5)]);
    outbox.observe(vec![], now);
    assert!(deliver(&mut outbox).is_empty());
}

#[test]
fn alertmanager_resend_queues_every_firing_alert() {
    let now = Instant::now();
    let mut outbox = Outbox::new(SinkKind::Alertmanager, BTreeSet::new());
    outbox.observe(vec![firing("A", 1), firing("B", 2)], now);
    deliver(&mut outbox);
    outbox.resend_firing(now);
    assert_eq!(deliver(&mut outbox), vec![firing("A", 1), firing("B", 2)]);
}

#[test]
fn resolve_replaces_a_pending_firing_state_and_stale_firing_does_not_undo_it() {
    let now = Instant::now();
    let mut outbox = Outbox::new(SinkKind::Alertmanager, BTreeSet::new());
    outbox.observe(vec![firing("A", 1)], now);
    outbox.observe(vec![resolved("A", 1, 5)], now);
    outbox.resend_firing(now);
    assert_eq!(deliver(&mut outbox), vec![resolved("A", 1, 5)]);
}

#[test]
fn pending_resolve_survives_later_views_that_no_longer_list_it() {
    let now = Instant::now();
    let mut outbox = Outbox::new(SinkKind::Webhook, BTreeSet::new());
    outbox.observe(vec![firing("A", 1)], now);
    deliver(&mut outbox);
    outbox.observe(vec![resolved("A", 1, 5)], now);
    outbox.observe(vec![firing("B", 6)], now);
    assert_eq!(deliver(&mut outbox), vec![resolved("A", 1, 5)]);
    assert_eq!(deliver(&mut outbox), vec![firing("B", 6)]);
    assert_eq!(
        outbox.notified(),
        &BTreeSet::from(["alertname=B".to_string()])
    );
}

#[test]
fn webhook_is_notified_once_per_firing_and_once_per_resolve() {
    let now = Instant::now();
    let mut outbox = Outbox::new(SinkKind::Webhook, BTreeSet::new());
    outbox.observe(vec![firing("A", 1)], now);
    assert_eq!(deliver(&mut outbox), vec![firing("A", 1)]);
    let mut changed = firing("A", 1);
    changed.annotations.insert("summary".into(), "worse".into());
    outbox.observe(vec![changed], now);
    outbox.resend_firing(now);
    assert!(
        outbox.next_batch(false).is_none(),
        "{:?}",
        outbox.next_batch(false)
    );
    outbox.observe(vec![resolved("A", 1, 5)], now);
    let batch = outbox.next_batch(false).unwrap();
    assert_eq!(batch.status(), "resolved");
    outbox.settle(&batch);
    assert!(outbox.notified().is_empty());
}

#[test]
fn webhook_gets_resolved_and_firing_alerts_in_separate_requests() {
    let now = Instant::now();
    let mut outbox = Outbox::new(SinkKind::Webhook, BTreeSet::new());
    outbox.observe(vec![firing("A", 1)], now);
    deliver(&mut outbox);
    outbox.observe(vec![resolved("A", 1, 5), firing("B", 6)], now);
    let first = outbox.next_batch(false).unwrap();
    assert_eq!((first.status(), first.alerts.len()), ("resolved", 1));
    outbox.settle(&first);
    let second = outbox.next_batch(false).unwrap();
    assert_eq!((second.status(), second.alerts.len()), ("firing", 1));
}

#[test]
fn webhook_skips_alerts_already_notified_before_a_restart() {
    let now = Instant::now();
    let notified = BTreeSet::from(["alertname=A".to_string()]);
    let mut outbox = Outbox::new(SinkKind::Webhook, notified);
    outbox.observe(vec![firing("A", 1)], now);
    assert!(outbox.next_batch(false).is_none());
    outbox.observe(vec![resolved("A", 1, 5)], now);
    assert_eq!(deliver(&mut outbox), vec![resolved("A", 1, 5)]);
}

#[test]
fn webhook_is_not_told_of_a_resolve_it_never_heard_firing() {
    let now = Instant::now();
    let mut outbox = Outbox::new(SinkKind::Webhook, BTreeSet::new());
    outbox.observe(vec![resolved("A", 1, 5)], now);
    assert!(outbox.next_batch(false).is_none());
}

#[test]
fn notified_alerts_missing_from_the_view_are_forgotten() {
    let now = Instant::now();
    let notified = BTreeSet::from(["alertname=Gone".to_string()]);
    let mut outbox = Outbox::new(SinkKind::Webhook, notified);
    assert!(outbox.observe(vec![firing("A", 1)], now));
    assert!(outbox.notified().is_empty());
}

#[test]
fn only_alerts_pending_for_the_whole_window_expire() {
    let start = Instant::now();
    let window = Duration::from_secs(10);
    let mut outbox = Outbox::new(SinkKind::Alertmanager, BTreeSet::new());
    outbox.observe(vec![firing("A", 1)], start);
    outbox.observe(
        vec![firing("A", 1), firing("B", 2)],
        start + Duration::from_secs(6),
    );
    let expired = outbox.expire(start + window, window);
    assert_eq!(expired, vec![firing("A", 1)]);
    assert_eq!(
        outbox.next_batch(false).unwrap().alerts,
        vec![firing("B", 2)]
    );
}

#[test]
fn final_flush_takes_only_resolved_alerts() {
    let now = Instant::now();
    let mut outbox = Outbox::new(SinkKind::Alertmanager, BTreeSet::new());
    outbox.observe(vec![firing("A", 1), firing("B", 2)], now);
    deliver(&mut outbox);
    outbox.observe(
        vec![resolved("A", 1, 5), firing("B", 2), firing("C", 3)],
        now,
    );
    assert_eq!(
        outbox.next_batch(true).unwrap().alerts,
        vec![resolved("A", 1, 5)]
    );
}

#[test]
fn merged_views_keep_a_resolve_the_newer_view_no_longer_lists() {
    let merged = merge_views(
        vec![resolved("A", 1, 5), firing("B", 2)],
        vec![firing("B", 2), firing("C", 3)],
    );
    assert_eq!(
        merged,
        vec![resolved("A", 1, 5), firing("B", 2), firing("C", 3)]
    );
    let refired = merge_views(vec![resolved("A", 1, 5)], vec![firing("A", 9)]);
    assert_eq!(refired, vec![firing("A", 9)]);
    let stale = merge_views(vec![resolved("A", 1, 5)], vec![firing("A", 1)]);
    assert_eq!(stale, vec![resolved("A", 1, 5)]);
}
