//! A row of a sealed block as its columns hold it, before its event is built: what filters
//! on cold blocks read (`block::decode_where`).

use kevents_model::EventField;
use std::cell::Cell;

/// The string columns of a block, in the order `encode` writes them.
pub(crate) const STRING_COLUMNS: usize = 22;
pub(crate) const CLUSTER: usize = 0;
pub(crate) const NAMESPACE: usize = 1;
pub(crate) const REASON: usize = 4;
pub(crate) const TYPE: usize = 5;
pub(crate) const REPORTING_CONTROLLER: usize = 7;
pub(crate) const SOURCE_COMPONENT: usize = 9;
pub(crate) const OBJECT_KIND: usize = 11;
pub(crate) const OBJECT_NAMESPACE: usize = 12;
pub(crate) const OBJECT_NAME: usize = 13;
pub(crate) const OBJECT_API_VERSION: usize = 14;
pub(crate) const OBJECT_RESOURCE_VERSION: usize = 15;
pub(crate) const OBJECT_FIELD_PATH: usize = 16;

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
    fn column(&self, column: usize) -> &str {
        match std::str::from_utf8(self.strings[column * self.rows + self.row]) {
            Ok(text) => text,
            Err(_) => {
                self.damaged.set(true);
                ""
            }
        }
    }

    /// The event's cluster (`""`: the hub's own).
    pub fn cluster(&self) -> &str {
        self.column(CLUSTER)
    }

    /// The event's namespace.
    pub fn namespace(&self) -> &str {
        self.column(NAMESPACE)
    }

    /// The involved object's name.
    pub fn object_name(&self) -> &str {
        self.column(OBJECT_NAME)
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
            EventField::Cluster => CLUSTER,
            EventField::Namespace => NAMESPACE,
            EventField::Reason => REASON,
            EventField::Type => TYPE,
            EventField::ReportingController => REPORTING_CONTROLLER,
            EventField::ObjectKind => OBJECT_KIND,
            EventField::ObjectNamespace => OBJECT_NAMESPACE,
            EventField::ObjectName => OBJECT_NAME,
            EventField::ObjectApiVersion => OBJECT_API_VERSION,
            EventField::ObjectResourceVersion => OBJECT_RESOURCE_VERSION,
            EventField::ObjectFieldPath => OBJECT_FIELD_PATH,
            EventField::Source => {
                let component = self.column(SOURCE_COMPONENT);
                return Some(if component.is_empty() {
                    self.column(REPORTING_CONTROLLER)
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
