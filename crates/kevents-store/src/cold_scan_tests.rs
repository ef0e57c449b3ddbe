//! A cold file's scans by object name answer the same whether the file's object index, its
//! per-block name filters (files written before the index) or nothing narrows the blocks,
//! alone or with a time window, from any start key and in any span.

use super::*;
use crate::cold::{cmp_records, ColdFile};
use crate::sealed::{SealedIndex, SealedKind};
use crate::TimeWindow;
use kevents_model::{EventRecord, Micros};
use std::collections::BTreeMap;

const T0: i64 = 1_767_225_600_000_000;

fn events() -> Vec<Arc<StoredEvent>> {
    let mut events: Vec<Arc<StoredEvent>> = (0..3000u64)
        .map(|i| {
            let mut record = EventRecord {
                namespace: format!("ns{}", i % 5),
                name: format!("obj{}.{:x}", i % 37, 0x1700_0000 + i),
                last_timestamp: Some(Micros(T0 + (i as i64 % 600) * 60_000_000)),
                ..Default::default()
            };
            record.involved_object.name = format!("obj{}", i % 37);
            Arc::new(StoredEvent {
                record,
                updated_at: Micros(T0),
            })
        })
        .collect();
    events.sort_by(|a, b| cmp_records(&a.record, &b.record));
    events
}

/// `events` as cold file 1 in `dir`, in blocks of 16; returns its path.
fn write_cold_file(dir: &std::path::Path, events: &[Arc<StoredEvent>]) -> std::path::PathBuf {
    let path = dir.join("cold-1.blk");
    let out = std::fs::File::create(&path).unwrap();
    let kind = SealedKind::Cold { rows: events.len() };
    crate::sealed::write(out, 1, events.iter().cloned(), 16, kind).unwrap();
    path
}

fn names(found: impl Iterator<Item = Arc<StoredEvent>>) -> Vec<String> {
    found.map(|e| e.record.name.clone()).collect()
}

#[test]
fn scans_by_object_name_answer_alike_with_the_object_index_the_filters_or_neither() {
    let dir = tempfile::tempdir().unwrap();
    let events = events();
    let path = write_cold_file(dir.path(), &events);
    let open = || ColdFile::open(1, &path, Vec::new(), BTreeMap::new()).unwrap();
    let indexed = open();
    assert!(indexed.index.object_index.is_some());
    // The same file as one written before the object index, and before name filters.
    let mut filtered = open();
    filtered.index = Arc::new(SealedIndex {
        object_index: None,
        ..(*filtered.index).clone()
    });
    let mut bare = open();
    bare.index = Arc::new(SealedIndex {
        object_index: None,
        objects: Default::default(),
        ..(*bare.index).clone()
    });
    let colds: Vec<Cold> = [indexed, filtered, bare]
        .into_iter()
        .map(|file| {
            let mut cold = Cold::default();
            cold.files.push(file);
            cold
        })
        .collect();
    let window = TimeWindow {
        from: Some(Micros(T0 + 100 * 60_000_000)),
        to: Some(Micros(T0 + 250 * 60_000_000)),
    };
    let spans = [
        Scope::ALL,
        Scope {
            cluster: Some(""),
            namespace: Some("ns2"),
        },
    ];
    let starts = [None, Some(events[1234].record.key())];
    let mut checked = 0;
    for object in ["obj0", "obj17", "obj36", "nobody"] {
        for seen in [None, Some(window)] {
            for span in spans {
                for start in &starts {
                    let expected: Vec<String> = events
                        .iter()
                        .filter(|e| e.record.involved_object.name == object)
                        .filter(|e| span.contains_record(&e.record))
                        .filter(|e| seen.is_none_or(|w| w.contains(e.record.seen_at())))
                        .filter(|e| {
                            start
                                .as_ref()
                                .is_none_or(|k| cmp_record(&e.record, k).is_gt())
                        })
                        .map(|e| e.record.name.clone())
                        .collect();
                    let lower = start.clone().map_or(Bound::Unbounded, Bound::Excluded);
                    let pushdown = Pushdown {
                        object: Some(object),
                        fields: None,
                        seen,
                    };
                    for cold in &colds {
                        // The scan may return rows the pushdown cannot rule out; the caller
                        // checks each event, as lists do.
                        let found = scan(cold, lower.clone(), span, pushdown)
                            .filter(|e| e.record.involved_object.name == object)
                            .filter(|e| seen.is_none_or(|w| w.contains(e.record.seen_at())));
                        assert_eq!(
                            names(found),
                            expected,
                            "{object} {seen:?} {span:?} {start:?}"
                        );
                    }
                    checked += usize::from(!expected.is_empty());
                }
            }
        }
    }
    assert!(checked > 20, "only {checked} scans found events");
}

#[test]
fn the_block_cache_is_bounded_in_bytes_and_keeps_the_block_just_read() {
    let dir = tempfile::tempdir().unwrap();
    let events = events();
    let path = write_cold_file(dir.path(), &events);
    let mut cold = Cold::default();
    cold.files
        .push(ColdFile::open(1, &path, Vec::new(), BTreeMap::new()).unwrap());
    let blocks = cold.files[0].index.blocks.len();
    assert!(blocks > 100, "{blocks}");
    let one_block: usize = cold
        .block(&cold.files[0], 0)
        .iter()
        .map(|e| e.record.approximate_bytes())
        .sum();
    let limit = 10 * one_block;
    cold.set_cache_limit(limit);
    for block in 0..blocks {
        let rows = cold.block(&cold.files[0], block);
        assert_eq!(rows.len(), 16.min(events.len() - block * 16));
        assert!(
            cold.cache_bytes() <= limit + one_block,
            "{}",
            cold.cache_bytes()
        );
    }
    assert!(
        cold.cache_bytes() >= limit - 2 * one_block,
        "the cache is used up to its bound"
    );
    // Below one block, the block just read is still kept.
    cold.set_cache_limit(1);
    cold.block(&cold.files[0], 3);
    assert!(cold.cache_bytes() > 0 && cold.cache_bytes() <= 2 * one_block);
    cold.forget(1);
    assert_eq!(cold.cache_bytes(), 0);
}
