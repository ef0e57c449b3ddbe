//! One series and what is known about it.

use super::history::History;
use super::key::{SeriesId, SeriesKey, SeriesText};
use kevents_model::Micros;

/// One series and what is known about it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Series {
    /// The compact id.
    pub id: SeriesId,
    /// The readable key.
    /// Key fields and latest event, in one allocation.
    pub(super) text: SeriesText,
    /// Earliest occurrence seen (the events' firstTimestamp/eventTime).
    pub first_seen: Micros,
    /// Latest occurrence seen (lastTimestamp/series.lastObservedTime).
    pub last_seen: Micros,
    /// Exact number of occurrences.
    pub count: u64,
    /// Event objects that joined the series (created in it, or updated into it).
    pub objects: u64,
    /// The tracker's version at this series' last change; grows with every change.
    pub version: u64,
    /// Occurrences per minute and hour.
    pub history: History,
}

impl Series {
    /// Heap bytes of the series' text (key fields, template, latest event name and message).
    pub fn text_bytes(&self) -> usize {
        self.text.bytes()
    }

    /// The readable key.
    pub fn key(&self) -> SeriesKey<'_> {
        self.text.key()
    }

    /// Message of the latest occurrence.
    pub fn latest_message(&self) -> &str {
        self.text.latest_message()
    }

    /// Name of the event object of the latest occurrence (in the key's cluster and namespace).
    pub fn latest_event(&self) -> &str {
        self.text.latest_event()
    }
}
