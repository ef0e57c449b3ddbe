//! A row of a sealed block as its columns hold it, before its event is built: what filters
//! on cold blocks read (`block::decode_where`).

use crate::string_column::StringColumn;
use kevents_model::EventField;
use std::cell::Cell;

/// One row of a block before its event is built: the string fields, borrowed from the block's
/// bytes, so that a filter can refuse rows without paying for their events.
pub struct RowView<'a> {
    /// The block's string columns one after the other (`rows` values each), UTF-8 unchecked.
    pub(crate) strings: &'a [&'a [u8]],
    pub(crate) rows: usize,
    pub(crate) names: &'a [Packed<'a>],
    pub(crate) row: usize,
    /// Set when a value the filter read is not UTF-8: the block is damaged, and its reader
    /// reports that instead of what the filter decided.
    pub(crate) damaged: &'a Cell<bool>,
}

impl RowView<'_> {
    /// The value of `column` in this row (`""`, and the block marked damaged, when it is
    /// not UTF-8).
    pub(crate) fn column(&self, column: StringColumn) -> &str {
        let at = column.index() * self.rows + self.row;
        match std::str::from_utf8(self.strings[at]) {
            Ok(text) => text,
            Err(_) => {
                self.damaged.set(true);
                ""
            }
        }
    }

    /// The event's cluster (`""`: the hub's own).
    pub fn cluster(&self) -> &str {
        self.column(StringColumn::Cluster)
    }

    /// The event's namespace.
    pub fn namespace(&self) -> &str {
        self.column(StringColumn::Namespace)
    }

    /// The involved object's name.
    pub fn object_name(&self) -> &str {
        self.column(StringColumn::ObjectName)
    }

    /// True when the event's name is `name`, without building it.
    pub fn name_is(&self, name: &str) -> bool {
        match self.names[self.row] {
            Packed::Text(text) => text == name,
            Packed::Number(number) => name
                .strip_prefix(self.object_name())
                .and_then(|rest| rest.strip_prefix('.'))
                .is_some_and(|hex| is_hex_of(hex, number)),
            Packed::Uuid(_) => false,
        }
    }

    /// The value of a selectable field, as `EventField::value` gives it for the built event;
    /// `None` for fields that are not plain string columns (they are checked on the event).
    pub fn field(&self, field: EventField) -> Option<&str> {
        let column = match field {
            EventField::Cluster => StringColumn::Cluster,
            EventField::Namespace => StringColumn::Namespace,
            EventField::Reason => StringColumn::Reason,
            EventField::Type => StringColumn::Type,
            EventField::ReportingController => StringColumn::ReportingController,
            EventField::ObjectKind => StringColumn::ObjectKind,
            EventField::ObjectNamespace => StringColumn::ObjectNamespace,
            EventField::ObjectName => StringColumn::ObjectName,
            EventField::ObjectApiVersion => StringColumn::ObjectApiVersion,
            EventField::ObjectResourceVersion => StringColumn::ObjectResourceVersion,
            EventField::ObjectFieldPath => StringColumn::ObjectFieldPath,
            EventField::Source => {
                let component = self.column(StringColumn::SourceComponent);
                return Some(if component.is_empty() {
                    self.column(StringColumn::ReportingController)
                } else {
                    component
                });
            }
            EventField::Name | EventField::ObjectUid => return None,
        };
        Some(self.column(column))
    }
}

/// A name or UID: its compact form, or the text stored as is.
#[derive(Clone, Copy)]
pub(crate) enum Packed<'a> {
    Number(u64),
    Uuid(&'a [u8]),
    Text(&'a str),
}

/// True when `hex` is exactly `{number:x}`: lowercase, no leading zeros.
fn is_hex_of(hex: &str, number: u64) -> bool {
    let canonical = !hex.is_empty()
        && (hex == "0" || !hex.starts_with('0'))
        && hex
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    canonical && u64::from_str_radix(hex, 16) == Ok(number)
}
