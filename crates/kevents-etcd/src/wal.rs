//! The etcd view's log: CRC-framed [`Record`]s appended to one file and synced before a write
//! is answered. A compaction rewrites the file as one snapshot record (written aside, synced,
//! renamed over). A torn or corrupt tail, from a crash mid-append, is cut off at open: nothing
//! after it was acknowledged.

use crate::record::Record;
use prost::Message;
use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

const FILE: &str = "etcd.log";
const HEADER: usize = 8;

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

fn frame(record: &Record, into: &mut Vec<u8>) {
    let payload = record.encode_to_vec();
    into.extend((payload.len() as u32).to_le_bytes());
    into.extend(crc32fast::hash(&payload).to_le_bytes());
    into.extend(payload);
}

/// Decodes the frames of `bytes`; returns the records and how many bytes they took.
fn read_frames(bytes: &[u8]) -> (Vec<Record>, usize) {
    let mut records = Vec::new();
    let mut at = 0;
    while bytes.len() - at >= HEADER {
        let len = u32::from_le_bytes(bytes[at..at + 4].try_into().expect("four bytes")) as usize;
        let crc = u32::from_le_bytes(bytes[at + 4..at + 8].try_into().expect("four bytes"));
        let Some(payload) = bytes.get(at + HEADER..at + HEADER + len) else {
            break;
        };
        if crc32fast::hash(payload) != crc {
            break;
        }
        match Record::decode(payload) {
            Ok(record) => records.push(record),
            Err(_) => break,
        }
        at += HEADER + len;
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
        for record in records {
            frame(record, &mut buffer);
        }
        self.file.write_all(&buffer)?;
        self.file.sync_data()?;
        self.bytes += buffer.len() as u64;
        Ok(())
    }

    /// Replaces the log with one snapshot record.
    pub fn rewrite(&mut self, snapshot: &Record) -> io::Result<()> {
        let mut buffer = Vec::new();
        frame(snapshot, &mut buffer);
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
}
