//! The audit log: one JSON line per write and per denied request, rotated by size.

use parking_lot::Mutex;
use serde::Serialize;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::PathBuf;

/// One audit record.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditRecord<'a> {
    /// When the request was answered (RFC 3339).
    pub time: String,
    /// The authenticated user, or `system:anonymous`.
    pub user: &'a str,
    /// The client's address.
    pub source_ip: String,
    /// The Kubernetes verb.
    pub verb: &'a str,
    /// `""` or `events.k8s.io`.
    pub api_group: &'a str,
    /// The resource.
    pub resource: &'a str,
    /// The namespace, if any.
    pub namespace: Option<&'a str>,
    /// The object name, if any.
    pub name: Option<&'a str>,
    /// The HTTP status code.
    pub code: u16,
    /// `allow` or `deny`.
    pub decision: &'a str,
}

/// An append-only JSON-lines file that rotates to `<path>.1`, `<path>.2`, … past a size.
pub struct AuditLog {
    path: PathBuf,
    max_bytes: u64,
    backups: usize,
    file: Mutex<Option<(File, u64)>>,
}

impl AuditLog {
    /// Opens (or creates) the log.
    pub fn open(path: PathBuf, max_bytes: u64, backups: usize) -> std::io::Result<AuditLog> {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        let file = OpenOptions::new().create(true).append(true).open(&path)?;
        let size = file.metadata()?.len();
        Ok(AuditLog {
            path,
            max_bytes,
            backups,
            file: Mutex::new(Some((file, size))),
        })
    }

    fn rotate(&self) -> std::io::Result<File> {
        for index in (1..self.backups).rev() {
            let from = self.path.with_extension(format!("log.{index}"));
            if from.exists() {
                std::fs::rename(
                    &from,
                    self.path.with_extension(format!("log.{}", index + 1)),
                )?;
            }
        }
        if self.backups > 0 {
            std::fs::rename(&self.path, self.path.with_extension("log.1"))?;
        }
        OpenOptions::new()
            .create(true)
            .append(true)
            .truncate(false)
            .open(&self.path)
    }

    /// Appends a record; failures are logged, never fatal to the request.
    pub fn write(&self, record: &AuditRecord<'_>) {
        let Ok(mut line) = serde_json::to_vec(record) else {
            return;
        };
        line.push(b'\n');
        let mut guard = self.file.lock();
        if let Some((_, size)) = guard.as_ref() {
            if *size + line.len() as u64 > self.max_bytes && *size > 0 {
                match self.rotate() {
                    Ok(file) => *guard = Some((file, 0)),
                    Err(e) => tracing::error!(error = %e, "could not rotate the audit log"),
                }
            }
        }
        if let Some((file, size)) = guard.as_mut() {
            match file.write_all(&line) {
                Ok(()) => *size += line.len() as u64,
                Err(e) => tracing::error!(error = %e, "could not write the audit log"),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(name: &str) -> AuditRecord<'_> {
        AuditRecord {
            time: "2026-01-01T00:00:00Z".into(),
            user: "alice",
            source_ip: "127.0.0.1".into(),
            verb: "create",
            api_group: "",
            resource: "events",
            namespace: Some("default"),
            name: Some(name),
            code: 201,
            decision: "allow",
        }
    }

    #[test]
    fn rotates_past_the_size_keeping_backups() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.log");
        let log = AuditLog::open(path.clone(), 300, 2).unwrap();
        for i in 0..20 {
            log.write(&record(&format!("event-{i}")));
        }
        let current = std::fs::read_to_string(&path).unwrap();
        assert!(current.len() <= 300);
        assert!(current.contains("event-19"));
        assert!(path.with_extension("log.1").exists());
        assert!(path.with_extension("log.2").exists());
        assert!(!path.with_extension("log.3").exists());
        let line: serde_json::Value =
            serde_json::from_str(current.lines().last().unwrap()).unwrap();
        assert_eq!(line["user"], "alice");
        assert_eq!(line["sourceIp"], "127.0.0.1");
    }
}
