//! Server-side correlation of Kubernetes events: message templates, series, storm folding,
//! client-go's deduplication and aggregation, and the apiserver's EventRateLimit. Pure logic:
//! no HTTP, no disk; the caller feeds events in and performs the writes it is told to.
#![warn(missing_docs)]

pub mod dedupe;
pub mod fold;
mod key;
pub mod miner;
pub mod ratelimit;
pub mod series;
pub mod template;

pub use miner::{Miner, MinerConfig, MinerStats};
pub use series::{
    Observation, Pattern, PatternId, Series, SeriesConfig, SeriesId, SeriesKey, SeriesTracker,
    TrackerStats,
};
pub use template::{template, template_into};

use kevents_model::EventRecord;

/// A stored event by namespace and name, in the cluster the caller is working on (the cluster
/// is passed separately to every call that needs it).
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EventRef {
    /// `metadata.namespace`.
    pub namespace: String,
    /// `metadata.name`.
    pub name: String,
}

impl EventRef {
    /// Refers to `event`.
    pub fn of(event: &EventRecord) -> EventRef {
        EventRef {
            namespace: event.namespace.clone(),
            name: event.name.clone(),
        }
    }
}
