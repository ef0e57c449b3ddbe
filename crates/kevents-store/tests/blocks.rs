//! Sealed checkpoints on disk: a flipped bit in one block is detected by its checksum and costs
//! only that block's events (later writes of them come back from the log); a damaged index
//! costs nothing; a checkpoint cut short by a crash is ignored.

use kevents_model::{EventKey, EventRecord};
use kevents_store::{ListQuery, Mutation, Store, StoreConfig};
use std::path::{Path, PathBuf};

const EVENTS: usize = 100;
const PER_BLOCK: usize = 10;

fn config(dir: &Path) -> StoreConfig {
    let mut config = StoreConfig::new(dir);
    config.log.block_events = PER_BLOCK;
    config
}

fn record(i: usize, message: &str) -> EventRecord {
    let mut record = EventRecord {
        namespace: "ns".into(),
        name: format!("pod-{i:03}.{:x}", 0x1800_0000_0000_0000u64 + i as u64),
        uid: format!("5f1c2a9e-0000-4000-8000-{i:012x}"),
        reason: "Started".into(),
        message: message.into(),
        ..Default::default()
    };
    record.involved_object.name = format!("pod-{i:03}");
    record
}

fn key(i: usize) -> EventKey {
    EventKey::new("ns", record(i, "").name)
}

fn sealed_file(dir: &Path) -> PathBuf {
    std::fs::read_dir(dir.join("wal"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|x| x == "blk"))
        .expect("a sealed checkpoint")
}

/// A store of `EVENTS` events sealed into blocks of `PER_BLOCK`, closed.
async fn sealed_store(dir: &Path) -> PathBuf {
    let store = Store::open(config(dir)).unwrap();
    for i in 0..EVENTS {
        store
            .write(Mutation::Create(record(i, "sealed")))
            .await
            .unwrap();
    }
    store.checkpoint().await.unwrap();
    store.close().await;
    sealed_file(dir)
}

fn flip(path: &Path, offset: usize) {
    let mut bytes = std::fs::read(path).unwrap();
    bytes[offset] ^= 0x04;
    std::fs::write(path, bytes).unwrap();
}

#[tokio::test]
async fn a_bit_flip_costs_one_block_and_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let file = sealed_store(dir.path()).await;
    {
        // Rewrite one event of what will be the damaged block after sealing: the log has it.
        let store = Store::open(config(dir.path())).unwrap();
        let update = Mutation::Update {
            record: record(35, "after the checkpoint"),
            expected_rv: None,
        };
        store.write(update).await.unwrap();
        store.close().await;
    }
    // Past the 8-byte file header, the first block's 8-byte frame header and three more
    // blocks: inside the fourth block (events 30..40) whatever the exact block sizes are,
    // because every block is far longer than a few bytes.
    let bytes = std::fs::read(&file).unwrap();
    let fourth_block = (0..3).fold(8usize, |offset, _| {
        let len = u32::from_le_bytes(bytes[offset..offset + 4].try_into().unwrap()) as usize;
        offset + 8 + len
    });
    flip(&file, fourth_block + 8 + 5);

    let store = Store::open(config(dir.path())).expect("a damaged block does not stop the store");
    assert_eq!(store.stats().corrupt_blocks, 1);
    for i in 0..EVENTS {
        let found = store.get(&key(i));
        match i {
            35 => assert_eq!(found.unwrap().record.message, "after the checkpoint"),
            30..40 => assert!(found.is_none(), "event {i} was in the damaged block"),
            _ => assert_eq!(found.expect("intact block").record.message, "sealed"),
        }
    }
    let damaged = file.with_extension("blk.damaged");
    assert!(damaged.exists(), "the damaged file is kept for inspection");
    // The store goes on: a new checkpoint holds what is left, and opens clean.
    store.checkpoint().await.unwrap();
    store.close().await;
    let store = Store::open(config(dir.path())).unwrap();
    assert_eq!(store.stats().corrupt_blocks, 0);
    let listed = store.list(ListQuery::default(), |_| true).unwrap();
    assert_eq!(listed.items.len(), EVENTS - PER_BLOCK + 1);
    store.close().await;
}

#[tokio::test]
async fn a_damaged_index_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let file = sealed_store(dir.path()).await;
    let len = std::fs::metadata(&file).unwrap().len() as usize;
    flip(&file, len - 20); // the end of the footer, before the 16-byte trailer
    let store = Store::open(config(dir.path())).unwrap();
    assert_eq!(store.stats().corrupt_blocks, 1, "the index is reported");
    let listed = store.list(ListQuery::default(), |_| true).unwrap();
    assert_eq!(listed.items.len(), EVENTS, "blocks are found by scanning");
    store.close().await;
}

#[tokio::test]
async fn a_checkpoint_cut_short_by_a_crash_is_ignored() {
    let dir = tempfile::tempdir().unwrap();
    let file = sealed_store(dir.path()).await;
    let store = Store::open(config(dir.path())).unwrap();
    for i in EVENTS..EVENTS + 5 {
        store
            .write(Mutation::Create(record(i, "in the log")))
            .await
            .unwrap();
    }
    let rv = store.resource_version();
    store.close().await;
    // What kill -9 leaves in the middle of sealing the next checkpoint: half a temporary file.
    let bytes = std::fs::read(&file).unwrap();
    let tmp = dir.path().join(format!("wal/checkpoint-{rv:020}.tmp"));
    std::fs::write(&tmp, &bytes[..bytes.len() / 2]).unwrap();

    let store = Store::open(config(dir.path())).unwrap();
    assert!(!tmp.exists(), "the partial checkpoint is removed");
    assert_eq!(store.stats().corrupt_blocks, 0);
    assert_eq!(store.resource_version(), rv);
    let listed = store.list(ListQuery::default(), |_| true).unwrap();
    assert_eq!(listed.items.len(), EVENTS + 5);
    store.close().await;
}
