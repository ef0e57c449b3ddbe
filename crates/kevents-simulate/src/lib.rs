//! Simulated Kubernetes event streams for benchmarks, tests and demos, and a small client that
//! writes them into a hub the way client-go's recorders do.
#![warn(missing_docs)]

mod client;
mod labelled;
mod stream;
mod workload;

pub use client::{resolve, HubClient};
pub use labelled::{labelled_stream, Emitted, Incident, IncidentKind, LabelledStream};
pub use stream::{Operation, Simulator};
pub use workload::Workload;
