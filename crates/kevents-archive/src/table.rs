//! The event table as Arrow and Parquet: the schema derived from [`COLUMNS`], a streaming
//! writer (row groups of [`ROWS_PER_GROUP`], Snappy) and a reader back into events.

use crate::columns::{record_from_values, ColumnType, Row, Value, COLUMNS};
use arrow_array::builder::{
    Int32Builder, Int64Builder, StringBuilder, TimestampMicrosecondBuilder,
};
use arrow_array::cast::AsArray;
use arrow_array::types::{Int32Type, Int64Type, TimestampMicrosecondType};
use arrow_array::{Array, ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Schema, SchemaRef, TimeUnit};
use kevents_model::{EventRecord, Micros};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;
use std::borrow::Cow;
use std::io::Write;
use std::sync::Arc;

/// Rows per record batch and per row group: bounds the writer's memory.
pub const ROWS_PER_GROUP: usize = 8192;

/// A table that cannot be written or read.
#[derive(Debug, thiserror::Error)]
pub enum TableError {
    /// Arrow or Parquet refused the data.
    #[error("parquet: {0}")]
    Parquet(String),
    /// A file that is not an event table, or a row that does not decode.
    #[error("not an event table: {0}")]
    Layout(String),
}

fn parquet_error(e: impl std::fmt::Display) -> TableError {
    TableError::Parquet(e.to_string())
}

/// The Arrow schema of the table.
pub fn schema() -> SchemaRef {
    let fields: Vec<Field> = COLUMNS
        .iter()
        .map(|(name, column_type)| {
            let data_type = match column_type {
                ColumnType::Text => DataType::Utf8,
                ColumnType::Int32 => DataType::Int32,
                ColumnType::Int64 => DataType::Int64,
                ColumnType::Time => DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            };
            Field::new(*name, data_type, true)
        })
        .collect();
    Arc::new(Schema::new(fields))
}

enum Builder {
    Text(StringBuilder),
    Int32(Int32Builder),
    Int64(Int64Builder),
    Time(TimestampMicrosecondBuilder),
}

impl Builder {
    fn new(column_type: ColumnType) -> Builder {
        match column_type {
            ColumnType::Text => Builder::Text(StringBuilder::new()),
            ColumnType::Int32 => Builder::Int32(Int32Builder::new()),
            ColumnType::Int64 => Builder::Int64(Int64Builder::new()),
            ColumnType::Time => {
                Builder::Time(TimestampMicrosecondBuilder::new().with_timezone("UTC"))
            }
        }
    }

    fn append(&mut self, value: Value<'_>) {
        match (self, value) {
            (Builder::Text(b), Value::Text(text)) => b.append_value(text),
            (Builder::Int32(b), Value::Int32(n)) => b.append_value(n),
            (Builder::Int64(b), Value::Int64(n)) => b.append_value(n),
            (Builder::Time(b), Value::Time(t)) => b.append_option(t.map(|t| t.0)),
            _ => unreachable!("Row::values follows COLUMNS"),
        }
    }

    fn finish(&mut self) -> ArrayRef {
        match self {
            Builder::Text(b) => Arc::new(b.finish()),
            Builder::Int32(b) => Arc::new(b.finish()),
            Builder::Int64(b) => Arc::new(b.finish()),
            Builder::Time(b) => Arc::new(b.finish()),
        }
    }
}

/// Writes rows as a Parquet file into `W`, a row group at a time.
pub struct TableWriter<W: Write + Send> {
    writer: ArrowWriter<W>,
    schema: SchemaRef,
    builders: Vec<Builder>,
    buffered: usize,
    rows: usize,
}

impl<W: Write + Send> TableWriter<W> {
    /// Starts a Parquet file in `out`.
    pub fn new(out: W) -> Result<TableWriter<W>, TableError> {
        let schema = schema();
        let properties = WriterProperties::builder()
            .set_compression(Compression::SNAPPY)
            .set_max_row_group_row_count(Some(ROWS_PER_GROUP))
            .build();
        let writer =
            ArrowWriter::try_new(out, schema.clone(), Some(properties)).map_err(parquet_error)?;
        Ok(TableWriter {
            writer,
            schema,
            builders: COLUMNS.iter().map(|(_, t)| Builder::new(*t)).collect(),
            buffered: 0,
            rows: 0,
        })
    }

    /// Appends one row.
    pub fn push(&mut self, row: Row<'_>) -> Result<(), TableError> {
        for (builder, value) in self.builders.iter_mut().zip(row.values()) {
            builder.append(value);
        }
        self.buffered += 1;
        self.rows += 1;
        if self.buffered >= ROWS_PER_GROUP {
            self.flush()?;
        }
        Ok(())
    }

    /// Rows pushed so far.
    pub fn rows(&self) -> usize {
        self.rows
    }

