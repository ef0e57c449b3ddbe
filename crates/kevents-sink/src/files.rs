//! Files a sink keeps: the durable cursor (written atomically) and append-only NDJSON files
//! with size-based rotation (the file sink and the dead-letter file).

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

/// A sink's cursor: the last feed position (resourceVersion) it has fully delivered.
#[derive(Debug, Clone)]
pub struct CursorFile {
    path: PathBuf,
}

impl CursorFile {
    /// The cursor at `path`.
    pub fn new(path: PathBuf) -> CursorFile {
        CursorFile { path }
    }

    /// The saved cursor; `Ok(None)` when there is none yet, an error when it is unreadable.
    pub fn load(&self) -> std::io::Result<Option<u64>> {
        match std::fs::read_to_string(&self.path) {
            Ok(text) => text.trim().parse().map(Some).map_err(|_| {
                std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    format!("{} does not hold a resourceVersion", self.path.display()),
                )
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Saves the cursor so that a crash leaves either the old or the new value: temporary
    /// file, fsync, rename, directory fsync.
    pub fn save(&self, cursor: u64) -> std::io::Result<()> {
        let dir = self.path.parent().unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir)?;
        let tmp = self.path.with_extension("cursor.tmp");
        {
            let mut file = File::create(&tmp)?;
            writeln!(file, "{cursor}")?;
            file.sync_all()?;
        }
        std::fs::rename(&tmp, &self.path)?;
        File::open(dir)?.sync_all()
    }
}

/// An append-only file rotated past a size: `path` → `path.1` → `path.2` ...
#[derive(Debug)]
pub struct RotatingFile {
    path: PathBuf,
    max_bytes: u64,
    max_backups: usize,
    file: Option<File>,
    size: u64,
}

impl RotatingFile {
    /// A file at `path`, opened on first write.
    pub fn new(path: PathBuf, max_bytes: u64, max_backups: usize) -> RotatingFile {
        RotatingFile {
            path,
            max_bytes: max_bytes.max(1),
            max_backups,
            file: None,
            size: 0,
        }
    }

    /// Appends `data` (whole lines) and fsyncs; rotates first when it would pass the limit.
    pub fn append(&mut self, data: &[u8]) -> std::io::Result<()> {
        if self.file.is_none() {
            self.open()?;
        }
        if self.size > 0 && self.size + data.len() as u64 > self.max_bytes {
            self.rotate()?;
        }
        let file = match self.file.as_mut() {
            Some(file) => file,
            None => return Err(std::io::Error::other("file not open")),
        };
        let written = file.write_all(data).and_then(|_| file.sync_data());
        if written.is_err() {
            // Reopen next time: the tail after a failed write is unknown.
            self.file = None;
        }
        written?;
        self.size += data.len() as u64;
        Ok(())
    }

    fn open(&mut self) -> std::io::Result<()> {
        if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)?;
        self.size = file.metadata()?.len();
        self.file = Some(file);
        Ok(())
    }

    fn backup(&self, index: usize) -> PathBuf {
        let mut name = self.path.as_os_str().to_owned();
        name.push(format!(".{index}"));
        PathBuf::from(name)
    }

    fn rotate(&mut self) -> std::io::Result<()> {
        self.file = None;
        if self.max_backups == 0 {
            std::fs::remove_file(&self.path)?;
        } else {
            for index in (1..self.max_backups).rev() {
                let from = self.backup(index);
                if from.exists() {
                    std::fs::rename(&from, self.backup(index + 1))?;
                }
            }
            std::fs::rename(&self.path, self.backup(1))?;
        }
        self.open()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_round_trips_and_missing_is_none() {
        let dir = tempfile::tempdir().unwrap();
        let cursor = CursorFile::new(dir.path().join("sinks").join("es.cursor"));
        assert_eq!(cursor.load().unwrap(), None);
        cursor.save(41).unwrap();
        cursor.save(42).unwrap();
        assert_eq!(cursor.load().unwrap(), Some(42));
        assert!(!dir.path().join("sinks").join("es.cursor.tmp").exists());
        std::fs::write(dir.path().join("sinks").join("es.cursor"), "garbage").unwrap();
        assert!(cursor.load().is_err());
    }

    #[test]
    fn rotating_file_keeps_at_most_max_backups() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.ndjson");
        let mut file = RotatingFile::new(path.clone(), 10, 2);
        for line in ["aaaaaa\n", "bbbbbb\n", "cccccc\n", "dddddd\n"] {
            file.append(line.as_bytes()).unwrap();
        }
        let read = |p: &Path| std::fs::read_to_string(p).unwrap();
        assert_eq!(read(&path), "dddddd\n");
        assert_eq!(read(&dir.path().join("out.ndjson.1")), "cccccc\n");
        assert_eq!(read(&dir.path().join("out.ndjson.2")), "bbbbbb\n");
        assert!(!dir.path().join("out.ndjson.3").exists());
    }
}
