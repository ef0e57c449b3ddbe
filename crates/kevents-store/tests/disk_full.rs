//! A full disk: on a 4 MiB tmpfs the store is filled until a write fails with "no space", then
//! reads must keep working, nothing stored may be damaged, a checkpoint that cannot be written
//! must leave nothing behind, and writes must resume once space is freed, also after a restart.
//!
//! Mounting needs root (CAP_SYS_ADMIN); where it is refused the test says so and passes.

use kevents_model::{EventKey, EventRecord};
use kevents_store::{ListQuery, Mutation, Store, StoreConfig, StoreError};
use std::path::{Path, PathBuf};
use std::process::Command;

/// A tmpfs mounted for the test, unmounted on drop.
struct Tmpfs {
    path: PathBuf,
    _dir: tempfile::TempDir,
}

impl Tmpfs {
    fn mount(size: &str) -> Result<Tmpfs, String> {
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let output = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .output()
            .map_err(|e| format!("cannot run mount: {e}"))?;
        if !output.status.success() {
            return Err(String::from_utf8_lossy(&output.stderr).trim().to_string());
        }
        Ok(Tmpfs {
            path: dir.path().to_path_buf(),
            _dir: dir,
        })
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        // Lazily, so a failed test whose store still has files open leaves no mount behind.
        let _ = Command::new("umount").arg("-l").arg(&self.path).status();
    }
}

fn record(i: usize) -> EventRecord {
    EventRecord {
        namespace: "fill".into(),
        name: format!("event-{i:05}"),
        uid: format!("uid-{i}"),
        reason: "BackOff".into(),
        // Varied text so no layer could compress it away.
        message: (0..40)
            .map(|j| format!("{:x}", (i * 7919 + j) * 104729))
            .collect(),
        ..Default::default()
    }
}

fn files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir.join("wal"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[tokio::test]
async fn full_disk_fails_writes_keeps_reads_and_recovers_when_space_returns() {
    let tmpfs = match Tmpfs::mount("4m") {
        Ok(tmpfs) => tmpfs,
        Err(why) => {
            eprintln!("SKIPPED: mounting a tmpfs is not permitted here ({why})");
            return;
        }
    };
    let data = tmpfs.path.join("data");
    let ballast = tmpfs.path.join("ballast");
    std::fs::write(&ballast, vec![7u8; 1024 * 1024]).unwrap();
    let store = Store::open(StoreConfig::new(&data)).unwrap();

    let mut stored = 0;
    let full = loop {
        match store.write(Mutation::Create(record(stored))).await {
            Ok(_) => stored += 1,
            Err(e) => break e,
        }
        assert!(stored < 100_000, "a 4 MiB disk never filled");
    };
    assert!(
        matches!(full, StoreError::Io { no_space: true, .. }),
        "a full disk is reported as such: {full:?}"
    );
    let rv_when_full = store.resource_version();

    // Reads keep working and show exactly the acknowledged writes.
    let listed = store.list(ListQuery::default(), |_| true).unwrap();
    assert_eq!(listed.items.len(), stored);
    assert!(store.get(&EventKey::new("fill", "event-00000")).is_some());
    // Further writes fail the same way, without wedging the writer.
    for _ in 0..3 {
        let again = store.write(Mutation::Create(record(stored))).await;
        assert!(matches!(again, Err(StoreError::Io { no_space: true, .. })));
    }
    let refused = store.accepts_writes();
    assert!(
        matches!(refused, Err(StoreError::Io { no_space: true, .. })),
        "a full disk does not accept writes: {refused:?}"
    );
    // A checkpoint cannot be written either, and leaves no partial file taking space.
    let before = files(&data);
    assert!(store.checkpoint().await.is_err());
    let after: Vec<String> = files(&data)
        .into_iter()
        .filter(|f| !f.ends_with(".log"))
        .collect();
    let before_non_log: Vec<String> = before
        .into_iter()
        .filter(|f| !f.ends_with(".log"))
        .collect();
    assert_eq!(
        after, before_non_log,
        "no temporary checkpoint is left behind"
    );
    assert_eq!(
        store.resource_version(),
        rv_when_full,
        "failed writes take no version"
    );

    // Space returns: writes resume where they stopped.
    std::fs::remove_file(&ballast).unwrap();
    assert_eq!(
        store.accepts_writes(),
        Ok(()),
        "freed space is found at once"
    );
    let resumed = store
        .write(Mutation::Create(record(stored)))
        .await
        .expect("writes resume once space is free");
    assert_eq!(resumed.object.record.resource_version, rv_when_full + 1);
    stored += 1;
    store.close().await;

    // Nothing stored was damaged: a restart finds every acknowledged event, intact.
    let store = Store::open(StoreConfig::new(&data)).unwrap();
    let listed = store.list(ListQuery::default(), |_| true).unwrap();
    assert_eq!(listed.items.len(), stored);
    for (i, event) in listed.items.iter().enumerate() {
        assert_eq!(event.record, {
            let mut expected = record(i);
            expected.resource_version = event.record.resource_version;
            expected
        });
    }
    store.write(Mutation::Create(record(stored))).await.unwrap();
    store.close().await;
}
