//! Reading an archive back: the objects the manifest lists for a cluster and time range, their
//! rows in that range, and of each event (cluster, namespace, name, uid) the latest version.

use crate::location::Location;
use crate::table;
use crate::writer::{read_manifest, row_time};
use crate::ArchiveError;
use kevents_model::{EventRecord, Micros};
use std::collections::HashMap;

/// Which archived events to read.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    /// Only this cluster (all when `None`).
    pub cluster: Option<String>,
    /// Only events last seen at or after this instant.
    pub from: Option<Micros>,
    /// Only events last seen at or before this instant.
    pub to: Option<Micros>,
}

impl Selection {
    fn keeps(&self, cluster: &str, record: &EventRecord) -> bool {
        let time = row_time(record);
        self.cluster.as_deref().is_none_or(|c| c == cluster)
            && self.from.is_none_or(|from| time >= from)
            && self.to.is_none_or(|to| time <= to)
    }
}

/// What [`read_latest`] found.
#[derive(Debug, Default)]
pub struct Restored {
    /// The latest version of each selected event with its cluster, ordered by last occurrence.
    pub events: Vec<(String, EventRecord)>,
    /// Objects read.
    pub objects: usize,
    /// Rows read in the range (every archived version).
    pub rows: usize,
}

/// Keeps the latest version (highest resourceVersion) of each (cluster, namespace, name, uid).
pub fn latest_versions(rows: Vec<(String, EventRecord)>) -> Vec<(String, EventRecord)> {
    let mut latest: HashMap<(String, String, String, String), (String, EventRecord)> =
        HashMap::new();
    for (cluster, record) in rows {
        let key = (
            cluster.clone(),
            record.namespace.clone(),
            record.name.clone(),
            record.uid.clone(),
        );
        match latest.get(&key) {
            Some((_, held)) if held.resource_version >= record.resource_version => {}
            _ => {
                latest.insert(key, (cluster, record));
            }
        }
    }
    let mut events: Vec<(String, EventRecord)> = latest.into_values().collect();
    events.sort_by(|(ca, a), (cb, b)| {
        (row_time(a), ca, &a.namespace, &a.name).cmp(&(row_time(b), cb, &b.namespace, &b.name))
    });
    events
}

/// Reads the objects overlapping `selection` and returns the latest version of every event in
/// it. Memory holds one object's rows plus one version per selected event.
pub async fn read_latest(
    location: &Location,
    selection: &Selection,
) -> Result<Restored, ArchiveError> {
    let manifest = read_manifest(location).await?;
    let objects = manifest.select(selection.cluster.as_deref(), selection.from, selection.to);
    let mut restored = Restored {
        objects: objects.len(),
        ..Default::default()
    };
    let mut rows = Vec::new();
    for object in objects {
        let data = location.get(&object.path).await?.ok_or_else(|| {
            ArchiveError::Corrupt(format!(
                "{}: {} is listed in the manifest but missing",
                location.url(),
                object.path
            ))
        })?;
        let read = table::read(data).map_err(|e| {
            ArchiveError::Corrupt(format!("{}: {}: {e}", location.url(), object.path))
        })?;
        let before = rows.len();
        rows.extend(
            read.into_iter()
                .filter(|(cluster, record)| selection.keeps(cluster, record)),
        );
        restored.rows += rows.len() - before;
        rows = latest_versions(rows);
    }
    restored.events = rows;
    Ok(restored)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::columns::Row;
    use crate::location::ArchiveConfig;
    use crate::writer::Archiver;

    fn version(name: &str, uid: &str, rv: u64, count: i32, last: &str) -> EventRecord {
        EventRecord {
            namespace: "default".into(),
            name: name.into(),
            uid: uid.into(),
            resource_version: rv,
            count,
            last_timestamp: Micros::parse(last),
            ..Default::default()
        }
    }

    #[tokio::test]
    async fn the_latest_version_of_each_event_in_the_range_wins() {
        let location = Location::open(&ArchiveConfig {
            url: "memory://".into(),
            ..Default::default()
        })
        .unwrap();
        let archiver = Archiver::new(location.clone());
        let batches = [
            vec![
                version("a", "u1", 1, 1, "2026-01-01T10:00:00Z"),
                version("b", "u2", 2, 1, "2026-01-01T10:00:00Z"),
            ],
            vec![
                version("a", "u1", 3, 2, "2026-01-01T10:05:00Z"),
                // The same name again after expiry: another event (another uid).
                version("b", "u3", 4, 1, "2026-01-03T10:00:00Z"),
            ],
            // Archived twice (a redelivery after a crash): a duplicate row, not a new event.
            vec![version("a", "u1", 3, 2, "2026-01-01T10:05:00Z")],
        ];
        for batch in &batches {
            let rows: Vec<Row> = batch
                .iter()
                .map(|record| Row {
                    cluster: "prod",
                    record,
                })
                .collect();
            archiver.append(&rows).await.unwrap();
        }
        let everything = read_latest(&location, &Selection::default()).await.unwrap();
        let found: Vec<(&str, &str, i32)> = everything
            .events
            .iter()
            .map(|(_, r)| (r.name.as_str(), r.uid.as_str(), r.count))
            .collect();
        assert_eq!(found, [("b", "u2", 1), ("a", "u1", 2), ("b", "u3", 1)]);
        assert_eq!(everything.objects, 4);

        let first_day = Selection {
            from: Micros::parse("2026-01-01T00:00:00Z"),
            to: Micros::parse("2026-01-01T23:59:59Z"),
            ..Default::default()
        };
        let day = read_latest(&location, &first_day).await.unwrap();
        assert_eq!(day.events.len(), 2);
        assert_eq!(day.objects, 3, "the object of 2026-01-03 is not read");
        let other = Selection {
            cluster: Some("dev".into()),
            ..Default::default()
        };
        assert!(read_latest(&location, &other)
            .await
            .unwrap()
            .events
            .is_empty());
    }
}
