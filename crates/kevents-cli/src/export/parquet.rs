//! Parquet export: the event table (`kevents_archive::table`, the layout archives use) with
//! typed counts, versions and UTC microsecond timestamps, in row groups so memory stays flat
//! whatever the export size.

use super::csv::row;
use super::sink::Sink;
use crate::error::{CliError, Result};
use kevents_archive::table::TableWriter;
use kevents_model::EventRecord;
use serde_json::value::RawValue;
use std::fs::File;
use std::io::BufWriter;
use std::path::Path;

/// Writes records into a Parquet file.
pub struct ParquetSink {
    writer: TableWriter<BufWriter<File>>,
}

impl ParquetSink {
    /// Creates `path` and starts the file.
    pub fn create(path: &Path) -> Result<ParquetSink> {
        let file = File::create(path)
            .map_err(|e| CliError::io(format!("creating {}", path.display()), e))?;
        let writer = TableWriter::new(BufWriter::with_capacity(1 << 16, file))
            .map_err(|e| CliError::Invalid(e.to_string()))?;
        Ok(ParquetSink { writer })
    }
}

impl Sink for ParquetSink {
    fn write(&mut self, _: &RawValue, record: Option<&EventRecord>) -> std::io::Result<()> {
        match record {
            Some(record) => self.writer.push(row(record)).map_err(std::io::Error::other),
            None => Ok(()),
        }
    }

    fn needs_record(&self) -> bool {
        true
    }

    fn finish(self: Box<Self>) -> std::io::Result<()> {
        let mut out = self.writer.finish().map_err(std::io::Error::other)?;
        std::io::Write::flush(&mut out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kevents_archive::columns::{CLUSTER_LABEL, COLUMNS};
    use kevents_archive::table::{read, ROWS_PER_GROUP};

    #[test]
    fn an_export_is_the_archive_table() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("events.parquet");
        let mut sink = Box::new(ParquetSink::create(&path).unwrap());
        let raw = RawValue::from_string("{}".into()).unwrap();
        let mut records = Vec::new();
        for i in 0..(ROWS_PER_GROUP + 5) {
            let mut record = EventRecord {
                name: format!("e{i}"),
                message: "a, \"quoted\"\nmessage ✓".into(),
                count: 2,
                last_timestamp: Some(kevents_model::Micros(1_000_000)),
                ..EventRecord::default()
            };
            if i % 2 == 0 {
                record.labels.insert(CLUSTER_LABEL.into(), "prod".into());
            }
            sink.write(&raw, Some(&record)).unwrap();
            records.push(record);
        }
        sink.finish().unwrap();
        let rows = read(std::fs::read(&path).unwrap().into()).unwrap();
        assert_eq!(rows.len(), records.len());
        assert_eq!(rows[0].0, "prod");
        assert_eq!(rows[1].0, "", "the hub's own events name no cluster");
        assert_eq!(rows[1].1, records[1]);
        assert_eq!(COLUMNS[0].0, "cluster");
    }
}
