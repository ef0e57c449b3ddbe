//! RFC 4180 CSV of the event table (`kevents_archive::columns`, the layout Parquet exports and
//! archives share).

use kevents_archive::columns::{Row, CLUSTER_LABEL, COLUMNS};
use kevents_model::EventRecord;
use std::io::{self, Write};

/// A hub's event as a table row: a collected event's cluster is in its label, the hub's own
/// events have none (and an empty `cluster`).
pub fn row(record: &EventRecord) -> Row<'_> {
    let cluster = record.labels.get(CLUSTER_LABEL).map_or("", String::as_str);
    Row { cluster, record }
}

/// Quotes a field when it holds a comma, quote, CR or LF (RFC 4180), doubling inner quotes.
pub fn quote(field: &str) -> std::borrow::Cow<'_, str> {
    if field.contains([',', '"', '\n', '\r']) || field.starts_with(' ') || field.ends_with(' ') {
        format!("\"{}\"", field.replace('"', "\"\"")).into()
    } else {
        field.into()
    }
}

/// Writes the header row.
pub fn write_header(out: &mut dyn Write) -> io::Result<()> {
    let names: Vec<&str> = COLUMNS.iter().map(|(name, _)| *name).collect();
    out.write_all(names.join(",").as_bytes())?;
    out.write_all(b"\r\n")
}

/// Writes one record as a row (CRLF line ends, as RFC 4180 and spreadsheets expect).
pub fn write_record(out: &mut dyn Write, record: &EventRecord) -> io::Result<()> {
    for (i, value) in row(record).values().iter().enumerate() {
        if i > 0 {
            out.write_all(b",")?;
        }
        out.write_all(quote(&value.to_text()).as_bytes())?;
    }
    out.write_all(b"\r\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_with_separators_are_quoted_and_quotes_doubled() {
        assert_eq!(quote("plain ünïcode ✓"), "plain ünïcode ✓");
        assert_eq!(quote("a, b"), "\"a, b\"");
        assert_eq!(quote("say \"hi\"\nbye"), "\"say \"\"hi\"\"\nbye\"");
    }

    #[test]
    fn a_row_has_one_value_per_column() {
        let mut record = EventRecord {
            message: "x,y".into(),
            count: 4,
            ..EventRecord::default()
        };
        record.labels.insert(CLUSTER_LABEL.into(), "prod".into());
        let mut out = Vec::new();
        write_record(&mut out, &record).unwrap();
        let line = String::from_utf8(out).unwrap();
        assert!(
            line.starts_with("prod,"),
            "the cluster from the label: {line}"
        );
        assert!(line.contains(",\"x,y\","), "{line}");
        assert!(line.contains(",4,"), "{line}");
        let separators = line.matches(',').count() - 1; // one comma is inside "x,y"
        assert_eq!(separators + 1, COLUMNS.len(), "{line}");
    }
}
