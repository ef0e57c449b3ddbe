//! Appending to an archive: a batch of event versions is cut into partitions (cluster, UTC
//! date of the last occurrence), each becomes one Parquet object, then the manifest is
//! replaced. One archiver per archive location (it keeps the manifest in memory).

use crate::columns::Row;
use crate::location::Location;
use crate::manifest::{Manifest, ObjectEntry, MANIFEST};
use crate::table::TableWriter;
use crate::ArchiveError;
use bytes::Bytes;
use kevents_model::{EventRecord, Micros};
use std::collections::BTreeMap;

/// The instant an event version is filed under: its last occurrence, else its creation.
pub fn row_time(record: &EventRecord) -> Micros {
    record.seen_at()
}

/// The UTC date (`YYYY-MM-DD`) of an instant.
pub fn date_of(time: Micros) -> String {
    let text = time.to_time_string();
    text.get(..10).unwrap_or(&text).to_string()
}

/// The rows of one object: one cluster, one date.
#[derive(Debug)]
pub struct Partition<'a> {
    /// The cluster.
    pub cluster: &'a str,
    /// The UTC date of the rows' last occurrence.
    pub date: String,
    /// The rows, in the order given.
    pub rows: Vec<Row<'a>>,
}

impl Partition<'_> {
    /// The object's path without the `.parquet` suffix: `cluster=<c>/date=<d>/<first>-<last>`.
    pub fn base_path(&self) -> String {
        let versions = self.rows.iter().map(|r| r.record.resource_version);
        let first = versions.clone().min().unwrap_or(0);
        let last = versions.max().unwrap_or(0);
        format!("cluster={}/date={}/{first}-{last}", self.cluster, self.date)
    }
}

/// Cuts a batch into partitions, ordered by cluster and date.
pub fn partition<'a>(rows: &[Row<'a>]) -> Vec<Partition<'a>> {
    let mut partitions: BTreeMap<(&str, String), Vec<Row<'a>>> = BTreeMap::new();
    for row in rows {
        let date = date_of(row_time(row.record));
        partitions
            .entry((row.cluster, date))
            .or_default()
            .push(*row);
    }
    partitions
        .into_iter()
        .map(|((cluster, date), rows)| Partition {
            cluster,
            date,
            rows,
        })
        .collect()
}

/// Appends batches to one archive location.
pub struct Archiver {
    location: Location,
    manifest: tokio::sync::Mutex<Option<Manifest>>,
}

/// Reads the manifest of `location`; an archive without one is empty.
pub async fn read_manifest(location: &Location) -> Result<Manifest, ArchiveError> {
    match location.get(MANIFEST).await? {
        Some(data) => Manifest::parse(&data)
            .map_err(|e| ArchiveError::Corrupt(format!("{}: {MANIFEST}: {e}", location.url()))),
        None => Ok(Manifest::default()),
    }
}

impl Archiver {
    /// An archiver for `location`; the manifest is read on first use.
    pub fn new(location: Location) -> Archiver {
        Archiver {
            location,
            manifest: tokio::sync::Mutex::new(None),
        }
    }

    /// The location.
    pub fn location(&self) -> &Location {
        &self.location
    }

    /// Reads the manifest unless it is already loaded.
    pub async fn load(&self) -> Result<(), ArchiveError> {
        let mut manifest = self.manifest.lock().await;
        if manifest.is_none() {
            *manifest = Some(read_manifest(&self.location).await?);
        }
        Ok(())
    }

