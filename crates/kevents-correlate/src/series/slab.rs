//! Series storage: the series in a vector whose freed slots are reused, and a map from id to
//! slot. Growing the map moves 20-byte entries instead of whole series, and evicting one
//! series to make room for the next reuses its slot.

use super::key::SeriesId;
use super::record::Series;
use crate::key::Prehashed;
use std::collections::HashMap;

#[derive(Debug, Default)]
pub(super) struct Slab {
    slots: Vec<Option<Series>>,
    index: HashMap<SeriesId, u32, Prehashed>,
    free: Vec<u32>,
}

impl Slab {
    pub(super) fn len(&self) -> usize {
        self.index.len()
    }

    pub(super) fn is_empty(&self) -> bool {
        self.index.is_empty()
    }

    pub(super) fn contains_key(&self, id: &SeriesId) -> bool {
        self.index.contains_key(id)
    }

    pub(super) fn get(&self, id: &SeriesId) -> Option<&Series> {
        let slot = *self.index.get(id)?;
        self.slots.get(slot as usize)?.as_ref()
    }

    /// The series and its slot.
    pub(super) fn get_mut(&mut self, id: &SeriesId) -> Option<(u32, &mut Series)> {
        let slot = *self.index.get(id)?;
        Some((slot, self.slots.get_mut(slot as usize)?.as_mut()?))
    }

    /// The series in `slot`, if any.
    pub(super) fn in_slot(&self, slot: u32) -> Option<&Series> {
        self.slots.get(slot as usize)?.as_ref()
    }

    /// Stores a series; returns its slot.
    pub(super) fn insert(&mut self, series: Series) -> u32 {
        let id = series.id;
        let slot = match self.free.pop() {
            Some(slot) => {
                self.slots[slot as usize] = Some(series);
                slot
            }
            None => {
                self.slots.push(Some(series));
                // More than 4 billion series would not fit in memory long before.
                u32::try_from(self.slots.len() - 1).expect("fewer than 2^32 series")
            }
        };
        self.index.insert(id, slot);
        slot
    }

    pub(super) fn remove(&mut self, id: &SeriesId) -> Option<Series> {
        let slot = self.index.remove(id)?;
        self.free.push(slot);
        self.slots.get_mut(slot as usize)?.take()
    }

    pub(super) fn values(&self) -> impl Iterator<Item = &Series> + '_ {
        self.slots.iter().flatten()
    }

    /// (slot, series) of every series.
    pub(super) fn slots(&self) -> impl Iterator<Item = (u32, &Series)> + '_ {
        (0u32..)
            .zip(&self.slots)
            .filter_map(|(slot, series)| Some((slot, series.as_ref()?)))
    }
}
