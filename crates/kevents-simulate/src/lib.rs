//! Simulated Kubernetes event streams for benchmarks, tests and demos, and how to write them
//! into a hub (over the one hub client) the way client-go's recorders do.
#![warn(missing_docs)]

mod labelled;
mod recorder;
mod stream;
mod workload;

pub use labelled::{labelled_stream, Emitted, Incident, IncidentKind, LabelledStream};
pub use recorder::{create, repeat};
pub use stream::{Operation, Simulator};
pub use workload::Workload;
