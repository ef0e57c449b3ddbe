//! The manifest (`manifest-<rv>.idx`), written last by every checkpoint: which cold files make
//! up the store as of `rv`, which of their rows were dead then, and how many live events of
//! each cluster each holds. With the hot checkpoint of the same version and the log after it,
//! it is the whole store. A manifest is written to a temporary file, fsynced and renamed, so a
//! crash leaves the previous one in charge.

use crate::columns::{ColumnReader, ColumnWriter};
use crate::files::{manifest_path, sync_dir};
use crate::frame::{encode_frame, FrameRead, FrameReader};
use crate::StoreError;
use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::Write;
use std::path::Path;

const MAGIC: &[u8; 8] = b"KEVMAN01";

/// One cold file as of the manifest's version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ManifestFile {
    pub id: u64,
    pub dead: Vec<u64>,
    pub clusters: BTreeMap<String, u64>,
}

/// The cold files of the store as of `rv`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Manifest {
    pub rv: u64,
    pub files: Vec<ManifestFile>,
}

fn encode(manifest: &Manifest) -> Vec<u8> {
    let mut w = ColumnWriter::default();
    w.varint(manifest.rv);
    w.varint(manifest.files.len() as u64);
    for file in &manifest.files {
        w.varint(file.id);
        // Dead rows as runs: (words to skip, non-zero word) pairs; most words are zero.
        let runs: Vec<(u64, u64)> = {
            let mut runs = Vec::new();
            let mut zeros = 0u64;
            for word in &file.dead {
                if *word == 0 {
                    zeros += 1;
                } else {
                    runs.push((zeros, *word));
                    zeros = 0;
                }
            }
            runs
        };
        w.varint(file.dead.len() as u64);
        w.varint(runs.len() as u64);
        for (skip, word) in runs {
            w.varint(skip);
            w.varint(word);
        }
        w.varint(file.clusters.len() as u64);
        for (cluster, count) in &file.clusters {
            w.bytes(cluster.as_bytes());
            w.varint(*count);
        }
    }
    w.buf
}

fn decode(bytes: &[u8]) -> Result<Manifest, crate::columns::DecodeError> {
    let mut r = ColumnReader::new(bytes);
    let rv = r.varint()?;
    let count = r.count()?;
    let mut files = Vec::with_capacity(count);
    for _ in 0..count {
        let id = r.varint()?;
        // Row bitmaps compress to runs, so their sizes are not bounded by the bytes left.
        let bounded = |v: u64| {
            usize::try_from(v)
                .ok()
                .filter(|v| *v <= 1 << 32)
                .ok_or(crate::columns::DecodeError("row count out of range"))
        };
        let words = bounded(r.varint()?)?;
        let mut dead = Vec::new();
        for _ in 0..r.count()? {
            let skip = bounded(r.varint()?)?;
            if dead.len() + skip > words {
                return Err(crate::columns::DecodeError("dead rows beyond the file"));
            }
            dead.extend(std::iter::repeat_n(0, skip));
            dead.push(r.varint()?);
        }
        if dead.len() > words {
            return Err(crate::columns::DecodeError("dead rows beyond the file"));
        }
        dead.resize(words, 0);
        let mut clusters = BTreeMap::new();
        for _ in 0..r.count()? {
            let cluster = r.str()?.to_string();
            clusters.insert(cluster, r.varint()?);
        }
        files.push(ManifestFile { id, dead, clusters });
    }
    Ok(Manifest { rv, files })
}

/// Writes `manifest` durably beside the log.
pub(crate) fn write(dir: &Path, manifest: &Manifest) -> Result<(), StoreError> {
    let path = manifest_path(dir, manifest.rv);
    let tmp = path.with_extension("tmp");
    let mut bytes = MAGIC.to_vec();
    encode_frame(&encode(manifest), &mut bytes);
    let result = File::create(&tmp)
        .and_then(|mut file| {
            file.write_all(&bytes)?;
            file.sync_all()
        })
        .and_then(|_| fs::rename(&tmp, &path))
        .and_then(|_| sync_dir(dir))
        .map_err(|e| StoreError::io("writing the manifest", e));
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// Reads the manifest at `path`.
pub(crate) fn read(path: &Path) -> Result<Manifest, StoreError> {
    let bytes = fs::read(path).map_err(|e| StoreError::io("reading the manifest", e))?;
    let corrupt = |why: &str| StoreError::Corrupt(format!("{}: {why}", path.display()));
    let body = bytes
        .strip_prefix(MAGIC.as_slice())
        .ok_or_else(|| corrupt("not a manifest"))?;
    match FrameReader::new(body).next_frame() {
        Ok(FrameRead::Frame(payload)) => decode(&payload).map_err(|e| corrupt(e.0)),
        _ => Err(corrupt("damaged manifest")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifests_round_trip_and_damage_is_detected() {
        let dir = tempfile::tempdir().unwrap();
        let manifest = Manifest {
            rv: 42,
            files: vec![
                ManifestFile {
                    id: 7,
                    dead: vec![0, 0, 0b1010, 0, u64::MAX, 0],
                    clusters: BTreeMap::from([("".to_string(), 3), ("prod".to_string(), 9)]),
                },
                ManifestFile {
                    id: 30,
                    dead: vec![0; 3],
                    clusters: BTreeMap::new(),
                },
            ],
        };
        write(dir.path(), &manifest).unwrap();
        let path = manifest_path(dir.path(), 42);
        assert_eq!(read(&path).unwrap(), manifest);
        let mut bytes = fs::read(&path).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        fs::write(&path, bytes).unwrap();
        assert!(matches!(read(&path), Err(StoreError::Corrupt(_))));
    }
}
