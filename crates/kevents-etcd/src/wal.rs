//! The etcd view's log: CRC-framed [`Record`]s appended to one file and synced before a write
//! is answered. The records of one append (a batch of transactions) go in one frame,
//! compressed with Zstandard: the apiserver's events are alike, so a batch and, above all, a
//! snapshot shrink several times. A compaction rewrites the file as one snapshot record (written
//! aside, synced, renamed over). A torn or corrupt tail, from a crash mid-append, is cut off at
//! open: nothing after it was acknowledged.

use crate::record::{Record, RecordBatch};
use prost::Message;
use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

const FILE: &str = "etcd.log";
const HEADER: usize = 8;
/// Set in a frame's length when its payload is a compressed [`RecordBatch`]; clear for one
/// uncompressed [`Record`].
const COMPRESSED: u32 = 1 << 31;
/// Zstandard's default level: a batch of a few kilobytes takes tens of microseconds.
const ZSTD_LEVEL: i32 = 3;

/// The open log.
pub struct Wal {
    dir: PathBuf,
    file: File,
    bytes: u64,
}

/// What opening the log found.
pub struct Opened {
    /// The log, positioned to append.
    pub wal: Wal,
    /// The records in it, in order.
    pub records: Vec<Record>,
    /// Bytes cut off a torn tail.
    pub truncated: u64,
}

/// Appends one frame holding `records`, compressed.
fn frame<'a>(records: impl IntoIterator<Item = &'a Record>, into: &mut Vec<u8>) -> io::Result<()> {
    let mut batch = Vec::new();
    for record in records {
        prost::encoding::message::encode(1, record, &mut batch);
    }
    let payload = zstd::bulk::compress(&batch, ZSTD_LEVEL)?;
    let len = u32::try_from(payload.len())
        .ok()
        .filter(|len| len & COMPRESSED == 0)
        .ok_or_else(|| io::Error::other("a batch of the etcd log over 2 GiB"))?;
    into.extend((len | COMPRESSED).to_le_bytes());
    into.extend(crc32fast::hash(&payload).to_le_bytes());
    into.extend(payload);
    Ok(())
}

/// The records of one frame's payload; `None` when it does not decode.
fn decode_payload(payload: &[u8], compressed: bool) -> Option<Vec<Record>> {
    if !compressed {
        return Record::decode(payload).ok().map(|record| vec![record]);
    }
    let batch = zstd::stream::decode_all(payload).ok()?;
    RecordBatch::decode(batch.as_slice())
        .ok()
        .map(|b| b.records)
}

/// Decodes the frames of `bytes`; returns the records and how many bytes they took.
fn read_frames(bytes: &[u8]) -> (Vec<Record>, usize) {
    let mut records = Vec::new();
    let mut at = 0;
    while bytes.len() - at >= HEADER {
        let len = u32::from_le_bytes(bytes[at..at + 4].try_into().expect("four bytes"));
        let crc = u32::from_le_bytes(bytes[at + 4..at + 8].try_into().expect("four bytes"));
        let size = (len & !COMPRESSED) as usize;
        let Some(payload) = bytes.get(at + HEADER..at + HEADER + size) else {
            break;
        };
        if crc32fast::hash(payload) != crc {
            break;
        }
        match decode_payload(payload, len & COMPRESSED != 0) {
            Some(decoded) => records.extend(decoded),
            None => break,
        }
        at += HEADER + size;
    }
    (records, at)
}

