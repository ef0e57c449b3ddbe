//! The archive sink: each batch becomes Parquet objects (one per cluster and date) in object
//! storage plus a new manifest, through `kevents_archive`. Delivery, the cursor, retries and
//! batching are the engine's, as for every sink; a failed upload retries the whole batch
//! under the same object names.

use crate::delivery::{all, BoxFuture, Delivery, Encoded, Sink, Verdict};
use kevents_archive::columns::Row;
use kevents_archive::{ArchiveConfig, Archiver};

/// Archive settings that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ArchiveConfigError {
    /// A field is wrong; the message names it.
    #[error("archive.{0}")]
    Field(String),
    /// The location cannot be opened.
    #[error("archive: {0}")]
    Location(kevents_archive::ArchiveError),
}

/// The sink the `archive:` settings describe (an S3-compatible bucket or a directory).
pub fn build(config: &ArchiveConfig) -> Result<ArchiveSink, ArchiveConfigError> {
    let location = kevents_archive::Location::open(config).map_err(|e| match e {
        kevents_archive::ArchiveError::Config(message) => ArchiveConfigError::Field(message),
        other => ArchiveConfigError::Location(other),
    })?;
    Ok(ArchiveSink::new(Archiver::new(location)))
}

/// Archives batches into one location.
pub struct ArchiveSink {
    archiver: Archiver,
}

impl ArchiveSink {
    /// A sink writing through `archiver`.
    pub fn new(archiver: Archiver) -> ArchiveSink {
        ArchiveSink { archiver }
    }
}

impl Sink for ArchiveSink {
    fn prepare(&self) -> BoxFuture<'_, Verdict> {
        Box::pin(async move {
            match self.archiver.load().await {
                Ok(()) => Verdict::Delivered,
                Err(e) => Verdict::Retry(e.to_string()),
            }
        })
    }

    // Rows are encoded per batch in `send` (Parquet is columnar); the event stays shared.
    fn encode(&self, delivery: Delivery) -> Result<Encoded, (Delivery, String)> {
        Ok(Encoded {
            delivery,
            payload: Default::default(),
            key: String::new(),
        })
    }

    fn send<'a>(&'a self, batch: &'a [Encoded]) -> BoxFuture<'a, Vec<Verdict>> {
        Box::pin(async move {
            let rows: Vec<Row<'_>> = batch
                .iter()
                .map(|item| Row {
                    cluster: &item.delivery.cluster,
                    record: &item.delivery.event.record,
                })
                .collect();
            match self.archiver.append(&rows).await {
                Ok(_) => all(batch.len(), Verdict::Delivered),
                Err(e) => all(batch.len(), Verdict::Retry(e.to_string())),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::{parse, start, HubContext, SinkMetrics};
    use kevents_archive::reader::{read_latest, Selection};
    use kevents_archive::writer::read_manifest;
    use kevents_archive::{ArchiveConfig, Location};
    use kevents_model::{EventRecord, Micros};
    use kevents_store::{Mutation, Store, StoreConfig};
    use std::path::Path;
    use std::time::Duration;

    async fn write(store: &Store, name: &str, count: i32) {
        let record = EventRecord {
            namespace: "default".into(),
            name: name.into(),
            reason: "BackOff".into(),
            count,
            last_timestamp: Some(Micros(1_767_225_600_000_000 + i64::from(count))),
            ..Default::default()
        };
        let mutation = match count {
            1 => Mutation::Create(record),
            _ => Mutation::Update {
                record,
                expected_rv: None,
            },
        };
        store.write(mutation).await.unwrap();
    }

    async fn archive_until(store: &Store, dir: &Path, location: &Location, rows: u64) {
        let text = format!(
            "sinks:\n- name: history\n  archive: {{url: '{}'}}\n  batch: {{maxEvents: 4, maxWait: 20ms}}\n",
            location.url()
        );
        let specs = parse("t.yaml", &text).unwrap();
        let (stop, shutdown) = tokio::sync::watch::channel(false);
        let hub = HubContext {
            data_dir: dir.to_path_buf(),
            hub_cluster: "default".into(),
            store: store.clone(),
        };
        let task = start(specs, hub, &SinkMetrics::default(), shutdown);
        let mut archived = 0;
        for _ in 0..500 {
            let manifest = read_manifest(location).await.unwrap();
            archived = manifest.objects.iter().map(|o| o.rows).sum();
            if archived >= rows {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(archived, rows);
        let _ = stop.send(true);
        task.await.unwrap();
    }

    #[test]
    fn archive_defaults_are_large_batches_from_the_earliest_event() {
        let dir = tempfile::tempdir().unwrap();
        let text = format!(
            "sinks:\n- name: history\n  archive: {{url: 'file://{}'}}\n",
            dir.path().display()
        );
        let spec = &parse("t.yaml", &text).unwrap()[0];
        assert_eq!((spec.kind, spec.concurrency), ("archive", 1));
        assert_eq!(spec.limits.max_events, 10_000);
        assert_eq!(spec.limits.max_wait, Duration::from_secs(60));
        assert_eq!(spec.start_at, crate::config::StartAt::Earliest);
        let parallel = format!("{text}  concurrency: 2\n");
        let error = parse("t.yaml", &parallel)
            .err()
            .expect("refused")
            .to_string();
        assert!(error.contains("one ordered connection"), "{error}");
    }

    #[tokio::test]
    async fn a_restarted_archive_resumes_after_its_cursor_with_every_version() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(StoreConfig::new(dir.path().join("store"))).unwrap();
        let config = ArchiveConfig {
            url: format!("file://{}/archive", dir.path().display()),
            ..Default::default()
        };
        let location = Location::open(&config).unwrap();
        for i in 0..6 {
            write(&store, &format!("e{i}"), 1).await;
        }
        write(&store, "e0", 2).await;
        write(&store, "e0", 3).await;
        // A new archive of a store that still retains all its history starts with every
        // version: six creates and e0's two updates.
        archive_until(&store, dir.path(), &location, 8).await;
        let cursor = std::fs::read_to_string(dir.path().join("sinks/history.cursor")).unwrap();
        assert_eq!(cursor.trim(), store.resource_version().to_string());

        write(&store, "e1", 2).await;
        write(&store, "late", 1).await;
        archive_until(&store, dir.path(), &location, 10).await;

        let restored = read_latest(&location, &Selection::default()).await.unwrap();
        assert_eq!(restored.rows, 10, "one row per version, none twice");
        let counts: Vec<(String, i32)> = restored
            .events
            .iter()
            .map(|(cluster, r)| (format!("{cluster}/{}", r.name), r.count))
            .collect();
        assert_eq!(counts.len(), 7);
        assert!(counts.contains(&("default/e0".into(), 3)), "{counts:?}");
        assert!(counts.contains(&("default/e1".into(), 2)), "{counts:?}");
        assert!(counts.contains(&("default/late".into(), 1)), "{counts:?}");
        store.close().await;
    }
}
