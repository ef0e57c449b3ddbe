//! Scans of one cold file: a key-ordered cursor over its live rows, and what a scan may check
//! on a row's columns before the row's event is built.

use crate::block::RowView;
use crate::cold::{cmp_record, Cold, ColdFile, Rows};
use crate::entry::StoredEvent;
use crate::head::Scope;
use kevents_model::{EventKey, FieldSelector};
use std::cmp::Ordering;
use std::ops::Bound;
use std::sync::Arc;

/// What a scan may check on a cold row's columns before its event is built: rows that fail are
/// never materialized. The caller still checks every event it gets.
#[derive(Clone, Copy, Default)]
pub(crate) struct Pushdown<'a> {
    /// Only events about an object of this name.
    pub object: Option<&'a str>,
    /// Only events these field requirements accept.
    pub fields: Option<&'a FieldSelector>,
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

/// A key-ordered walk over one file's live rows.
pub(crate) struct FileCursor<'a> {
    cold: &'a Cold,
    file: &'a ColdFile,
    span: Scope<'a>,
    pushdown: Pushdown<'a>,
    /// The filter hash of the pushed-down object name, computed once for every block's filter.
    object_hash: Option<u64>,
    lower: Bound<EventKey>,
    block: usize,
    /// The current block's rows, all of them or (with `positions`) those the pushdown kept.
    rows: Option<(Rows, Option<Vec<usize>>)>,
    at: usize,
    done: bool,
}

impl<'a> FileCursor<'a> {
    pub(crate) fn new(
        cold: &'a Cold,
        file: &'a ColdFile,
        lower: Bound<EventKey>,
        span: Scope<'a>,
        pushdown: Pushdown<'a>,
    ) -> FileCursor<'a> {
        let block = match &lower {
            Bound::Included(key) | Bound::Excluded(key) => file.block_for(key).unwrap_or(0),
            Bound::Unbounded => 0,
        };
        FileCursor {
            cold,
            file,
            span,
            pushdown,
            object_hash: pushdown
                .object
                .map(|name| crate::bloom::hash(&[name.as_bytes()])),
            lower,
            block,
            rows: None,
            at: 0,
            done: file.index.blocks.is_empty(),
        }
    }

    pub(crate) fn peek(&mut self) -> Option<Arc<StoredEvent>> {
        while !self.done {
            let Some((rows, positions)) = &self.rows else {
                let info = &self.file.index.blocks[self.block];
                if self.span.after(&info.first_key) {
                    // This block and every later one start past the span.
                    self.done = true;
                    return None;
                }
                let skip = self.object_hash.is_some_and(|hash| {
                    info.objects
                        .as_ref()
                        .is_some_and(|names| !names.may_contain_hash(hash))
                });
                if skip {
                    self.block += 1;
                    self.done = self.block >= self.file.index.blocks.len();
                    continue;
                }
                let (rows, positions) =
                    self.cold
                        .block_where(self.file, self.block, &self.span, &self.pushdown);
                self.at = match &self.lower {
                    Bound::Included(key) => {
                        rows.partition_point(|e| cmp_record(&e.record, key) == Ordering::Less)
                    }
                    Bound::Excluded(key) => {
                        rows.partition_point(|e| cmp_record(&e.record, key) != Ordering::Greater)
                    }
                    Bound::Unbounded => 0,
                };
                self.rows = Some((rows, positions));
                continue;
            };
            if self.at >= rows.len() {
                self.rows = None;
                self.block += 1;
                self.done = self.block >= self.file.index.blocks.len();
                continue;
            }
            let event = &rows[self.at];
            if !self.span.contains_record(&event.record) {
                if self.span.before(&event.record) {
                    self.at += 1;
                    continue;
                }
                self.done = true;
                return None;
            }
            let row = positions.as_ref().map_or(self.at, |p| p[self.at]);
            if self.file.is_dead(self.file.starts[self.block] + row as u64) {
                self.at += 1;
                continue;
            }
            return Some(event.clone());
        }
        None
    }

    pub(crate) fn advance(&mut self) {
        self.at += 1;
    }
}
