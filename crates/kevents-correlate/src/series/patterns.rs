//! The patterns view: series merged across objects by (cluster, reason, template), with how
//! many distinct objects share each pattern. Computed on demand from the series.

use super::record::Series;
use crate::key::{KeyBuffer, Prehashed};
use kevents_model::Micros;
use std::collections::{HashMap, HashSet};
use std::fmt;

/// Compact id of a pattern: a 64-bit XXH3 hash of (cluster, reason, template), 16 hex digits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PatternId(pub u64);

impl fmt::Display for PatternId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:016x}", self.0)
    }
}

/// Series that share cluster, reason and message template, whatever their objects.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pattern {
    /// The compact id.
    pub id: PatternId,
    /// The cluster; empty for the hub's own events.
    pub cluster: String,
    /// `reason`.
    pub reason: String,
    /// The message template.
    pub template: String,
    /// `type` of the latest occurrence.
    pub event_type: String,
    /// Number of series merged.
    pub series: usize,
    /// Number of distinct involved objects among them.
    pub objects: usize,
    /// Number of distinct namespaces among them.
    pub namespaces: usize,
    /// Exact number of occurrences (sum over the series).
    pub count: u64,
    /// Earliest occurrence.
    pub first_seen: Micros,
    /// Latest occurrence.
    pub last_seen: Micros,
    /// Message of the latest occurrence.
    pub latest_message: String,
}

struct Building<'a> {
    first: &'a Series,
    latest: &'a Series,
    series: usize,
    count: u64,
    first_seen: Micros,
    objects: HashSet<u64, Prehashed>,
    namespaces: HashSet<&'a str>,
}

/// The patterns of `series`, most occurrences first; ties by reason, then template.
pub(super) fn group<'a>(series: impl Iterator<Item = &'a Series>) -> Vec<Pattern> {
    let mut buffer = KeyBuffer::default();
    let mut building: HashMap<PatternId, Building<'a>, Prehashed> = HashMap::default();
    for series in series {
        let key = series.key();
        let id = PatternId(
            buffer
                .start()
                .field(key.cluster)
                .field(key.reason)
                .field(key.template)
                .hash64(),
        );
        let object = key.parts().object_id(&mut buffer);
        let entry = building.entry(id).or_insert_with(|| Building {
            first: series,
            latest: series,
            series: 0,
            count: 0,
            first_seen: series.first_seen,
            objects: HashSet::default(),
            namespaces: HashSet::new(),
        });
        entry.series += 1;
        entry.count += series.count;
        entry.first_seen = entry.first_seen.min(series.first_seen);
        if series.last_seen > entry.latest.last_seen {
            entry.latest = series;
        }
        entry.objects.insert(object);
        entry.namespaces.insert(key.namespace);
    }
    let mut patterns: Vec<Pattern> = building
        .into_iter()
        .map(|(id, b)| Pattern {
            id,
            cluster: b.first.key().cluster.to_string(),
            reason: b.first.key().reason.to_string(),
            template: b.first.key().template.to_string(),
            event_type: b.latest.key().event_type.to_string(),
            series: b.series,
            objects: b.objects.len(),
            namespaces: b.namespaces.len(),
            count: b.count,
            first_seen: b.first_seen,
            last_seen: b.latest.last_seen,
            latest_message: b.latest.latest_message().to_string(),
        })
        .collect();
    patterns.sort_by(|a, b| {
        b.count
            .cmp(&a.count)
            .then_with(|| a.reason.cmp(&b.reason))
            .then_with(|| a.template.cmp(&b.template))
            .then_with(|| a.cluster.cmp(&b.cluster))
    });
    patterns
}