    /// Stores `rows` as one object per partition, then the manifest listing them; returns the
    /// new entries. On an error nothing is listed, and appending the same rows again reuses
    /// the same object paths.
    pub async fn append(&self, rows: &[Row<'_>]) -> Result<Vec<ObjectEntry>, ArchiveError> {
        let mut guard = self.manifest.lock().await;
        let current = match guard.take() {
            Some(manifest) => manifest,
            None => read_manifest(&self.location).await?,
        };
        let mut next = current.clone();
        *guard = Some(current);
        let mut added = Vec::new();
        for part in partition(rows) {
            let mut writer = TableWriter::new(Vec::new())?;
            for row in &part.rows {
                writer.push(*row)?;
            }
            let data = Bytes::from(writer.finish()?);
            let path = next.free_path(&part.base_path());
            let versions = part.rows.iter().map(|r| r.record.resource_version);
            let times = part.rows.iter().map(|r| row_time(r.record));
            let entry = ObjectEntry {
                path: path.clone(),
                cluster: part.cluster.to_string(),
                date: part.date.clone(),
                first_resource_version: versions.clone().min().unwrap_or(0),
                last_resource_version: versions.max().unwrap_or(0),
                from: times
                    .clone()
                    .min()
                    .unwrap_or(Micros(0))
                    .to_micro_time_string(),
                to: times.max().unwrap_or(Micros(0)).to_micro_time_string(),
                rows: part.rows.len() as u64,
                bytes: data.len() as u64,
                archived_at: Micros::now().to_time_string(),
            };
            self.location.put(&path, data).await?;
            next.objects.push(entry.clone());
            added.push(entry);
        }
        if added.is_empty() {
            return Ok(added);
        }
        self.location
            .put(MANIFEST, Bytes::from(next.to_json()))
            .await?;
        *guard = Some(next);
        Ok(added)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::location::ArchiveConfig;
    use crate::table;

    fn event(name: &str, rv: u64, last: &str) -> EventRecord {
        EventRecord {
            namespace: "default".into(),
            name: name.into(),
            uid: format!("uid-{name}"),
            resource_version: rv,
            reason: "BackOff".into(),
            count: 1,
            last_timestamp: Micros::parse(last),
            ..Default::default()
        }
    }

    #[test]
    fn rows_are_partitioned_by_cluster_and_date_of_last_occurrence() {
        let a = event("a", 5, "2026-01-01T23:59:59Z");
        let b = event("b", 6, "2026-01-02T00:00:00Z");
        let c = event("c", 7, "2026-01-01T08:00:00Z");
        let mut created_only = event("d", 8, "");
        created_only.creation_timestamp = Micros::parse("2026-01-02T10:00:00Z");
        let rows = [
            Row {
                cluster: "prod",
                record: &a,
            },
            Row {
                cluster: "prod",
                record: &b,
            },
            Row {
                cluster: "dev",
                record: &c,
            },
            Row {
                cluster: "prod",
                record: &created_only,
            },
        ];
        let parts = partition(&rows);
        let paths: Vec<String> = parts.iter().map(Partition::base_path).collect();
        assert_eq!(
            paths,
            [
                "cluster=dev/date=2026-01-01/7-7",
                "cluster=prod/date=2026-01-01/5-5",
                "cluster=prod/date=2026-01-02/6-8",
            ]
        );
        assert_eq!(parts[2].rows.len(), 2);
    }

    #[tokio::test]
    async fn append_writes_objects_then_the_manifest() {
        let dir = tempfile::tempdir().unwrap();
        let config = ArchiveConfig {
            url: format!("file://{}", dir.path().display()),
            ..Default::default()
        };
        let archiver = Archiver::new(Location::open(&config).unwrap());
        let first = [
            event("a", 1, "2026-01-01T10:00:00Z"),
            event("b", 2, "2026-01-02T10:00:00Z"),
        ];
        let rows: Vec<Row> = first
            .iter()
            .map(|record| Row {
                cluster: "default",
                record,
            })
            .collect();
        let added = archiver.append(&rows).await.unwrap();
        assert_eq!(added.len(), 2);
        assert_eq!(added[0].path, "cluster=default/date=2026-01-01/1-1.parquet");
        assert_eq!(added[1].from, "2026-01-02T10:00:00.000000Z");

        // A second archiver (a restarted hub) continues the same manifest.
        let again = Archiver::new(Location::open(&config).unwrap());
        let update = [event("a", 3, "2026-01-01T11:00:00Z")];
        let rows: Vec<Row> = update
            .iter()
            .map(|record| Row {
                cluster: "default",
                record,
            })
            .collect();
        again.append(&rows).await.unwrap();
        let manifest = read_manifest(again.location()).await.unwrap();
        let listed: Vec<(&str, u64)> = manifest
            .objects
            .iter()
            .map(|o| (o.path.as_str(), o.rows))
            .collect();
        assert_eq!(
            listed,
            [
                ("cluster=default/date=2026-01-01/1-1.parquet", 1),
                ("cluster=default/date=2026-01-02/2-2.parquet", 1),
                ("cluster=default/date=2026-01-01/3-3.parquet", 1),
            ]
        );
        let stored = again
            .location()
            .get(&manifest.objects[2].path)
            .await
            .unwrap();
        let read = table::read(stored.unwrap()).unwrap();
        assert_eq!(read, [("default".to_string(), update[0].clone())]);
    }
}
