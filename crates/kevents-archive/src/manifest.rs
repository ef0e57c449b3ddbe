//! The manifest: `manifest.json` at the archive's root lists every Parquet object with its
//! partition, resourceVersion range, time range and row count. It is replaced with one PUT
//! after the objects it adds are stored, so it never names an object that is not there.

use kevents_model::Micros;
use serde::{Deserialize, Serialize};

/// The manifest's object name, under the archive's prefix.
pub const MANIFEST: &str = "manifest.json";

/// The manifest's format version.
pub const FORMAT_VERSION: u32 = 1;

/// The whole manifest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Manifest {
    /// [`FORMAT_VERSION`].
    pub version: u32,
    /// The objects, in the order they were added.
    pub objects: Vec<ObjectEntry>,
}

impl Default for Manifest {
    fn default() -> Manifest {
        Manifest {
            version: FORMAT_VERSION,
            objects: Vec::new(),
        }
    }
}

/// One Parquet object.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectEntry {
    /// Path under the archive's prefix: `cluster=<c>/date=<YYYY-MM-DD>/<first>-<last>.parquet`.
    pub path: String,
    /// The cluster of every row.
    pub cluster: String,
    /// The UTC date of every row's last occurrence.
    pub date: String,
    /// The lowest resourceVersion of a row.
    pub first_resource_version: u64,
    /// The highest resourceVersion of a row.
    pub last_resource_version: u64,
    /// The earliest last occurrence of a row (RFC 3339).
    pub from: String,
    /// The latest last occurrence of a row (RFC 3339).
    pub to: String,
    /// Rows (event versions).
    pub rows: u64,
    /// Size of the object in bytes.
    pub bytes: u64,
    /// When the object was written (RFC 3339).
    pub archived_at: String,
}

impl ObjectEntry {
    /// Whether the object may hold rows of `cluster` in `[from, to]` (either end open).
    pub fn overlaps(
        &self,
        cluster: Option<&str>,
        from: Option<Micros>,
        to: Option<Micros>,
    ) -> bool {
        let starts = Micros::parse(&self.from).unwrap_or(Micros(i64::MIN));
        let ends = Micros::parse(&self.to).unwrap_or(Micros(i64::MAX));
        cluster.is_none_or(|c| c == self.cluster)
            && from.is_none_or(|from| ends >= from)
            && to.is_none_or(|to| starts <= to)
    }
}

impl Manifest {
    /// Parses a stored manifest.
    pub fn parse(data: &[u8]) -> Result<Manifest, String> {
        let manifest: Manifest = serde_json::from_slice(data).map_err(|e| e.to_string())?;
        if manifest.version != FORMAT_VERSION {
            return Err(format!(
                "format version {} (this kevents reads {FORMAT_VERSION})",
                manifest.version
            ));
        }
        Ok(manifest)
    }

    /// The manifest as stored (pretty JSON, so it can be read by eye).
    pub fn to_json(&self) -> Vec<u8> {
        let mut data = serde_json::to_vec_pretty(self).expect("a manifest always serializes");
        data.push(b'\n');
        data
    }

    /// Whether an object of this path is listed.
    pub fn contains(&self, path: &str) -> bool {
        self.objects.iter().any(|o| o.path == path)
    }

    /// A path for a new object that no listed object has: `<base>.parquet`, else
    /// `<base>.<n>.parquet` (a batch archived again after a crash, under another policy).
    pub fn free_path(&self, base: &str) -> String {
        let first = format!("{base}.parquet");
        if !self.contains(&first) {
            return first;
        }
        (2..)
            .map(|n| format!("{base}.{n}.parquet"))
            .find(|path| !self.contains(path))
            .expect("some suffix is free")
    }

    /// The objects of `cluster` (all when `None`) that may hold rows in `[from, to]`.
    pub fn select(
        &self,
        cluster: Option<&str>,
        from: Option<Micros>,
        to: Option<Micros>,
    ) -> Vec<&ObjectEntry> {
        self.objects
            .iter()
            .filter(|o| o.overlaps(cluster, from, to))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(path: &str, cluster: &str, from: &str, to: &str) -> ObjectEntry {
        ObjectEntry {
            path: path.into(),
            cluster: cluster.into(),
            date: from[..10].into(),
            first_resource_version: 1,
            last_resource_version: 9,
            from: from.into(),
            to: to.into(),
            rows: 9,
            bytes: 100,
            archived_at: "2026-01-03T00:00:00Z".into(),
        }
    }

    #[test]
    fn selection_keeps_objects_that_overlap_the_range() {
        let manifest = Manifest {
            version: FORMAT_VERSION,
            objects: vec![
                entry("a", "prod", "2026-01-01T10:00:00Z", "2026-01-01T12:00:00Z"),
                entry("b", "prod", "2026-01-02T10:00:00Z", "2026-01-02T12:00:00Z"),
                entry("c", "dev", "2026-01-02T10:00:00Z", "2026-01-02T12:00:00Z"),
            ],
        };
        let at = |t: &str| Micros::parse(t);
        let paths = |selected: Vec<&ObjectEntry>| -> Vec<String> {
            selected.iter().map(|o| o.path.clone()).collect()
        };
        assert_eq!(paths(manifest.select(None, None, None)), ["a", "b", "c"]);
        assert_eq!(paths(manifest.select(Some("prod"), None, None)), ["a", "b"]);
        let noon = at("2026-01-01T12:00:00Z");
        assert_eq!(
            paths(manifest.select(None, None, noon)),
            ["a"],
            "ends touch"
        );
        let evening = at("2026-01-01T18:00:00Z");
        assert_eq!(paths(manifest.select(None, evening, None)), ["b", "c"]);
        assert!(manifest
            .select(None, evening, at("2026-01-02T09:00:00Z"))
            .is_empty());
    }

    #[test]
    fn manifest_round_trips_and_refuses_other_versions() {
        let mut manifest = Manifest::default();
        manifest.objects.push(entry(
            "x.parquet",
            "c",
            "2026-01-01T00:00:00Z",
            "2026-01-01T00:00:01Z",
        ));
        let text = manifest.to_json();
        assert!(String::from_utf8_lossy(&text).contains("\"firstResourceVersion\": 1"));
        assert_eq!(Manifest::parse(&text).unwrap(), manifest);
        let error = Manifest::parse(br#"{"version": 2, "objects": []}"#).unwrap_err();
        assert!(error.contains("format version 2"), "{error}");
    }

    #[test]
    fn a_taken_path_gets_a_suffix() {
        let mut manifest = Manifest::default();
        assert_eq!(manifest.free_path("p/1-5"), "p/1-5.parquet");
        manifest.objects.push(entry(
            "p/1-5.parquet",
            "c",
            "2026-01-01T00:00:00Z",
            "2026-01-01T00:00:00Z",
        ));
        assert_eq!(manifest.free_path("p/1-5"), "p/1-5.2.parquet");
    }
}
