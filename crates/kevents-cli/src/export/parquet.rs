//! Parquet export: the CSV columns with typed counts and UTC microsecond timestamps, written in
//! small row groups so memory stays flat whatever the export size.

use super::csv::{values, COLUMNS, COUNT_COLUMN, TIME_COLUMNS};
use super::Sink;
use crate::error::{CliError, Result};
use arrow_array::builder::{Int32Builder, StringBuilder, TimestampMicrosecondBuilder};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Schema, TimeUnit};
use kevents_model::{EventRecord, Micros};
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;
use serde_json::value::RawValue;
use std::fs::File;
use std::path::Path;
use std::sync::Arc;

/// Rows per record batch and per row group: bounds the writer's memory.
const ROWS_PER_GROUP: usize = 8192;

/// Writes records into a Parquet file.
pub struct ParquetSink {
    writer: ArrowWriter<File>,
    schema: Arc<Schema>,
    rows: Vec<EventRecord>,
}

fn schema() -> Schema {
    let fields: Vec<Field> = COLUMNS
        .iter()
        .enumerate()
        .map(|(i, name)| {
            let data_type = if i == COUNT_COLUMN {
                DataType::Int32
            } else if TIME_COLUMNS.contains(&i) {
                DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
            } else {
                DataType::Utf8
            };
            Field::new(*name, data_type, true)
        })
        .collect();
    Schema::new(fields)
}

fn times(record: &EventRecord) -> [Option<Micros>; 4] {
    [
        record.first_seen(),
        record.last_seen(),
        record.event_time,
        record.creation_timestamp,
    ]
}

impl ParquetSink {
    /// Creates `path` and writes the schema.
    pub fn create(path: &Path) -> Result<ParquetSink> {
        let file = File::create(path)
            .map_err(|e| CliError::io(format!("creating {}", path.display()), e))?;
        let schema = Arc::new(schema());
        let properties = WriterProperties::builder()
            .set_compression(Compression::SNAPPY)
            .set_max_row_group_row_count(Some(ROWS_PER_GROUP))
            .build();
        let writer = ArrowWriter::try_new(file, schema.clone(), Some(properties))
            .map_err(|e| CliError::Invalid(format!("parquet: {e}")))?;
        Ok(ParquetSink {
            writer,
            schema,
            rows: Vec::with_capacity(ROWS_PER_GROUP),
        })
    }

    fn flush_rows(&mut self) -> std::io::Result<()> {
        if self.rows.is_empty() {
            return Ok(());
        }
        let mut strings: Vec<StringBuilder> =
            (0..COLUMNS.len()).map(|_| StringBuilder::new()).collect();
        let mut counts = Int32Builder::new();
        let mut timestamps: Vec<TimestampMicrosecondBuilder> = TIME_COLUMNS
            .map(|_| TimestampMicrosecondBuilder::new().with_timezone("UTC"))
            .collect();
        for record in &self.rows {
            for (i, value) in values(record).into_iter().enumerate() {
                if i != COUNT_COLUMN && !TIME_COLUMNS.contains(&i) {
                    strings[i].append_value(value);
                }
            }
            counts.append_value(record.occurrences());
            for (builder, time) in timestamps.iter_mut().zip(times(record)) {
                builder.append_option(time.map(|t| t.0));
            }
        }
        let mut timestamps = timestamps.into_iter();
        let columns: Vec<ArrayRef> = strings
            .into_iter()
            .enumerate()
            .map(|(i, mut builder)| -> ArrayRef {
                if i == COUNT_COLUMN {
                    Arc::new(counts.finish())
                } else if TIME_COLUMNS.contains(&i) {
                    match timestamps.next() {
                        Some(mut builder) => Arc::new(builder.finish()),
                        None => unreachable!("one builder per time column"),
                    }
                } else {
                    Arc::new(builder.finish())
                }
            })
            .collect();
        let batch =
            RecordBatch::try_new(self.schema.clone(), columns).map_err(std::io::Error::other)?;
        self.writer.write(&batch).map_err(std::io::Error::other)?;
        self.rows.clear();
        Ok(())
    }
}

impl Sink for ParquetSink {
    fn write(&mut self, _: &RawValue, record: Option<&EventRecord>) -> std::io::Result<()> {
        if let Some(record) = record {
            self.rows.push(record.clone());
        }
        if self.rows.len() >= ROWS_PER_GROUP {
            self.flush_rows()?;
        }
        Ok(())
    }

    fn needs_record(&self) -> bool {
        true
    }

    fn finish(mut self: Box<Self>) -> std::io::Result<()> {
        self.flush_rows()?;
        self.writer.close().map_err(std::io::Error::other)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use parquet::file::reader::{FileReader, SerializedFileReader};

    #[test]
    fn rows_round_trip_through_a_parquet_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("events.parquet");
        let mut sink = Box::new(ParquetSink::create(&path).unwrap());
        let raw = RawValue::from_string("{}".into()).unwrap();
        for i in 0..(ROWS_PER_GROUP + 5) {
            let record = EventRecord {
                name: format!("e{i}"),
                message: "a, \"quoted\"\nmessage ✓".into(),
                count: 2,
                last_timestamp: Some(Micros(1_000_000)),
                ..EventRecord::default()
            };
            sink.write(&raw, Some(&record)).unwrap();
        }
        sink.finish().unwrap();
        let reader = SerializedFileReader::new(File::open(&path).unwrap()).unwrap();
        let metadata = reader.metadata();
        assert_eq!(
            metadata.file_metadata().num_rows() as usize,
            ROWS_PER_GROUP + 5
        );
        assert_eq!(metadata.num_row_groups(), 2);
        assert_eq!(
            metadata.file_metadata().schema_descr().num_columns(),
            COLUMNS.len()
        );
    }
}
