//! The string columns of a sealed block: one definition of their order on disk and of the
//! event field each one holds, used by the block writer, the block reader and the row view.

use kevents_model::EventRecord;

/// Declares `StringColumn` and `StringColumn::ALL` from one list, in one order.
macro_rules! string_columns {
    ($($(#[$doc:meta])* $column:ident,)*) => {
        /// A string column of a block. Columns are written in declaration order: a variant's
        /// discriminant is its column number.
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub(crate) enum StringColumn {
            $($(#[$doc])* $column,)*
        }

        impl StringColumn {
            /// Every column, in the order a block holds them.
            pub const ALL: [StringColumn; [$(StringColumn::$column),*].len()] =
                [$(StringColumn::$column),*];
        }
    };
}

string_columns! {
    Cluster,
    Namespace,
    GenerateName,
    SourceResourceVersion,
    Reason,
    Type,
    Action,
    ReportingController,
    ReportingInstance,
    SourceComponent,
    SourceHost,
    ObjectKind,
    ObjectNamespace,
    ObjectName,
    ObjectApiVersion,
    ObjectResourceVersion,
    ObjectFieldPath,
    Message,
    /// The labels as JSON (`""`: none).
    Labels,
    /// The annotations as JSON (`""`: none).
    Annotations,
    /// Other metadata as JSON (`""`: none).
    ExtraMetadata,
    /// The related object as JSON (`""`: none).
    Related,
}

/// The JSON forms of an event's map fields, in the order of the columns that hold them.
pub(crate) type JsonFields = [String; 4];

impl StringColumn {
    /// The number of string columns in a block.
    pub const COUNT: usize = StringColumn::ALL.len();

    /// The column's number in a block.
    pub const fn index(self) -> usize {
        self as usize
    }

    /// The value this column holds for `record`, whose map fields are `json` in JSON.
    pub fn value<'a>(self, record: &'a EventRecord, json: &'a JsonFields) -> &'a str {
        let object = &record.involved_object;
        match self {
            StringColumn::Cluster => &record.cluster,
            StringColumn::Namespace => &record.namespace,
            StringColumn::GenerateName => &record.generate_name,
            StringColumn::SourceResourceVersion => &record.source_resource_version,
            StringColumn::Reason => &record.reason,
            StringColumn::Type => &record.event_type,
            StringColumn::Action => &record.action,
            StringColumn::ReportingController => &record.reporting_controller,
            StringColumn::ReportingInstance => &record.reporting_instance,
            StringColumn::SourceComponent => &record.source_component,
            StringColumn::SourceHost => &record.source_host,
            StringColumn::ObjectKind => &object.kind,
            StringColumn::ObjectNamespace => &object.namespace,
            StringColumn::ObjectName => &object.name,
            StringColumn::ObjectApiVersion => &object.api_version,
            StringColumn::ObjectResourceVersion => &object.resource_version,
            StringColumn::ObjectFieldPath => &object.field_path,
            StringColumn::Message => &record.message,
            StringColumn::Labels => &json[0],
            StringColumn::Annotations => &json[1],
            StringColumn::ExtraMetadata => &json[2],
            StringColumn::Related => &json[3],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_column_is_listed_once_at_its_own_number() {
        for (number, column) in StringColumn::ALL.iter().enumerate() {
            assert_eq!(column.index(), number, "{column:?}");
        }
    }
}
