//! Where exported events go, one at a time: NDJSON, a JSON list, CSV (and Parquet, in
//! `parquet.rs`).

use super::csv;
use kevents_model::EventRecord;
use serde_json::value::RawValue;
use std::io::Write;

/// Where exported events go, one at a time.
pub(super) trait Sink {
    /// Writes one event: its JSON as the hub sent it, and the decoded record when decoded.
    fn write(&mut self, raw: &RawValue, record: Option<&EventRecord>) -> std::io::Result<()>;
    /// Whether `write` needs the decoded record.
    fn needs_record(&self) -> bool;
    /// Completes the file.
    fn finish(self: Box<Self>) -> std::io::Result<()>;
}

pub(super) struct NdjsonSink<W: Write>(pub W);

impl<W: Write> Sink for NdjsonSink<W> {
    fn write(&mut self, raw: &RawValue, _: Option<&EventRecord>) -> std::io::Result<()> {
        write_compact(&mut self.0, raw)?;
        self.0.write_all(b"\n")
    }
    fn needs_record(&self) -> bool {
        false
    }
    fn finish(mut self: Box<Self>) -> std::io::Result<()> {
        self.0.flush()
    }
}

pub(super) struct JsonListSink<W: Write> {
    pub out: W,
    pub first: bool,
}

impl<W: Write> Sink for JsonListSink<W> {
    fn write(&mut self, raw: &RawValue, _: Option<&EventRecord>) -> std::io::Result<()> {
        if self.first {
            self.out.write_all(b"{\"apiVersion\":\"v1\",\"kind\":\"EventList\",\"metadata\":{\"resourceVersion\":\"\"},\"items\":[\n")?;
            self.first = false;
        } else {
            self.out.write_all(b",\n")?;
        }
        write_compact(&mut self.out, raw)
    }
    fn needs_record(&self) -> bool {
        false
    }
    fn finish(mut self: Box<Self>) -> std::io::Result<()> {
        if self.first {
            self.out.write_all(b"{\"apiVersion\":\"v1\",\"kind\":\"EventList\",\"metadata\":{\"resourceVersion\":\"\"},\"items\":[\n")?;
        }
        self.out.write_all(b"\n]}\n")?;
        self.out.flush()
    }
}

pub(super) struct CsvSink<W: Write>(pub W);

impl<W: Write> Sink for CsvSink<W> {
    fn write(&mut self, _: &RawValue, record: Option<&EventRecord>) -> std::io::Result<()> {
        match record {
            Some(record) => csv::write_record(&mut self.0, record),
            None => Ok(()),
        }
    }
    fn needs_record(&self) -> bool {
        true
    }
    fn finish(mut self: Box<Self>) -> std::io::Result<()> {
        self.0.flush()
    }
}

/// Copies the hub's JSON, re-encoding only if it spans lines (NDJSON needs one line each).
fn write_compact(out: &mut impl Write, raw: &RawValue) -> std::io::Result<()> {
    let text = raw.get();
    if text.contains('\n') {
        let value: serde_json::Value = serde_json::from_str(text)?;
        serde_json::to_writer(out, &value)?;
        Ok(())
    } else {
        out.write_all(text.as_bytes())
    }
}
