//! Storm folding on the write path: the decision comes from [`kevents_correlate::fold::Folder`];
//! this file performs the aggregate writes it hands out (now, and periodically).

use super::decisions::Decisions;
use crate::error::ApiError;
use crate::guaranteed::increment;
use kevents_correlate::fold::{AggregateWrite, FoldConfig, FoldDecision, Folder};
use kevents_correlate::SeriesId;
use kevents_model::{ApiGroup, EventKey, EventRecord, Micros, Series};
use kevents_store::{Mutation, Store, StoreError};
use parking_lot::Mutex;
use std::collections::HashMap;

/// Aggregate templates by target, for writes handed out later.
type Templates = HashMap<EventKey, (i64, EventRecord)>;

/// The folder plus what it needs to create aggregates later.
pub(super) struct Folding {
    pub(super) folder: Folder,
    /// The first folded event of each aggregate (its cluster and fields), by target.
    pub(super) templates: Templates,
}

/// Annotation on an aggregate record: the series it folds.
pub const AGGREGATE_ANNOTATION: &str = "kevents.io/folded-series";

impl Folding {
    pub(super) fn new(config: FoldConfig) -> Folding {
        Folding {
            folder: Folder::new(config),
            templates: Templates::new(),
        }
    }
}

/// Offers a new event to the folder; `Some(event)` when it was folded (answer with it).
pub(super) async fn offer(
    decisions: &Decisions,
    folding: &Mutex<Folding>,
    store: &Store,
    group: ApiGroup,
    record: &EventRecord,
    series: SeriesId,
    now: Micros,
) -> Result<Option<EventRecord>, ApiError> {
    let occurrences = u64::try_from(record.occurrences().max(1)).unwrap_or(1);
    let (decision, key) = {
        let mut folding = folding.lock();
        let object = &record.involved_object.name;
        let decision = folding
            .folder
            .offer(series, &record.namespace, object, occurrences, now);
        let key = match &decision {
            FoldDecision::Store => None,
            FoldDecision::Folded { aggregate, .. } => {
                let key =
                    EventKey::in_cluster(&record.cluster, &aggregate.namespace, &aggregate.name);
                let minute = now.0.div_euclid(60_000_000);
                folding
                    .templates
                    .entry(key.clone())
                    .or_insert_with(|| (minute, record.clone()));
                Some(key)
            }
        };
        (decision, key)
    };
    let (FoldDecision::Folded { count, write, .. }, Some(key)) = (decision, key) else {
        return Ok(None);
    };
    decisions.count("folded");
    if let Some(write) = write {
        if let Err(e) = apply(store, folding, group, &write).await {
            folding.lock().folder.requeue(write);
            return Err(e);
        }
        decisions.count("aggregate_written");
    }
    // The aggregate as clients will see it once the pending count is written.
    let mut shown = match store.get(&key) {
        Some(held) => held.record.clone(),
        None => return Ok(None),
    };
    set_count(&mut shown, count, now);
    Ok(Some(shown))
}

fn set_count(record: &mut EventRecord, count: u64, last_seen: Micros) {
    let count = i32::try_from(count).unwrap_or(i32::MAX);
    match &mut record.series {
        Some(series) => {
            series.count = count;
            series.last_observed =
                Some(series.last_observed.map_or(last_seen, |l| l.max(last_seen)));
        }
        None => {
            record.count = count;
            let at = last_seen.truncate_to_seconds();
            record.last_timestamp = Some(record.last_timestamp.map_or(at, |l| l.max(at)));
        }
    }
}

/// Performs one aggregate write: create it from its template, or set its count.
pub(super) async fn apply(
    store: &Store,
    folding: &Mutex<Folding>,
    group: ApiGroup,
    write: &AggregateWrite,
) -> Result<(), ApiError> {
    let template = {
        let folding = folding.lock();
        folding
            .templates
            .iter()
            .find(|(key, _)| {
                key.namespace == write.target.namespace && key.name == write.target.name
            })
            .map(|(key, (_, record))| (key.clone(), record.clone()))
    };
    let Some((key, template)) = template else {
        tracing::warn!(aggregate = %write.target.name, "no template for a folded aggregate; its count is lost");
        return Ok(());
    };
    if write.create {
        let mut record = template;
        record.name = write.target.name.clone();
        record.generate_name.clear();
        record.uid = crate::uid::new_uid();
        record.creation_timestamp = Some(Micros::now().truncate_to_seconds());
        record.resource_version = 0;
        record
            .annotations
            .insert(AGGREGATE_ANNOTATION.to_string(), write.series.to_string());
        let count = i32::try_from(write.count).unwrap_or(i32::MAX);
        if record.event_time.is_some() {
            record.series = Some(Series {
                count,
                last_observed: Some(write.last_seen),
            });
        } else {
            record.series = None;
            record.count = count;
            record.first_timestamp = Some(write.first_seen.truncate_to_seconds());
            record.last_timestamp = Some(write.last_seen.truncate_to_seconds());
        }
        match store.write(Mutation::Create(record)).await {
            Ok(_) => return Ok(()),
            // Written before (a retried create): set its count instead.
            Err(StoreError::AlreadyExists(_)) => {}
            Err(e) => return Err(ApiError::from_store(e, group, &write.target.name)),
        }
    }
    let updated = increment(store, group, &key, |held| {
        set_count(held, write.count, write.last_seen)
    })
    .await?;
    if updated.is_none() {
        tracing::warn!(aggregate = %write.target.name, "a folded aggregate was deleted before its count was written");
    }
    Ok(())
}
