//! A store history shared by the tests of questions over time (counts, windowed lists): hot
//! and cold events in two cold files, cold rows written again or deleted (dead rows), series and
//! eventTime-only events, clusters and namespaces, last-seen times spread over ten hours.

#![allow(dead_code)] // each test file uses part of it

use kevents_model::{EventKey, EventRecord, Micros, Series};
use kevents_store::{Mutation, Scope, Store, StoreConfig};
use std::path::Path;

pub const T0: i64 = 1_767_225_600_000_000; // 2026-01-01T00:00:00Z
pub const MINUTE: i64 = 60_000_000;

/// The scopes questions are asked in: everything, a namespace across clusters, a namespace of
/// one cluster, the hub's own cluster.
pub const SCOPES: [Scope<'static>; 4] = [
    Scope::ALL,
    Scope {
        cluster: None,
        namespace: Some("ns1"),
    },
    Scope {
        cluster: Some("prod"),
        namespace: Some("ns0"),
    },
    Scope {
        cluster: Some(""),
        namespace: None,
    },
];

pub fn config(dir: &Path) -> StoreConfig {
    let mut config = StoreConfig::new(dir);
    config.tiers.cold_after_micros = 0;
    config.tiers.cold_block_events = 16;
    config
}

pub fn record(i: usize, version: usize) -> EventRecord {
    let mut record = EventRecord {
        cluster: if i.is_multiple_of(5) {
            "prod".into()
        } else {
            String::new()
        },
        namespace: format!("ns{}", i % 4),
        name: format!("obj{}.{:x}", i % 10, 0x1800_0000_0000_0000u64 + i as u64),
        reason: [
            "BackOff",
            "Pulled",
            "FailedScheduling",
            "Unhealthy",
            "Killing",
        ][(i + version) % 5]
            .into(),
        event_type: if i.is_multiple_of(3) {
            "Warning"
        } else {
            "Normal"
        }
        .into(),
        source_component: if i.is_multiple_of(2) { "kubelet" } else { "" }.into(),
        reporting_controller: "default-scheduler".into(),
        message: format!("message {i}"),
        count: 1 + (i % 5) as i32,
        last_timestamp: Some(Micros(T0 + (i + 7 * version) as i64 * MINUTE)),
        ..Default::default()
    };
    record.involved_object.kind = if i.is_multiple_of(2) { "Pod" } else { "Node" }.into();
    record.involved_object.name = format!("obj{}", i % 10);
    if i.is_multiple_of(11) {
        record.series = Some(Series {
            count: 20 + i as i32,
            last_observed: Some(Micros(T0 + (i as i64 + 3) * MINUTE)),
        });
    }
    if i.is_multiple_of(13) {
        record.last_timestamp = None;
        record.event_time = Some(Micros(T0 + i as i64 * MINUTE - 30_000_000));
    }
    record
}

pub fn key(i: usize) -> EventKey {
    record(i, 0).key()
}

/// Opens a store in `dir` and writes the history: 450 events sealed into two cold files, 50 of
/// them written again and 27 deleted since, then 150 more hot ones.
pub async fn write_history(dir: &Path) -> Store {
    let store = Store::open(config(dir)).unwrap();
    let create = |i: usize| Mutation::Create(record(i, 0));
    for i in 0..300 {
        store.write(create(i)).await.unwrap();
    }
    store.checkpoint().await.unwrap();
    for i in 300..450 {
        store.write(create(i)).await.unwrap();
    }
    store.checkpoint().await.unwrap();
    // Cold rows written again (new reason and time) or deleted are dead in their files.
    for i in (0..450).step_by(9) {
        let update = Mutation::Update {
            record: record(i, 1),
            expected_rv: None,
        };
        store.write(update).await.unwrap();
    }
    for i in (4..450).step_by(17) {
        let delete = Mutation::Delete {
            key: key(i),
            expected_rv: None,
            expected_uid: None,
        };
        store.write(delete).await.unwrap();
    }
    for i in 450..600 {
        store.write(create(i)).await.unwrap();
    }
    store
}

/// Flips a bit inside the last time index chunk of every cold file in `dir` (just before the
/// footer): that chunk then fails its checksum, and questions over it fall back to the blocks.
pub fn damage_last_time_index_chunks(dir: &Path) {
    for path in std::fs::read_dir(dir.join("wal")).unwrap() {
        let path = path.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        if !name.starts_with("cold-") {
            continue;
        }
        let mut bytes = std::fs::read(&path).unwrap();
        let trailer = bytes.len() - 16;
        let footer = u32::from_le_bytes(bytes[trailer..trailer + 4].try_into().unwrap()) as usize;
        bytes[trailer - footer - 10] ^= 0x10;
        std::fs::write(&path, &bytes).unwrap();
    }
}
