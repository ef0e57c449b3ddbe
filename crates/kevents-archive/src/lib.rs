//! Tiered storage for kevents: event versions archived as Parquet objects in S3-compatible
//! object storage (or a local directory), partitioned by cluster and date, listed in a
//! manifest, readable by DuckDB and Spark, and read back for `kevents archive restore`.
//!
//! [`columns`] (and, with the `parquet` feature, [`table`]) is the one event table layout:
//! archive objects and `kevents export --format csv|parquet` use it.
#![warn(missing_docs)]

pub mod columns;
#[cfg(feature = "store")]
mod error;
#[cfg(feature = "store")]
pub mod location;
#[cfg(feature = "store")]
pub mod manifest;
#[cfg(feature = "store")]
pub mod reader;
#[cfg(feature = "parquet")]
pub mod table;
#[cfg(feature = "store")]
pub mod writer;

#[cfg(feature = "store")]
pub use error::ArchiveError;
#[cfg(feature = "store")]
pub use location::{ArchiveConfig, Location};
#[cfg(feature = "store")]
pub use writer::Archiver;
