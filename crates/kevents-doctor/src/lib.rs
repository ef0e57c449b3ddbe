//! `kevents-doctor`: why events are missing or late. Checks of the source clusters (through
//! their kubeconfig contexts), of the pipeline (collectors, sinks, refused writes) and of the
//! hub (disk, history, damaged blocks), each a [`Finding`]: ok, warning or problem, the
//! evidence, and what to do.
//!
//! The judging is pure: facts in, findings out ([`hub_findings`], [`source_findings`]). The hub
//! gathers its facts in-process for `/doctor`; `kevents doctor` probes the sources with kube-rs
//! ([`probe_source`]) and asks the hub for its findings.
#![warn(missing_docs)]

mod apiserver_metrics;
mod finding;
mod hub;
mod pipeline;
mod probe;
mod render;
mod source;
mod version;

pub use apiserver_metrics::{parse_apiserver_metrics, ApiserverMetrics};
pub use finding::{Finding, Report, Status};
pub use hub::{hub_findings, HubFacts, StoreFacts};
pub use pipeline::{ClusterFacts, GapFacts, SinkFacts, WriteFacts};
pub use probe::probe_source;
pub use render::render_table;
pub use source::{source_findings, EventsFacts, SourceFacts};