impl Wal {
    /// Opens (or creates) the log in `dir` and reads it.
    pub fn open(dir: &Path) -> io::Result<Opened> {
        std::fs::create_dir_all(dir)?;
        let path = dir.join(FILE);
        let mut file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(&path)?;
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes)?;
        let (records, good) = read_frames(&bytes);
        let truncated = (bytes.len() - good) as u64;
        if truncated > 0 {
            file.set_len(good as u64)?;
            file.sync_all()?;
        }
        Ok(Opened {
            wal: Wal {
                dir: dir.to_owned(),
                file,
                bytes: good as u64,
            },
            records,
            truncated,
        })
    }

    /// Appends records and syncs them to disk (one sync for all of them).
    pub fn append<'a>(&mut self, records: impl IntoIterator<Item = &'a Record>) -> io::Result<()> {
        let mut buffer = Vec::new();
        frame(records, &mut buffer)?;
        let written = self
            .file
            .write_all(&buffer)
            .and_then(|()| self.file.sync_data());
        if let Err(error) = written {
            // Not acknowledged, so not to be replayed: cut the log back to where it was.
            let _ = self.file.set_len(self.bytes);
            return Err(error);
        }
        self.bytes += buffer.len() as u64;
        Ok(())
    }

    /// Replaces the log with one snapshot record.
    pub fn rewrite(&mut self, snapshot: &Record) -> io::Result<()> {
        let mut buffer = Vec::new();
        frame([snapshot], &mut buffer)?;
        let aside = self.dir.join(format!("{FILE}.new"));
        let mut file = File::create(&aside)?;
        file.write_all(&buffer)?;
        file.sync_all()?;
        std::fs::rename(&aside, self.dir.join(FILE))?;
        File::open(&self.dir)?.sync_all()?;
        self.file = OpenOptions::new().append(true).open(self.dir.join(FILE))?;
        self.bytes = buffer.len() as u64;
        Ok(())
    }

    /// Bytes of the log on disk.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::KeyValue;

    fn put(revision: i64, key: &str) -> Record {
        Record {
            revision,
            puts: vec![KeyValue {
                key: key.into(),
                mod_revision: revision,
                value: vec![0, 1, 2, 255],
                ..Default::default()
            }],
            ..Default::default()
        }
    }

    #[test]
    fn a_torn_tail_is_cut_off_and_the_records_before_it_kept() {
        let dir = tempfile::tempdir().unwrap();
        let mut wal = Wal::open(dir.path()).unwrap().wal;
        wal.append(&[put(2, "a"), put(3, "b")]).unwrap();
        drop(wal);
        let path = dir.path().join(FILE);
        let mut bytes = std::fs::read(&path).unwrap();
        let whole = bytes.len();
        bytes.extend(&[9, 0, 0, 0, 1, 2]);
        std::fs::write(&path, &bytes).unwrap();
        let opened = Wal::open(dir.path()).unwrap();
        assert_eq!(opened.records, vec![put(2, "a"), put(3, "b")]);
        assert_eq!(opened.truncated, 6);
        assert_eq!(std::fs::metadata(&path).unwrap().len() as usize, whole);
    }

    #[test]
    fn a_rewrite_leaves_only_the_snapshot_and_appends_after_it() {
        let dir = tempfile::tempdir().unwrap();
        let mut wal = Wal::open(dir.path()).unwrap().wal;
        wal.append(&[put(2, "a"), put(3, "b")]).unwrap();
        let mut snapshot = put(3, "b");
        snapshot.snapshot = true;
        wal.rewrite(&snapshot).unwrap();
        wal.append(&[put(4, "c")]).unwrap();
        let opened = Wal::open(dir.path()).unwrap();
        assert_eq!(opened.records, vec![snapshot, put(4, "c")]);
        assert_eq!(
            opened.wal.bytes(),
            std::fs::metadata(dir.path().join(FILE)).unwrap().len()
        );
    }

    #[test]
    fn a_log_of_uncompressed_frames_still_opens_and_appends_after_them() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path()).unwrap();
        let payload = put(2, "a").encode_to_vec();
        let mut old = (payload.len() as u32).to_le_bytes().to_vec();
        old.extend(crc32fast::hash(&payload).to_le_bytes());
        old.extend(&payload);
        std::fs::write(dir.path().join(FILE), &old).unwrap();
        let mut wal = Wal::open(dir.path()).unwrap().wal;
        wal.append(&[put(3, "b")]).unwrap();
        let opened = Wal::open(dir.path()).unwrap();
        assert_eq!(opened.records, vec![put(2, "a"), put(3, "b")]);
        assert_eq!(opened.truncated, 0);
    }

    #[test]
    fn a_batch_of_alike_events_takes_a_fraction_of_their_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let mut wal = Wal::open(dir.path()).unwrap().wal;
        let event = |i: i64| {
            let mut record = put(i, &format!("/registry/events/default/web-{i}.18"));
            record.puts[0].value = format!(
                "k8s\0 v1 Event web-{i} Pod default web-{i} Scheduled Successfully assigned \
                 default/web-{i} to node-{} default-scheduler {}",
                i % 7,
                "x".repeat(600)
            )
            .into_bytes();
            record
        };
        let records: Vec<Record> = (2..66).map(event).collect();
        let raw: usize = records.iter().map(|r| r.encoded_len()).sum();
        wal.append(&records).unwrap();
        assert!(wal.bytes() * 5 < raw as u64, "{} of {raw}", wal.bytes());
        assert_eq!(Wal::open(dir.path()).unwrap().records, records);
    }
}
