//! When a pattern gains a wildcard, the series of its previous template join the series of the
//! new one: one object's `Failed (1a3f2-7)` and `Failed (9b1-4)` become one series, whatever
//! order they came in.
//!
//! A series id is a hash of its key with the learned template, so a series whose template
//! generalises gets a new id: the old series ends (watchers see it `DELETED`) and its counts,
//! history and objects move to the series of the new template (`ADDED` or `MODIFIED`). This
//! happens at most once per wildcard of a pattern, only for tokens that look like identifiers
//! the masking rules did not recognise (see [`crate::miner::is_variable`]); a series whose
//! messages have one masked template keeps the id it always had.

use super::history::minute_of;
use super::{Series, SeriesId, SeriesTracker};
use std::cmp::Reverse;

impl SeriesTracker {
    /// Moves every series of `reason` with template `previous` to the series with the
    /// tracker's current template; returns the series it ended, each with its successor.
    pub(super) fn merge_generalized(
        &mut self,
        reason: &str,
        previous: &str,
    ) -> Vec<(Series, SeriesId)> {
        let ids: Vec<SeriesId> = self
            .series
            .values()
            .filter(|s| s.key().reason == reason && s.key().template == previous)
            .map(|s| s.id)
            .collect();
        let mut merged = Vec::with_capacity(ids.len());
        for id in ids {
            let Some(old) = self.remove(&id) else {
                continue;
            };
            let parts = old.key().parts();
            let successor = parts.id(&self.template, &mut self.buffer);
            self.version += 1;
            match self.series.get_mut(&successor) {
                Some((_, target)) => {
                    let bytes_before = target.text.bytes();
                    target.count += old.count;
                    target.objects += old.objects;
                    target.first_seen = target.first_seen.min(old.first_seen);
                    if old.last_seen > target.last_seen {
                        target.last_seen = old.last_seen;
                        target
                            .text
                            .set_latest(old.latest_event(), old.latest_message());
                    }
                    target.history.merge(&old.history, self.config.hours_kept);
                    target.version = self.version;
                    self.text_bytes = self.text_bytes - bytes_before + target.text.bytes();
                }
                None => {
                    let text =
                        parts.to_text(&self.template, old.latest_event(), old.latest_message());
                    self.text_bytes += text.bytes();
                    let slot = self.series.insert(Series {
                        id: successor,
                        text,
                        first_seen: old.first_seen,
                        last_seen: old.last_seen,
                        count: old.count,
                        objects: old.objects,
                        version: self.version,
                        history: old.history.clone(),
                    });
                    self.by_last_seen
                        .push(Reverse((minute_of(old.last_seen), slot)));
                }
            }
            self.stats.merged += 1;
            merged.push((old, successor));
        }
        merged
    }
}