    fn flush(&mut self) -> Result<(), TableError> {
        if self.buffered == 0 {
            return Ok(());
        }
        let columns = self.builders.iter_mut().map(Builder::finish).collect();
        let batch = RecordBatch::try_new(self.schema.clone(), columns).map_err(parquet_error)?;
        self.writer.write(&batch).map_err(parquet_error)?;
        self.buffered = 0;
        Ok(())
    }

    /// Writes the last row group and the footer; returns the output.
    pub fn finish(mut self) -> Result<W, TableError> {
        self.flush()?;
        self.writer.into_inner().map_err(parquet_error)
    }
}

fn value_at(array: &dyn Array, column_type: ColumnType, row: usize) -> Value<'_> {
    let null = array.is_null(row);
    match column_type {
        ColumnType::Text if null => Value::Text(Cow::Borrowed("")),
        ColumnType::Text => Value::Text(Cow::Borrowed(array.as_string::<i32>().value(row))),
        ColumnType::Int32 => Value::Int32(array.as_primitive::<Int32Type>().value(row)),
        ColumnType::Int64 => Value::Int64(array.as_primitive::<Int64Type>().value(row)),
        ColumnType::Time if null => Value::Time(None),
        ColumnType::Time => Value::Time(Some(Micros(
            array.as_primitive::<TimestampMicrosecondType>().value(row),
        ))),
    }
}

/// Reads a whole Parquet event table; returns each row's cluster and event.
pub fn read(data: bytes::Bytes) -> Result<Vec<(String, EventRecord)>, TableError> {
    let reader = ParquetRecordBatchReaderBuilder::try_new(data)
        .map_err(parquet_error)?
        .build()
        .map_err(parquet_error)?;
    let mut rows = Vec::new();
    for batch in reader {
        let batch = batch.map_err(parquet_error)?;
        let mut arrays = Vec::with_capacity(COLUMNS.len());
        for (name, column_type) in COLUMNS {
            let array = batch
                .column_by_name(name)
                .ok_or_else(|| TableError::Layout(format!("no column {name}")))?;
            let expected = schema()
                .field_with_name(name)
                .map_err(parquet_error)?
                .data_type()
                .clone();
            if array.data_type() != &expected {
                return Err(TableError::Layout(format!(
                    "column {name} is {}, expected {expected}",
                    array.data_type()
                )));
            }
            arrays.push((array.clone(), column_type));
        }
        for row in 0..batch.num_rows() {
            let values = arrays
                .iter()
                .map(|(array, column_type)| value_at(array.as_ref(), *column_type, row))
                .collect();
            rows.push(record_from_values(values).map_err(TableError::Layout)?);
        }
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;
    use parquet::file::reader::{FileReader, SerializedFileReader};

    fn event(i: usize) -> EventRecord {
        EventRecord {
            namespace: "prod".into(),
            name: format!("e{i}"),
            uid: format!("u{i}"),
            resource_version: i as u64 + 1,
            message: "a, \"quoted\"\nmessage ✓".into(),
            count: 2,
            first_timestamp: Some(Micros(1_000_000)),
            last_timestamp: Some(Micros(2_000_000)),
            ..EventRecord::default()
        }
    }

    #[test]
    fn rows_round_trip_through_parquet_in_row_groups() {
        let events: Vec<EventRecord> = (0..ROWS_PER_GROUP + 5).map(event).collect();
        let mut writer = TableWriter::new(Vec::new()).unwrap();
        for record in &events {
            writer
                .push(Row {
                    cluster: "prod-eu",
                    record,
                })
                .unwrap();
        }
        assert_eq!(writer.rows(), events.len());
        let data = bytes::Bytes::from(writer.finish().unwrap());
        let file = SerializedFileReader::new(data.clone()).unwrap();
        assert_eq!(file.metadata().num_row_groups(), 2);
        assert_eq!(
            file.metadata().file_metadata().schema_descr().num_columns(),
            COLUMNS.len()
        );
        let rows = read(data).unwrap();
        assert_eq!(rows.len(), events.len());
        for ((cluster, record), original) in rows.iter().zip(&events) {
            assert_eq!(cluster, "prod-eu");
            assert_eq!(record, original);
        }
    }

    #[test]
    fn a_file_of_another_layout_is_refused() {
        let schema = Arc::new(Schema::new(vec![Field::new("x", DataType::Utf8, true)]));
        let mut out = Vec::new();
        let mut writer = ArrowWriter::try_new(&mut out, schema.clone(), None).unwrap();
        let column: ArrayRef = Arc::new(arrow_array::StringArray::from(vec!["a"]));
        writer
            .write(&RecordBatch::try_new(schema, vec![column]).unwrap())
            .unwrap();
        writer.close().unwrap();
        let error = read(bytes::Bytes::from(out)).unwrap_err().to_string();
        assert!(error.contains("no column cluster"), "{error}");
    }
}
