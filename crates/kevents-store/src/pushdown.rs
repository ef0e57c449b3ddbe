//! What a read may check on a cold row's columns before the row's event is built.

use crate::block::RowView;
use crate::scope::Scope;
use crate::TimeWindow;
use kevents_model::FieldSelector;

/// What a scan may check on a cold row's columns before its event is built: rows that fail are
/// never materialized. The caller still checks every event it gets.
#[derive(Clone, Copy, Default)]
pub(crate) struct Pushdown<'a> {
    /// Only events about an object of this name.
    pub object: Option<&'a str>,
    /// Only events these field requirements accept.
    pub fields: Option<&'a FieldSelector>,
    /// Only events last seen in this window: a file's time index picks its rows.
    pub seen: Option<TimeWindow>,
}

impl Pushdown<'_> {
    /// True when nothing is pushed down (every row in the span is wanted).
    pub(crate) fn is_empty(&self) -> bool {
        self.object.is_none() && self.fields.is_none_or(FieldSelector::is_empty)
    }

    /// False when the row certainly fails: outside `span`, about another object, or refused by
    /// a field requirement the columns can answer.
    pub(crate) fn accepts(&self, span: &Scope<'_>, row: &RowView<'_>) -> bool {
        span.cluster.is_none_or(|c| row.cluster() == c)
            && span.namespace.is_none_or(|ns| row.namespace() == ns)
            && self.object.is_none_or(|name| row.object_name() == name)
            && self.fields.is_none_or(|fields| {
                fields
                    .requirements
                    .iter()
                    .all(|r| row.field(r.field).is_none_or(|value| r.accepts(value)))
            })
    }
}
